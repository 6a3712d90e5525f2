/*
 * side_wal.c
 *	  The lancedb WAL resource manager: logging side-file operations on the
 *	  primary and replaying them in crash recovery, on standbys and in
 *	  point-in-time recovery (record formats in side_wal.h).
 *
 * Redo must leave every file it wrote durable before it returns: a
 * restartpoint has no hook through which we could fsync later, so a record
 * behind a restartpoint is never replayed again.  That is what PostgreSQL's
 * own logical-rewrite redo does for its files outside the relation forks.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xloginsert.h"
#include "access/xlog_internal.h"
#include "access/xlogutils.h"
#include "storage/side_internal.h"
#include "storage/side_wal.h"
#include "storage/standby.h"

static void
RegisterStorage(xl_side_storage *storage, Oid dboid, SideStorageId storage_id)
{
	memset(storage, 0, sizeof(*storage));
	storage->storage_id = storage_id;
	storage->dboid = dboid;
}

XLogRecPtr
SideWalLogWrite(Oid dboid, SideStorageId storage_id, const char *name,
				uint64 offset, const void *data, uint32 length)
{
	xl_side_write xlrec;

	Assert(length <= SIDE_WAL_CHUNK);
	memset(&xlrec, 0, sizeof(xlrec));
	RegisterStorage(&xlrec.storage, dboid, storage_id);
	xlrec.offset = offset;
	xlrec.length = length;
	xlrec.name_len = strlen(name);

	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, sizeof(xlrec));
	XLogRegisterData((char *) name, xlrec.name_len);
	XLogRegisterData((char *) data, length);
	return XLogInsert(LANCEDB_RMGR_ID, XLOG_SIDE_WRITE);
}

XLogRecPtr
SideWalLogDone(Oid dboid, SideStorageId storage_id, const char *name,
			   uint64 size, uint32 crc)
{
	xl_side_done xlrec;

	memset(&xlrec, 0, sizeof(xlrec));
	RegisterStorage(&xlrec.storage, dboid, storage_id);
	xlrec.size = size;
	xlrec.crc = crc;
	xlrec.name_len = strlen(name);

	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, sizeof(xlrec));
	XLogRegisterData((char *) name, xlrec.name_len);
	return XLogInsert(LANCEDB_RMGR_ID, XLOG_SIDE_DONE);
}

XLogRecPtr
SideWalLogRemove(Oid dboid, SideStorageId storage_id, TransactionId latest_removed_xid,
				 const char *const *names, int nfiles)
{
	xl_side_remove xlrec;

	Assert(nfiles > 0 && nfiles <= PG_UINT16_MAX);
	memset(&xlrec, 0, sizeof(xlrec));
	RegisterStorage(&xlrec.storage, dboid, storage_id);
	xlrec.latest_removed_xid = latest_removed_xid;
	xlrec.nfiles = nfiles;

	XLogEnsureRecordSpace(0, nfiles + 1);
	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, sizeof(xlrec));
	for (int i = 0; i < nfiles; i++)
		XLogRegisterData((char *) names[i], strlen(names[i]) + 1);
	return XLogInsert(LANCEDB_RMGR_ID, XLOG_SIDE_REMOVE);
}

XLogRecPtr
SideWalLogDropStorage(Oid dboid, SideStorageId storage_id, TransactionId latest_removed_xid)
{
	xl_side_drop_storage xlrec;

	memset(&xlrec, 0, sizeof(xlrec));
	RegisterStorage(&xlrec.storage, dboid, storage_id);
	xlrec.latest_removed_xid = latest_removed_xid;

	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, sizeof(xlrec));
	return XLogInsert(LANCEDB_RMGR_ID, XLOG_SIDE_DROP_STORAGE);
}

XLogRecPtr
SideWalLogDropDatabase(Oid dboid)
{
	xl_side_drop_database xlrec;

	memset(&xlrec, 0, sizeof(xlrec));
	xlrec.dboid = dboid;

	XLogBeginInsert();
	XLogRegisterData((char *) &xlrec, sizeof(xlrec));
	return XLogInsert(LANCEDB_RMGR_ID, XLOG_SIDE_DROP_DATABASE);
}

/* ---- redo */

/*
 * A record's main data, checked to hold 'header' bytes plus what the header
 * says follows; a record that does not is corrupt WAL, and replaying it
 * further could write anywhere.
 */
static char *
RecordData(XLogReaderState *record, size_t header, size_t *rest)
{
	size_t		len = XLogRecGetDataLen(record);

	if (len < header)
		elog(PANIC, "lancedb WAL record too short: %zu bytes, expected at least %zu",
			 len, header);
	*rest = len - header;
	return XLogRecGetData(record);
}

static char *
RecordName(const char *bytes, uint16 name_len, size_t available)
{
	if (name_len > available || !SideFsNameIsValid(bytes, name_len))
		elog(PANIC, "lancedb WAL record holds an invalid file name");
	return pnstrdup(bytes, name_len);
}

/* Cancel (or wait out) standby queries whose snapshots may still see the files. */
static void
ResolveConflict(TransactionId latest_removed_xid, Oid dboid)
{
	RelFileNode node;

	if (!InHotStandby || !TransactionIdIsValid(latest_removed_xid))
		return;
	node.spcNode = InvalidOid;
	node.dbNode = dboid;
	node.relNode = InvalidOid;
	ResolveRecoveryConflictWithSnapshot(latest_removed_xid, node);
}

static void
RedoWrite(XLogReaderState *record)
{
	size_t		rest;
	xl_side_write *xlrec = (xl_side_write *) RecordData(record, sizeof(xl_side_write), &rest);
	char	   *bytes = (char *) xlrec + sizeof(xl_side_write);
	char	   *name = RecordName(bytes, xlrec->name_len, rest);
	char	   *path;

	if (rest - xlrec->name_len != xlrec->length)
		elog(PANIC, "lancedb WAL write record of file \"%s\" holds %zu bytes, expected %u",
			 name, rest - xlrec->name_len, xlrec->length);
	SideFsEnsureDir(xlrec->storage.dboid, xlrec->storage.storage_id);
	path = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, name);
	SideFsWriteAt(path, xlrec->offset, bytes + xlrec->name_len, xlrec->length);
	pfree(path);
	pfree(name);
}

static void
RedoDone(XLogReaderState *record)
{
	size_t		rest;
	xl_side_done *xlrec = (xl_side_done *) RecordData(record, sizeof(xl_side_done), &rest);
	char	   *name = RecordName((char *) xlrec + sizeof(xl_side_done), xlrec->name_len, rest);
	char	   *path;
	char	   *dir;
	uint64		size = 0;
	uint32		crc = 0;

	SideFsEnsureDir(xlrec->storage.dboid, xlrec->storage.storage_id);
	path = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, name);
	dir = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, NULL);
	/* creates an empty file if no WRITE came (with wal_level minimal) */
	SideFsWriteAt(path, 0, NULL, 0);
	SideFsSyncDir(dir);

	/*
	 * A mismatch is legitimate in one case: the file was removed after a
	 * base backup started and before the backup copied it, so only the
	 * WRITEs after the backup's start were replayed; a REMOVE record follows.
	 * Anything else is a damaged file, which its readers will refuse.
	 */
	if (!SideFsChecksum(path, &size, &crc) || size != xlrec->size || crc != xlrec->crc)
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("side file \"%s\" does not match its WAL", path),
				 errdetail("Found %llu bytes with CRC-32C %08x, expected %llu bytes with CRC-32C %08x.",
						   (unsigned long long) size, crc,
						   (unsigned long long) xlrec->size, xlrec->crc)));
	pfree(dir);
	pfree(path);
	pfree(name);
}

static void
RedoRemove(XLogReaderState *record)
{
	size_t		rest;
	xl_side_remove *xlrec = (xl_side_remove *) RecordData(record, sizeof(xl_side_remove), &rest);
	const char *p = (char *) xlrec + sizeof(xl_side_remove);
	const char *end = p + rest;
	char	   *dir;

	ResolveConflict(xlrec->latest_removed_xid, xlrec->storage.dboid);
	for (int i = 0; i < xlrec->nfiles; i++)
	{
		size_t		len = (p < end) ? strnlen(p, end - p) : 0;
		char	   *name;
		char	   *path;

		if (p >= end || len == (size_t) (end - p))
			elog(PANIC, "lancedb WAL remove record is truncated");
		name = RecordName(p, len, len);
		path = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, name);
		SideFsUnlink(path);
		pfree(path);
		pfree(name);
		p += len + 1;
	}
	dir = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, NULL);
	SideFsSyncDir(dir);
	pfree(dir);
}

static void
RedoDropStorage(XLogReaderState *record)
{
	size_t		rest;
	xl_side_drop_storage *xlrec = (xl_side_drop_storage *)
		RecordData(record, sizeof(xl_side_drop_storage), &rest);
	char	   *dir;

	ResolveConflict(xlrec->latest_removed_xid, xlrec->storage.dboid);
	dir = SideStoragePath(xlrec->storage.dboid, xlrec->storage.storage_id, NULL);
	SideFsRemoveTree(dir);
	pfree(dir);
}

static void
RedoDropDatabase(XLogReaderState *record)
{
	size_t		rest;
	xl_side_drop_database *xlrec = (xl_side_drop_database *)
		RecordData(record, sizeof(xl_side_drop_database), &rest);
	char	   *dir = SideStoragePath(xlrec->dboid, InvalidSideStorageId, NULL);

	SideFsRemoveTree(dir);
	pfree(dir);
}

static void
SideRedo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & XLR_RMGR_INFO_MASK;

	switch (info)
	{
		case XLOG_SIDE_WRITE:
			RedoWrite(record);
			break;
		case XLOG_SIDE_DONE:
			RedoDone(record);
			break;
		case XLOG_SIDE_REMOVE:
			RedoRemove(record);
			break;
		case XLOG_SIDE_DROP_STORAGE:
			RedoDropStorage(record);
			break;
		case XLOG_SIDE_DROP_DATABASE:
			RedoDropDatabase(record);
			break;
		default:
			elog(PANIC, "lancedb redo: unknown record type %u", info);
	}
}

/* ---- description, for pg_walinspect and debugging (pg_waldump cannot load us) */

static const char *
SideIdentify(uint8 info)
{
	switch (info & XLR_RMGR_INFO_MASK)
	{
		case XLOG_SIDE_WRITE:
			return "WRITE";
		case XLOG_SIDE_DONE:
			return "DONE";
		case XLOG_SIDE_REMOVE:
			return "REMOVE";
		case XLOG_SIDE_DROP_STORAGE:
			return "DROP_STORAGE";
		case XLOG_SIDE_DROP_DATABASE:
			return "DROP_DATABASE";
	}
	return NULL;
}

static void
SideDesc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & XLR_RMGR_INFO_MASK;
	char	   *data = XLogRecGetData(record);
	size_t		len = XLogRecGetDataLen(record);

	switch (info)
	{
		case XLOG_SIDE_WRITE:
			if (len >= sizeof(xl_side_write))
			{
				xl_side_write *xlrec = (xl_side_write *) data;

				appendStringInfo(buf, "db %u storage " UINT64_FORMAT " file ",
								 xlrec->storage.dboid, xlrec->storage.storage_id);
				appendBinaryStringInfo(buf, data + sizeof(*xlrec),
						 Min(xlrec->name_len, len - sizeof(*xlrec)));
				appendStringInfo(buf, ": %u bytes at " UINT64_FORMAT,
								 xlrec->length, xlrec->offset);
			}
			break;
		case XLOG_SIDE_DONE:
			if (len >= sizeof(xl_side_done))
			{
				xl_side_done *xlrec = (xl_side_done *) data;

				appendStringInfo(buf, "db %u storage " UINT64_FORMAT " file ",
								 xlrec->storage.dboid, xlrec->storage.storage_id);
				appendBinaryStringInfo(buf, data + sizeof(*xlrec),
						 Min(xlrec->name_len, len - sizeof(*xlrec)));
				appendStringInfo(buf, ": " UINT64_FORMAT " bytes, crc32c %08x",
								 xlrec->size, xlrec->crc);
			}
			break;
		case XLOG_SIDE_REMOVE:
			if (len >= sizeof(xl_side_remove))
			{
				xl_side_remove *xlrec = (xl_side_remove *) data;

				appendStringInfo(buf, "db %u storage " UINT64_FORMAT ": %u files, latest removed xid %u",
								 xlrec->storage.dboid, xlrec->storage.storage_id,
								 xlrec->nfiles, xlrec->latest_removed_xid);
			}
			break;
		case XLOG_SIDE_DROP_STORAGE:
			if (len >= sizeof(xl_side_drop_storage))
			{
				xl_side_drop_storage *xlrec = (xl_side_drop_storage *) data;

				appendStringInfo(buf, "db %u storage " UINT64_FORMAT ", latest removed xid %u",
								 xlrec->storage.dboid, xlrec->storage.storage_id,
								 xlrec->latest_removed_xid);
			}
			break;
		case XLOG_SIDE_DROP_DATABASE:
			if (len >= sizeof(xl_side_drop_database))
				appendStringInfo(buf, "db %u", ((xl_side_drop_database *) data)->dboid);
			break;
	}
}

static RmgrData side_rmgr = {
	.rm_name = LANCEDB_RMGR_NAME,
	.rm_redo = SideRedo,
	.rm_desc = SideDesc,
	.rm_identify = SideIdentify,
};

void
SideWalRegister(void)
{
	RegisterCustomRmgr(LANCEDB_RMGR_ID, &side_rmgr);
}
