/*
 * side_wal.h
 *	  lancedb's custom WAL resource manager: the records that carry side
 *	  files to standbys, restored base backups and point-in-time recovery.
 *
 * Every record is physical and idempotent (custom records are not
 * transactional: they are replayed whether their transaction commits or
 * not).  Visibility comes from the catalog rows, never from WAL.
 *
 *	WRITE	bytes at an offset of a file (at most SIDE_WAL_CHUNK bytes); redo
 *			creates the directory and the file as needed, writes, fsyncs.
 *	DONE	a file is complete: its size and CRC-32C; redo fsyncs the file
 *			and its directory and checks size and CRC.
 *	REMOVE	files of a storage are gone; redo first resolves the conflict
 *			with hot-standby snapshots older than latest_removed_xid.
 *	DROP_STORAGE	a storage directory and everything in it are gone.
 *	DROP_DATABASE	a dropped database's pg_lancedb/<oid> directory is gone.
 */
#ifndef LANCEDB_STORAGE_SIDE_WAL_H
#define LANCEDB_STORAGE_SIDE_WAL_H

#include "access/rmgr.h"
#include "access/xlogreader.h"
#include "lib/stringinfo.h"
#include "storage/side_storage.h"

/*
 * The resource manager id.  128 is RM_EXPERIMENTAL_ID, the id PostgreSQL
 * sets aside for extensions in development; a release must take an id of
 * its own from https://wiki.postgresql.org/wiki/CustomWALResourceManagers.
 * Every server that replays our WAL (standbys, PITR) must preload lancedb.
 */
#define LANCEDB_RMGR_ID RM_EXPERIMENTAL_ID
#define LANCEDB_RMGR_NAME "lancedb"

/* Largest WRITE payload: keeps replay memory and replication latency small. */
#define SIDE_WAL_CHUNK (1024 * 1024)

#define XLOG_SIDE_WRITE			0x00
#define XLOG_SIDE_DONE			0x10
#define XLOG_SIDE_REMOVE		0x20
#define XLOG_SIDE_DROP_STORAGE	0x30
#define XLOG_SIDE_DROP_DATABASE 0x40

/* Which storage a record is about. */
typedef struct xl_side_storage
{
	uint64		storage_id;
	Oid			dboid;
} xl_side_storage;

/* WRITE: followed by the file name (name_len bytes) and 'length' bytes. */
typedef struct xl_side_write
{
	xl_side_storage storage;
	uint64		offset;
	uint32		length;
	uint16		name_len;
} xl_side_write;

/* DONE: followed by the file name. */
typedef struct xl_side_done
{
	xl_side_storage storage;
	uint64		size;
	uint32		crc;			/* CRC-32C of the whole file */
	uint16		name_len;
} xl_side_done;

/* REMOVE: followed by nfiles NUL-terminated names. */
typedef struct xl_side_remove
{
	xl_side_storage storage;
	TransactionId latest_removed_xid;	/* invalid: no snapshot could see them */
	uint16		nfiles;
} xl_side_remove;

/* DROP_STORAGE */
typedef struct xl_side_drop_storage
{
	xl_side_storage storage;
	TransactionId latest_removed_xid;
} xl_side_drop_storage;

/* DROP_DATABASE */
typedef struct xl_side_drop_database
{
	Oid			dboid;
} xl_side_drop_database;

extern void SideWalRegister(void);

/* Logging, on the primary (side_wal.c). */
extern XLogRecPtr SideWalLogWrite(Oid dboid, SideStorageId storage_id, const char *name,
								  uint64 offset, const void *data, uint32 length);
extern XLogRecPtr SideWalLogDone(Oid dboid, SideStorageId storage_id, const char *name,
								 uint64 size, uint32 crc);
extern XLogRecPtr SideWalLogRemove(Oid dboid, SideStorageId storage_id,
								   TransactionId latest_removed_xid,
								   const char *const *names, int nfiles);
extern XLogRecPtr SideWalLogDropStorage(Oid dboid, SideStorageId storage_id,
										TransactionId latest_removed_xid);
extern XLogRecPtr SideWalLogDropDatabase(Oid dboid);

#endif							/* LANCEDB_STORAGE_SIDE_WAL_H */
