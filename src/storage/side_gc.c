/*
 * side_gc.c
 *	  Garbage collection of side storage: remove the files and directories
 *	  that no snapshot, on the primary or on a hot standby, can need.
 *
 * What is garbage, in the current database:
 *	- a storage directory whose catalog row is dead to everyone (retired by
 *	  a committed TRUNCATE, REINDEX, DROP, ... or inserted by a transaction
 *	  that aborted), or that has no row at all (vacuumed away);
 *	- in a live storage, a file whose row is dead to everyone, or that has
 *	  no row and whose creating transaction (named in the file's name) is no
 *	  longer running: it aborted, crashed, or its row was vacuumed away;
 *	- temporary files (being written) whose creator is no longer running.
 * And anywhere, pg_lancedb/<oid> of a database that no longer exists.
 *
 * "Dead to everyone" is HeapTupleSatisfiesVacuum against the horizon VACUUM
 * uses, which includes hot_standby_feedback.  Each removal is WAL-logged
 * (and flushed) before the unlink, carrying the newest xid whose snapshots
 * could have seen the files, so a standby first resolves the conflict with
 * its queries that might still read them, as it does for VACUUM's records.
 *
 * Order matters against concurrent writers: directories and files are
 * listed first, creators checked next, the catalog scanned last.  A writer
 * inserts a storage row before making its directory and makes a file before
 * its row, under an xid that is running until the row is committed; so
 * whatever the listing saw either has its row in the scan or has a creator
 * still running.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "compat.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "storage/side_internal.h"
#include "storage/side_wal.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* Most names in one REMOVE record. */
#define REMOVE_BATCH 1000

typedef enum RowState
{
	ROW_NONE = 0,				/* no row at all */
	ROW_DEAD,					/* only rows dead to everyone */
	ROW_NEEDED					/* some row a snapshot may still see */
} RowState;

/* What the catalog says of a storage id or a file. */
typedef struct RowEntry
{
	char		key[SIDE_FILE_NAME_MAX + 24];	/* "<storage id>" or "<id>/<name>" */
	RowState	state;
	TransactionId latest_removed_xid;
} RowEntry;

/* A file found in a storage directory. */
typedef struct ListedFile
{
	char		name[SIDE_FILE_NAME_MAX];
	bool		creator_running;
} ListedFile;

typedef struct ListedStorage
{
	SideStorageId storage_id;
	List	   *files;			/* of ListedFile */
} ListedStorage;

static bool
CreatorMayBeRunning(const char *name)
{
	FullTransactionId creator;
	FullTransactionId next = ReadNextFullTransactionId();

	if (!SideFsNameCreator(name, &creator))
		return false;			/* not a name we make: nothing owns it */
	/*
	 * At or past the next xid: a transaction that got its xid, made the file
	 * and crashed before any WAL carried the xid, so recovery handed the xid
	 * out again.  Whoever has it now did not make this file.
	 */
	if (!FullTransactionIdPrecedes(creator, next))
		return false;
	/* older than the wraparound horizon: long finished */
	if (U64FromFullTransactionId(next) - U64FromFullTransactionId(creator) >= (UINT64CONST(1) << 31))
		return false;
	return TransactionIdIsInProgress(XidFromFullTransactionId(creator));
}

static bool
ParseOid(const char *s, uint64 *value)
{
	char	   *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*value = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static List *
ListStorages(Oid dboid)
{
	char	   *db_dir = SideStoragePath(dboid, InvalidSideStorageId, NULL);
	DIR		   *dir = AllocateDir(db_dir);
	struct dirent *de;
	List	   *storages = NIL;
	ListCell   *lc;

	if (dir == NULL && errno == ENOENT)
		return NIL;
	while ((de = ReadDir(dir, db_dir)) != NULL)
	{
		ListedStorage *storage;
		uint64		id;
		char	   *storage_dir;
		DIR		   *files;
		struct dirent *fe;

		if (!ParseOid(de->d_name, &id) || id == InvalidSideStorageId)
			continue;
		storage = palloc0(sizeof(ListedStorage));
		storage->storage_id = id;
		storage_dir = SideStoragePath(dboid, id, NULL);
		files = AllocateDir(storage_dir);
		while (files != NULL && (fe = ReadDirExtended(files, storage_dir, LOG)) != NULL)
		{
			ListedFile *file;

			if (strcmp(fe->d_name, ".") == 0 || strcmp(fe->d_name, "..") == 0 ||
				strlen(fe->d_name) >= SIDE_FILE_NAME_MAX)
				continue;
			file = palloc0(sizeof(ListedFile));
			strlcpy(file->name, fe->d_name, sizeof(file->name));
			storage->files = lappend(storage->files, file);
		}
		if (files != NULL)
			FreeDir(files);
		pfree(storage_dir);
		storages = lappend(storages, storage);
	}
	FreeDir(dir);
	pfree(db_dir);

	/* creators are checked before the catalog is read (see the header) */
	foreach(lc, storages)
	{
		ListedStorage *storage = lfirst(lc);
		ListCell   *fc;

		foreach(fc, storage->files)
		{
			ListedFile *file = lfirst(fc);

			file->creator_running = CreatorMayBeRunning(file->name);
		}
	}
	return storages;
}

/*
 * Classify every row of a catalog table by its key (built by 'make_key')
 * into 'rows': needed if any version may be seen, else dead (with the
 * newest xid that could have seen it).
 */
static void
ScanCatalog(const char *relname, HTAB *rows,
			void (*make_key) (HeapTuple tuple, TupleDesc desc, char *key))
{
	Relation	rel = table_open(SideCatalogRelid(relname, false), AccessShareLock);
	TransactionId oldest_xmin = GetOldestNonRemovableTransactionId(rel);
	TableScanDesc scan = table_beginscan(rel, SnapshotAny, 0, NULL);
	HeapTuple	tuple;

	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Buffer		buffer = ((HeapScanDesc) scan)->rs_cbuf;
		char		key[sizeof(((RowEntry *) NULL)->key)];
		RowEntry   *entry;
		HTSV_Result result;
		bool		found;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		result = HeapTupleSatisfiesVacuum(tuple, oldest_xmin, buffer);
		make_key(tuple, RelationGetDescr(rel), key);
		entry = hash_search(rows, key, HASH_ENTER, &found);
		if (!found)
		{
			entry->state = ROW_NONE;
			entry->latest_removed_xid = InvalidTransactionId;
		}
		if (result != HEAPTUPLE_DEAD)
			entry->state = ROW_NEEDED;
		else
		{
			TransactionId xmin = HeapTupleHeaderGetXmin(tuple->t_data);

			if (entry->state == ROW_NONE)
				entry->state = ROW_DEAD;
			/* an aborted insert was never visible: no conflict */
			if (TransactionIdDidCommit(xmin))
			{
				TransactionId xmax = HeapTupleHeaderGetUpdateXid(tuple->t_data);

				if (TransactionIdIsNormal(xmax) &&
					(!TransactionIdIsValid(entry->latest_removed_xid) ||
					 TransactionIdFollows(xmax, entry->latest_removed_xid)))
					entry->latest_removed_xid = xmax;
			}
		}
		LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

static void
StorageKey(HeapTuple tuple, TupleDesc desc, char *key)
{
	bool		isnull;
	int64		id = DatumGetInt64(heap_getattr(tuple, Anum_side_storage_storage_id, desc, &isnull));

	snprintf(key, SIDE_FILE_NAME_MAX + 24, INT64_FORMAT, id);
}

static void
FileKey(HeapTuple tuple, TupleDesc desc, char *key)
{
	bool		isnull;
	int64		id = DatumGetInt64(heap_getattr(tuple, Anum_side_file_storage_id, desc, &isnull));
	char	   *name = TextDatumGetCString(heap_getattr(tuple, Anum_side_file_name, desc, &isnull));

	snprintf(key, SIDE_FILE_NAME_MAX + 24, INT64_FORMAT "/%s", id, name);
	pfree(name);
}

static HTAB *
NewRowTable(const char *name)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(((RowEntry *) NULL)->key);
	ctl.entrysize = sizeof(RowEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static RowEntry *
LookupRow(HTAB *rows, const char *key)
{
	char		buf[sizeof(((RowEntry *) NULL)->key)];

	strlcpy(buf, key, sizeof(buf));
	return hash_search(rows, buf, HASH_FIND, NULL);
}

/* WAL first (flushed, so a standby removes them too even if we crash), then unlink. */
static int64
RemoveFiles(SideStorageId storage_id, TransactionId latest_removed_xid, List *names)
{
	int			n = list_length(names);
	const char **batch;
	char	   *dir;
	int64		removed = 0;

	if (n == 0)
		return 0;
	batch = palloc(sizeof(char *) * Min(n, REMOVE_BATCH));
	for (int start = 0; start < n; start += REMOVE_BATCH)
	{
		int			count = Min(REMOVE_BATCH, n - start);

		for (int i = 0; i < count; i++)
			batch[i] = list_nth(names, start + i);
		XLogFlush(SideWalLogRemove(MyDatabaseId, storage_id, latest_removed_xid,
								   batch, count));
		for (int i = 0; i < count; i++)
		{
			char	   *path = SideStoragePath(MyDatabaseId, storage_id, batch[i]);

			SideFsUnlink(path);
			pfree(path);
			removed++;
		}
	}
	dir = SideStoragePath(MyDatabaseId, storage_id, NULL);
	SideFsSyncDir(dir);
	pfree(dir);
	pfree(batch);
	return removed;
}

static int
CompareIds(const void *a, const void *b)
{
	SideStorageId x = *(const SideStorageId *) a;
	SideStorageId y = *(const SideStorageId *) b;

	return x < y ? -1 : x > y;
}

/*
 * Rows of files whose storage directory is gone and whose storage row no
 * snapshot needs.  A collection whose transaction rolled back leaves them (a
 * build collects first, and may fail): its unlinks stay, its deletion of the
 * rows does not.  A writer makes its storage's directory before any row of
 * its files, and only a collection removes one, so where the directory is
 * missing now (checked after the catalog scans) the rows are garbage.
 */
static void
ForgetOrphanRows(List *storages, HTAB *storage_rows, HTAB *file_rows)
{
	HASH_SEQ_STATUS status;
	RowEntry   *file;
	SideStorageId *orphans = palloc(sizeof(SideStorageId) * Max(hash_get_num_entries(file_rows), 1));
	int			n = 0;

	hash_seq_init(&status, file_rows);
	while ((file = hash_seq_search(&status)) != NULL)
	{
		uint64		id;
		char		key[sizeof(((RowEntry *) NULL)->key)];
		char	   *slash;
		RowEntry   *row;
		bool		listed = false;
		ListCell   *lc;

		strlcpy(key, file->key, sizeof(key));
		slash = strchr(key, '/');
		if (file->state != ROW_NEEDED || slash == NULL)
			continue;			/* dead rows are VACUUM's */
		*slash = '\0';
		if (!ParseOid(key, &id))
			continue;
		row = LookupRow(storage_rows, key);
		if (row != NULL && row->state == ROW_NEEDED)
			continue;
		foreach(lc, storages)
			listed = listed || ((ListedStorage *) lfirst(lc))->storage_id == id;
		if (!listed)
			orphans[n++] = id;
	}
	if (n > 1)
		qsort(orphans, n, sizeof(SideStorageId), CompareIds);
	for (int i = 0; i < n; i++)
	{
		char	   *dir;
		struct stat st;

		if (i > 0 && orphans[i] == orphans[i - 1])
			continue;
		dir = SideStoragePath(MyDatabaseId, orphans[i], NULL);
		if (stat(dir, &st) != 0 && errno == ENOENT)
			SideCatalogForgetStorage(orphans[i]);
		pfree(dir);
	}
	pfree(orphans);
}

static int64
CollectDatabase(void)
{
	List	   *storages = ListStorages(MyDatabaseId);
	HTAB	   *storage_rows = NewRowTable("lancedb storage rows");
	HTAB	   *file_rows = NewRowTable("lancedb side file rows");
	int64		removed = 0;
	ListCell   *lc;

	ScanCatalog(SIDE_CATALOG_STORAGE, storage_rows, StorageKey);
	ScanCatalog(SIDE_CATALOG_FILE, file_rows, FileKey);

	foreach(lc, storages)
	{
		ListedStorage *storage = lfirst(lc);
		ListCell   *fc;
		char		key[sizeof(((RowEntry *) NULL)->key)];
		RowEntry   *row;
		TransactionId latest = InvalidTransactionId;
		List	   *garbage = NIL;

		snprintf(key, sizeof(key), UINT64_FORMAT, storage->storage_id);
		row = LookupRow(storage_rows, key);
		if (row == NULL || row->state != ROW_NEEDED)
		{
			char	   *dir = SideStoragePath(MyDatabaseId, storage->storage_id, NULL);

			XLogFlush(SideWalLogDropStorage(MyDatabaseId, storage->storage_id,
											row ? row->latest_removed_xid : InvalidTransactionId));
			SideFsRemoveTree(dir);
			pfree(dir);
			SideCatalogForgetStorage(storage->storage_id);
			removed += list_length(storage->files) + 1;
			continue;
		}

		foreach(fc, storage->files)
		{
			ListedFile *file = lfirst(fc);
			bool		temporary = strncmp(file->name, PG_TEMP_FILE_PREFIX,
											strlen(PG_TEMP_FILE_PREFIX)) == 0;

			snprintf(key, sizeof(key), UINT64_FORMAT "/%s", storage->storage_id, file->name);
			row = temporary ? NULL : LookupRow(file_rows, key);
			if (row != NULL && row->state == ROW_NEEDED)
				continue;
			if (row == NULL && file->creator_running)
				continue;
			if (row != NULL && TransactionIdIsValid(row->latest_removed_xid) &&
				(!TransactionIdIsValid(latest) ||
				 TransactionIdFollows(row->latest_removed_xid, latest)))
				latest = row->latest_removed_xid;
			garbage = lappend(garbage, file->name);
		}
		removed += RemoveFiles(storage->storage_id, latest, garbage);
	}
	ForgetOrphanRows(storages, storage_rows, file_rows);
	hash_destroy(storage_rows);
	hash_destroy(file_rows);
	return removed;
}

/* pg_lancedb/<oid> of databases that were dropped. */
static int64
CollectDroppedDatabases(void)
{
	DIR		   *dir = AllocateDir(SIDE_STORAGE_DIR);
	struct dirent *de;
	List	   *dropped = NIL;
	int64		removed = 0;
	ListCell   *lc;

	if (dir == NULL && errno == ENOENT)
		return 0;
	while ((de = ReadDir(dir, SIDE_STORAGE_DIR)) != NULL)
	{
		uint64		oid;

		if (ParseOid(de->d_name, &oid) && oid <= PG_UINT32_MAX &&
			!SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum((Oid) oid)))
			dropped = lappend_oid(dropped, (Oid) oid);
	}
	FreeDir(dir);

	foreach(lc, dropped)
	{
		Oid			dboid = lfirst_oid(lc);
		char	   *path = SideStoragePath(dboid, InvalidSideStorageId, NULL);

		XLogFlush(SideWalLogDropDatabase(dboid));
		SideFsRemoveTree(path);
		pfree(path);
		removed++;
	}
	return removed;
}

int64
SideStorageCollectGarbage(void)
{
	Oid			storage_relid = SideCatalogRelid(SIDE_CATALOG_STORAGE, false);
	int64		removed;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("recovery is in progress"),
				 errhint("Side storage garbage is collected on the primary; standbys follow its WAL.")));
	SideStorageCheckPreloaded();

	/* one collector per database at a time; writers are not blocked */
	LockRelationOid(storage_relid, ShareUpdateExclusiveLock);
	removed = CollectDroppedDatabases();
	removed += CollectDatabase();
	UnlockRelationOid(storage_relid, ShareUpdateExclusiveLock);
	return removed;
}

LANCEDB_FUNCTION(lancedb_collect_garbage);
Datum
lancedb_collect_garbage(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	PG_RETURN_INT64(SideStorageCollectGarbage());
}
