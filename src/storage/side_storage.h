/*
 * side_storage.h
 *	  Side storage: the files of the lance table and index access methods,
 *	  kept outside the relation forks, durable, WAL-logged and versioned by
 *	  MVCC.  This is the interface the access methods use.
 *
 * Where:	$PGDATA/pg_lancedb/<database oid>/<storage id>/<file>
 *			(never under base/, global/ or a tablespace: pg_basebackup and
 *			pg_checksums treat files there as relation pages).
 * Who:		a relation that owns side storage keeps its 64-bit storage id in
 *			a metapage, block 0 of its main fork.  A new relfilenode
 *			(CREATE, TRUNCATE, REINDEX, VACUUM FULL) means a new storage id;
 *			the old one is retired with the transaction that replaced it.
 * What:	the catalog tables lancedb_catalog.storage and
 *			lancedb_catalog.side_file say which storage ids and files exist;
 *			a snapshot sees exactly the files whose rows it sees.
 * How:		files are immutable once published.  SideFileFinish makes the
 *			file durable (fsync, rename, directory fsync), then logs its bytes
 *			in WAL records of at most SIDE_WAL_CHUNK bytes, then inserts its
 *			catalog row; so the file is on disk before its WAL exists and its
 *			WAL exists before anything that references it commits, and no
 *			checkpoint can fall between the two.  Standbys, restored base
 *			backups and PITR rebuild every byte from WAL (side_wal.c).
 * Gone:	retired files, files of aborted transactions and storage of
 *			dropped relations and databases are removed by garbage collection
 *			(side_gc.c) once no snapshot can see them, removal WAL-logged and
 *			resolved against hot-standby queries as a recovery conflict.
 *
 *	SideStorageCreate(index);						-- ambuild: metapage + id
 *	w = SideFileCreate(index);						-- a new file
 *	SideFileWrite(w, bytes, n); ...					-- or through the Lance
 *	name = SideFileFinish(w);						-- writer's sink
 *	files = SideFileList(index, snapshot);			-- what a snapshot sees
 *	SideFileRetire(index, name);					-- gone after commit + GC
 */
#ifndef LANCEDB_STORAGE_SIDE_STORAGE_H
#define LANCEDB_STORAGE_SIDE_STORAGE_H

#include "nodes/pg_list.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

/* Directory under $PGDATA that holds every database's side storage. */
#define SIDE_STORAGE_DIR "pg_lancedb"

/* Longest file name inside a storage directory. */
#define SIDE_FILE_NAME_MAX 64

typedef uint64 SideStorageId;

#define InvalidSideStorageId ((SideStorageId) 0)

typedef struct SideFileWriter SideFileWriter;

/* One visible file of a storage, as SideFileList returns it. */
typedef struct SideFileEntry
{
	char		name[SIDE_FILE_NAME_MAX];
	int64		size;
} SideFileEntry;

/* _PG_init: the resource manager, the drop hook, the debug settings. */
extern void SideStorageInit(void);

/* ERROR unless lancedb was loaded by shared_preload_libraries. */
extern void SideStorageCheckPreloaded(void);

/*
 * Give 'rel' (empty, just created or given a new relfilenode, locked
 * exclusively) a new storage id: write the metapage as block 0 of its main
 * fork and record the id for the relation, retiring the ids the relation
 * had before.  Returns the new id.
 */
extern SideStorageId SideStorageCreate(Relation rel);

/* The storage id in rel's metapage; ERROR if the page is not ours. */
extern SideStorageId SideStorageGetId(Relation rel);

/*
 * Writing a file.  Create allocates a new name in rel's storage (the
 * transaction gets an xid), Write appends bytes, Finish publishes the file
 * as described above and returns its name (palloc'd).  An ERROR before
 * Finish leaves a temporary file that garbage collection removes.
 */
extern SideFileWriter *SideFileCreate(Relation rel);
extern void SideFileWrite(SideFileWriter *writer, const void *data, size_t length);
extern char *SideFileFinish(SideFileWriter *writer);

/* Sink for LanceFileWriterOpen: ctx is a SideFileWriter. */
extern int	SideFileLanceSink(void *ctx, const void *data, size_t length);

/* The files of rel's current storage that 'snapshot' sees, by name. */
extern List *SideFileList(Relation rel, Snapshot snapshot);

/* Retire a visible file of rel: invisible to snapshots taken after commit. */
extern void SideFileRetire(Relation rel, const char *name);

/* Files in rel's storage directory, published or not (for trimming decisions). */
extern int	SideFileCountOnDisk(Relation rel);

/* Opens a file of rel's storage for reading (a transient fd); ERROR if absent. */
extern int	SideFileOpen(Relation rel, const char *name, off_t *size);

/* Path of a storage directory or of a file in it (palloc'd). */
extern char *SideStoragePath(Oid dboid, SideStorageId storage_id, const char *name);

/*
 * Remove what no snapshot can need any more, in this database, and the
 * directories of dropped databases (side_gc.c).  Returns the number of files
 * and directories removed.
 */
extern int64 SideStorageCollectGarbage(void);

#endif							/* LANCEDB_STORAGE_SIDE_STORAGE_H */
