/*
 * side_lance.h
 *	  Lance files in side storage, for the access methods: the Lance
 *	  library's allocator on a memory context, its reader I/O through the
 *	  I/O runtime, and its errors as ERRORs.
 *
 *	file = SideLanceOpen(rel, name);		-- the Lance reader of a side file
 *	code = LanceFileReaderReadRange(file->reader, ...);
 *	SideLanceCheck(code, &err, what);
 *	SideLanceClose(file);
 *
 *	LanceFileWriterOpen(&w, SideFileLanceSink, side_writer, schema,
 *						&options (allocator = SideLanceAllocator()), &err);
 */
#ifndef LANCEDB_STORAGE_SIDE_LANCE_H
#define LANCEDB_STORAGE_SIDE_LANCE_H

#include "lance/lance_file.h"
#include "runtime/runtime.h"
#include "utils/rel.h"

/* An allocator on CurrentMemoryContext at the time of the call (returns NULL on OOM). */
extern const LanceAllocator *SideLanceAllocator(void);

/* ERROR with a SQLSTATE for a failed Lance call (code != 0); 'what' says what failed. */
extern void SideLanceCheck(int code, const LanceError *error, const char *what);

/* A side file open for reading; reads go through the I/O runtime. */
typedef struct SideLanceFile
{
	LanceFileReader *reader;
	int			fd;
	bool		cached;			/* fd outlives transactions (see SideLanceOpen) */
	bool		viewing;		/* between SideLanceBeginViews and End */
	RuntimeView view;
	const char *name;
} SideLanceFile;

/*
 * Opens 'name' of rel's storage; everything is allocated in
 * CurrentMemoryContext.  A transient fd is closed at transaction end (abort
 * included); 'cached' gives a plain fd for a reader kept across
 * transactions in a long-lived context, which must be closed explicitly.
 * Side files are immutable, so a cached reader never goes stale; once the
 * file is removed the open fd still reads it.
 */
extern SideLanceFile *SideLanceOpen(Relation rel, const char *name, bool cached);
extern void SideLanceClose(SideLanceFile *file);

/*
 * Between these, LanceFileReaderTakeViews on a cached file's reader shows
 * the bytes the I/O runtime has in place (pages its sweep saw resident)
 * instead of reading them, valid until SideLanceEndViews.  A moment's use:
 * End must run even on an ERROR (PG_FINALLY; see LanceIoViewPin).  Other
 * files, whose fd is the transaction's, are always read.
 */
extern void SideLanceBeginViews(SideLanceFile *file);
extern void SideLanceEndViews(SideLanceFile *file);

#endif							/* LANCEDB_STORAGE_SIDE_LANCE_H */
