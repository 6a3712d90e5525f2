/*
 * side_internal.h
 *	  What the side-storage files share among themselves: file-system
 *	  operations (side_fs.c), the catalog tables (side_catalog.c) and the
 *	  crash points the TAP tests use.  The access methods use
 *	  side_storage.h only.
 */
#ifndef LANCEDB_STORAGE_SIDE_INTERNAL_H
#define LANCEDB_STORAGE_SIDE_INTERNAL_H

#include "access/transam.h"
#include "storage/side_storage.h"

/* ---- side_fs.c: paths and file operations, shared by writer, redo and GC */

/* Creates pg_lancedb/<dboid>/<storage_id>/ (and parents), durably. */
extern void SideFsEnsureDir(Oid dboid, SideStorageId storage_id);

/* A file name we could have made: no '/', no leading '.', not too long. */
extern bool SideFsNameIsValid(const char *name, size_t len);

/* Write all of data at 'offset' of an open fd; ERROR (naming 'path') if not. */
extern void SideFsPwrite(int fd, const void *data, size_t length, uint64 offset, const char *path);

/* Redo: write 'length' bytes at 'offset' of the file (created if needed), fsync. */
extern void SideFsWriteAt(const char *path, uint64 offset, const void *data, size_t length);

/* CRC-32C and size of a whole file; false if it does not exist. */
extern bool SideFsChecksum(const char *path, uint64 *size, uint32 *crc);

/* Unlink (absent is fine); the caller fsyncs the directory. */
extern void SideFsUnlink(const char *path);

/* Remove a directory tree (absent is fine) and fsync its parent. */
extern void SideFsRemoveTree(const char *path);

/* fsync a directory that exists (absent is fine). */
extern void SideFsSyncDir(const char *path);

/*
 * The creating transaction of a file from its name ("<fxid>_<pid>_<n>.lance",
 * with or without the temporary prefix); false if the name is not ours.
 */
extern bool SideFsNameCreator(const char *name, FullTransactionId *creator);

/* ---- side_catalog.c: lancedb_catalog.storage and lancedb_catalog.side_file */

#define SIDE_CATALOG_SCHEMA "lancedb_catalog"
#define SIDE_CATALOG_STORAGE "storage"
#define SIDE_CATALOG_FILE "side_file"
/* their indexes: (relid) and (storage_id, name COLLATE "C") */
#define SIDE_CATALOG_STORAGE_INDEX "storage_relid"
#define SIDE_CATALOG_FILE_INDEX "side_file_storage_id_name"
#define SIDE_CATALOG_SEQUENCE "storage_id_seq"

/* Attribute numbers of the catalog tables (extension/lancedb--*.sql). */
#define Anum_side_storage_storage_id 1
#define Anum_side_storage_relid 2
#define Natts_side_storage 2
#define Anum_side_file_storage_id 1
#define Anum_side_file_name 2
#define Anum_side_file_size 3
#define Natts_side_file 3

/* The catalog table's OID; InvalidOid (missing_ok) or ERROR when absent. */
extern Oid	SideCatalogRelid(const char *relname, bool missing_ok);

extern SideStorageId SideCatalogNextStorageId(void);
extern void SideCatalogInsertStorage(SideStorageId storage_id, Oid relid);
extern int	SideCatalogRetireStorages(Oid relid);
/* Whether 'relid' has a storage that 'snapshot' sees. */
extern bool SideCatalogHasStorage(Oid relid, Snapshot snapshot);
extern void SideCatalogInsertFile(SideStorageId storage_id, const char *name, int64 size);
/* Delete the rows of a storage's files (its directory is gone). */
extern void SideCatalogForgetStorage(SideStorageId storage_id);
extern bool SideCatalogRetireFile(SideStorageId storage_id, const char *name);
extern List *SideCatalogListFiles(SideStorageId storage_id, Snapshot snapshot);

/* ---- crash points (lancedb.debug_crash_at), for the crash-recovery tests */

typedef enum SideCrashPoint
{
	SIDE_CRASH_NONE,
	SIDE_CRASH_AFTER_FILE,		/* file durable, no WAL yet */
	SIDE_CRASH_AFTER_WAL,		/* its WAL written, no catalog row */
	SIDE_CRASH_AFTER_CATALOG	/* catalog row inserted, not committed */
} SideCrashPoint;

extern int	side_debug_crash_at;

/* PANIC (a crash: every backend quits, the server recovers) at 'point'. */
extern void SideCrashPointReached(SideCrashPoint point);

#endif							/* LANCEDB_STORAGE_SIDE_INTERNAL_H */
