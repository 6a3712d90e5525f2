/*
 * side_catalog.c
 *	  The catalog tables of side storage, ordinary heap tables created by the
 *	  extension script (extension/lancedb--*.sql):
 *
 *	lancedb_catalog.storage (storage_id bigint, relid oid)
 *		a storage id exists for a relation; deleted when the relation gets
 *		a new relfilenode or is dropped
 *	lancedb_catalog.side_file (storage_id bigint, name text, size bigint)
 *		a published file of a storage; deleted when the file is retired
 *
 * A row's xmin is the transaction that created the storage or file, its xmax
 * the one that retired it, so MVCC decides what a snapshot sees and an
 * aborted transaction's files are invisible to all.  The rows are written
 * directly with the heap functions, as PostgreSQL writes its own catalogs:
 * an index build must not depend on the user's privileges on these tables.
 *
 * Lookups go through the tables' indexes (storage by relid, side_file by
 * storage_id and name), as PostgreSQL's own catalog lookups do: every
 * lance_ivf scan lists its index's files, and reading the whole of
 * side_file instead cost 95 us a query with 5,000 rows in it.  The name is
 * indexed COLLATE "C", the collation ScanKeyInit gives text keys.  A
 * listing for a snapshot that sees just what an earlier one saw comes from
 * a small per-backend cache (SideCatalogListFiles).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "storage/lmgr.h"
#include "storage/side_internal.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

Oid
SideCatalogRelid(const char *relname, bool missing_ok)
{
	Oid			nspid = get_namespace_oid(SIDE_CATALOG_SCHEMA, true);
	Oid			relid = OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s.%s\" does not exist", SIDE_CATALOG_SCHEMA, relname),
				 errhint("Run CREATE EXTENSION lancedb in this database.")));
	return relid;
}

SideStorageId
SideCatalogNextStorageId(void)
{
	int64		id = nextval_internal(SideCatalogRelid(SIDE_CATALOG_SEQUENCE, false), false);

	if (id <= 0)
		elog(ERROR, "storage id sequence returned %lld", (long long) id);
	return (SideStorageId) id;
}

void
SideCatalogInsertStorage(SideStorageId storage_id, Oid relid)
{
	Relation	rel = table_open(SideCatalogRelid(SIDE_CATALOG_STORAGE, false), RowExclusiveLock);
	Datum		values[Natts_side_storage];
	bool		nulls[Natts_side_storage] = {false};
	HeapTuple	tuple;

	values[Anum_side_storage_storage_id - 1] = Int64GetDatum((int64) storage_id);
	values[Anum_side_storage_relid - 1] = ObjectIdGetDatum(relid);
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tuple);
	heap_freetuple(tuple);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * A scan of 'rel' for the rows 'keys' select (columns of the index
 * 'indexname', which the scan turns into index column numbers), through that
 * index; through the whole table where an older install has no such index.
 */
static SysScanDesc
BeginScan(Relation rel, const char *indexname, Snapshot snapshot, ScanKeyData *keys, int nkeys)
{
	Oid			index = SideCatalogRelid(indexname, true);

	return systable_beginscan(rel, index, OidIsValid(index), snapshot, nkeys, keys);
}

/*
 * Delete the rows that 'key' selects and that this transaction sees (its
 * own rows included); returns how many.  Callers hold a lock that keeps
 * anyone else from deleting the same rows.
 */
static int
DeleteRows(const char *relname, const char *indexname, ScanKeyData *keys, int nkeys)
{
	Relation	rel = table_open(SideCatalogRelid(relname, false), RowExclusiveLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	SysScanDesc scan = BeginScan(rel, indexname, snapshot, keys, nkeys);
	HeapTuple	tuple;
	int			deleted = 0;

	while ((tuple = systable_getnext(scan)) != NULL)
	{
		simple_heap_delete(rel, &tuple->t_self);
		deleted++;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
	return deleted;
}

int
SideCatalogRetireStorages(Oid relid)
{
	ScanKeyData key;

	ScanKeyInit(&key, Anum_side_storage_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	return DeleteRows(SIDE_CATALOG_STORAGE, SIDE_CATALOG_STORAGE_INDEX, &key, 1);
}

bool
SideCatalogHasStorage(Oid relid, Snapshot snapshot)
{
	Relation	rel = table_open(SideCatalogRelid(SIDE_CATALOG_STORAGE, false), AccessShareLock);
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	ScanKeyInit(&key, Anum_side_storage_relid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = BeginScan(rel, SIDE_CATALOG_STORAGE_INDEX, snapshot, &key, 1);
	found = systable_getnext(scan) != NULL;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

void
SideCatalogInsertFile(SideStorageId storage_id, const char *name, int64 size)
{
	Relation	rel = table_open(SideCatalogRelid(SIDE_CATALOG_FILE, false), RowExclusiveLock);
	Datum		values[Natts_side_file];
	bool		nulls[Natts_side_file] = {false};
	HeapTuple	tuple;

	values[Anum_side_file_storage_id - 1] = Int64GetDatum((int64) storage_id);
	values[Anum_side_file_name - 1] = CStringGetTextDatum(name);
	values[Anum_side_file_size - 1] = Int64GetDatum(size);
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tuple);
	heap_freetuple(tuple);
	table_close(rel, RowExclusiveLock);
	CommandCounterIncrement();
}

void
SideCatalogForgetStorage(SideStorageId storage_id)
{
	ScanKeyData key;

	ScanKeyInit(&key, Anum_side_file_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	DeleteRows(SIDE_CATALOG_FILE, SIDE_CATALOG_FILE_INDEX, &key, 1);
}

bool
SideCatalogRetireFile(SideStorageId storage_id, const char *name)
{
	ScanKeyData keys[2];

	ScanKeyInit(&keys[0], Anum_side_file_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	ScanKeyInit(&keys[1], Anum_side_file_name, BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(name));
	return DeleteRows(SIDE_CATALOG_FILE, SIDE_CATALOG_FILE_INDEX, keys, 2) > 0;
}

static int
CompareEntries(const ListCell *a, const ListCell *b)
{
	return strcmp(((SideFileEntry *) lfirst(a))->name, ((SideFileEntry *) lfirst(b))->name);
}

/*
 * The files of a storage as one snapshot saw them, kept for the next
 * snapshot that sees the same rows: one with the same xmin, xmax and
 * running transactions (every other transaction's fate was settled before
 * either was taken), in a transaction that has written nothing (its own
 * rows' visibility would depend on the command id), in the same epoch of
 * transaction ids.  Snapshots are compared by content: the executor's are
 * copies, whose snapXactCompletionCount is 0.  A loop of queries that no
 * commit interrupts then scans side_file once, not once a query (a few us
 * in every lance_ivf scan).
 */
#define LIST_CACHE_SIZE 8
#define LIST_CACHE_FILES 4
#define LIST_CACHE_XIDS 16

typedef struct ListCacheEntry
{
	bool		used;
	SideStorageId storage_id;
	uint32		epoch;			/* of the next transaction id, at the lookup */
	TransactionId xmin;
	TransactionId xmax;
	bool		suboverflowed;
	bool		recovery;		/* takenDuringRecovery */
	uint32		xcnt;
	int32		subxcnt;
	TransactionId xids[LIST_CACHE_XIDS];	/* xip, then subxip */
	int			nfiles;
	SideFileEntry files[LIST_CACHE_FILES];	/* in name order */
} ListCacheEntry;

static ListCacheEntry list_cache[LIST_CACHE_SIZE];
static int	list_cache_next;

static bool
ListCacheUsable(Snapshot snapshot)
{
	return snapshot != NULL && snapshot->snapshot_type == SNAPSHOT_MVCC &&
		snapshot->subxcnt >= 0 &&
		snapshot->xcnt + (uint32) snapshot->subxcnt <= LIST_CACHE_XIDS &&
		!TransactionIdIsValid(GetTopTransactionIdIfAny());
}

static bool
ListCacheMatches(const ListCacheEntry *entry, SideStorageId storage_id, Snapshot snapshot,
				 uint32 epoch)
{
	return entry->used && entry->storage_id == storage_id && entry->epoch == epoch &&
		entry->xmin == snapshot->xmin && entry->xmax == snapshot->xmax &&
		entry->suboverflowed == snapshot->suboverflowed &&
		entry->recovery == snapshot->takenDuringRecovery &&
		entry->xcnt == snapshot->xcnt && entry->subxcnt == snapshot->subxcnt &&
		memcmp(entry->xids, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt) == 0 &&
		memcmp(entry->xids + snapshot->xcnt, snapshot->subxip,
			   sizeof(TransactionId) * snapshot->subxcnt) == 0;
}

static void
ListCacheAdd(SideStorageId storage_id, Snapshot snapshot, uint32 epoch, List *files)
{
	ListCacheEntry *entry = &list_cache[list_cache_next];
	ListCell   *cell;
	int			n = 0;

	if (list_length(files) > LIST_CACHE_FILES)
		return;
	list_cache_next = (list_cache_next + 1) % LIST_CACHE_SIZE;
	entry->used = true;
	entry->storage_id = storage_id;
	entry->epoch = epoch;
	entry->xmin = snapshot->xmin;
	entry->xmax = snapshot->xmax;
	entry->suboverflowed = snapshot->suboverflowed;
	entry->recovery = snapshot->takenDuringRecovery;
	entry->xcnt = snapshot->xcnt;
	entry->subxcnt = snapshot->subxcnt;
	memcpy(entry->xids, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
	memcpy(entry->xids + snapshot->xcnt, snapshot->subxip,
		   sizeof(TransactionId) * snapshot->subxcnt);
	foreach(cell, files)
		entry->files[n++] = *(SideFileEntry *) lfirst(cell);
	entry->nfiles = n;
}

List *
SideCatalogListFiles(SideStorageId storage_id, Snapshot snapshot)
{
	bool		usable = ListCacheUsable(snapshot);
	uint32		epoch = 0;
	ListCacheEntry *cached = NULL;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	ScanKeyData key;
	List	   *files = NIL;

	if (usable)
	{
		epoch = EpochFromFullTransactionId(ReadNextFullTransactionId());
		for (int i = 0; i < LIST_CACHE_SIZE && cached == NULL; i++)
			if (ListCacheMatches(&list_cache[i], storage_id, snapshot, epoch))
				cached = &list_cache[i];
	}
	if (cached != NULL)
	{
		for (int i = 0; i < cached->nfiles; i++)
		{
			SideFileEntry *entry = palloc(sizeof(SideFileEntry));

			*entry = cached->files[i];
			files = lappend(files, entry);
		}
		return files;
	}
	rel = table_open(SideCatalogRelid(SIDE_CATALOG_FILE, false), AccessShareLock);
	ScanKeyInit(&key, Anum_side_file_storage_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum((int64) storage_id));
	scan = BeginScan(rel, SIDE_CATALOG_FILE_INDEX, snapshot, &key, 1);
	while ((tuple = systable_getnext(scan)) != NULL)
	{
		SideFileEntry *entry = palloc0(sizeof(SideFileEntry));
		bool		isnull;
		Datum		name = heap_getattr(tuple, Anum_side_file_name, RelationGetDescr(rel), &isnull);
		Datum		size = heap_getattr(tuple, Anum_side_file_size, RelationGetDescr(rel), &isnull);

		text_to_cstring_buffer(DatumGetTextPP(name), entry->name, sizeof(entry->name));
		entry->size = DatumGetInt64(size);
		files = lappend(files, entry);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	list_sort(files, CompareEntries);
	if (usable)
		ListCacheAdd(storage_id, snapshot, epoch, files);
	return files;
}
