/*
 * side_storage.c
 *	  The life of a relation's side storage: registration at load time, the
 *	  storage id in the relation's metapage, and retirement when the
 *	  relation gets a new relfilenode or is dropped.
 *
 * The metapage is block 0 of the relation's main fork, WAL-logged as a full
 * page, so whatever carries the relation's pages (TRUNCATE's rollback, ALTER
 * ... SET TABLESPACE, a base backup) carries its storage id along.  The
 * catalog row that says the id exists is inserted and retired by the same
 * transactions that create and replace the relfilenode, so an abort undoes
 * both.
 */
#include "postgres.h"

#include <dirent.h>

#include "access/xloginsert.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "compat.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/side_internal.h"
#include "storage/side_wal.h"
#include "storage/fd.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/inval.h"

#define SIDE_META_MAGIC 0x4C4E4342	/* "LNCB" */
#define SIDE_META_VERSION 1

/* The metapage's contents, right after the page header. */
typedef struct SideMetaPageData
{
	uint32		magic;
	uint32		version;
	uint64		storage_id;
} SideMetaPageData;

int			side_debug_crash_at = SIDE_CRASH_NONE;

static bool side_rmgr_registered = false;
static object_access_hook_type prev_object_access_hook = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

static const struct config_enum_entry crash_points[] = {
	{"none", SIDE_CRASH_NONE, false},
	{"after_file", SIDE_CRASH_AFTER_FILE, false},
	{"after_wal", SIDE_CRASH_AFTER_WAL, false},
	{"after_catalog", SIDE_CRASH_AFTER_CATALOG, false},
	{NULL, 0, false}
};

static void SideObjectAccess(ObjectAccessType access, Oid classId, Oid objectId,
							 int subId, void *arg);
static void ForgetStorageIds(Datum arg, Oid relid);
static void SideProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
							   ProcessUtilityContext context, ParamListInfo params,
							   QueryEnvironment *queryEnv, DestReceiver *dest,
							   QueryCompletion *qc);

void
SideStorageInit(void)
{
	DefineCustomEnumVariable("lancedb.debug_crash_at",
							 "Crashes the server at a step of writing a side file (tests only).",
							 "The server PANICs after the file is durable, after its WAL, "
							 "or after its catalog row, to test crash recovery.",
							 &side_debug_crash_at, SIDE_CRASH_NONE, crash_points,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	/* only possible from shared_preload_libraries; CREATE EXTENSION checks */
	if (process_shared_preload_libraries_in_progress)
	{
		SideWalRegister();
		side_rmgr_registered = true;
	}
	CacheRegisterRelcacheCallback(ForgetStorageIds, (Datum) 0);
	prev_object_access_hook = object_access_hook;
	object_access_hook = SideObjectAccess;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = SideProcessUtility;
}

void
SideStorageCheckPreloaded(void)
{
	if (!side_rmgr_registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lancedb must be loaded via shared_preload_libraries"),
				 errdetail("lancedb writes WAL through its own resource manager, which only a preloaded library can register."),
				 errhint("Add lancedb to shared_preload_libraries in postgresql.conf and restart the server, "
						 "on the primary and on every standby.")));
}

void
SideCrashPointReached(SideCrashPoint point)
{
	if (side_debug_crash_at == (int) point)
		elog(PANIC, "lancedb.debug_crash_at: crashing at %s", crash_points[point].name);
}

SideStorageId
SideStorageCreate(Relation rel)
{
	SideStorageId storage_id;
	Buffer		buffer;
	Page		page;
	SideMetaPageData *meta;

	SideStorageCheckPreloaded();
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary relation \"%s\" cannot have side storage",
						RelationGetRelationName(rel)),
				 errdetail("Side files are listed in a catalog every session shares and are logged "
						   "to WAL, which a temporary relation is not.")));
	if (RelationGetNumberOfBlocks(rel) != 0)
		elog(ERROR, "relation \"%s\" already has a metapage", RelationGetRelationName(rel));

	storage_id = SideCatalogNextStorageId();
	SideCatalogRetireStorages(RelationGetRelid(rel));
	SideCatalogInsertStorage(storage_id, RelationGetRelid(rel));

	buffer = ReadBufferExtended(rel, MAIN_FORKNUM, P_NEW, RBM_NORMAL, NULL);
	Assert(BufferGetBlockNumber(buffer) == 0);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);

	START_CRIT_SECTION();
	page = BufferGetPage(buffer);
	PageInit(page, BLCKSZ, 0);
	meta = (SideMetaPageData *) PageGetContents(page);
	meta->magic = SIDE_META_MAGIC;
	meta->version = SIDE_META_VERSION;
	meta->storage_id = storage_id;
	/* pd_lower past the contents, so the full-page image keeps them */
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(SideMetaPageData)) - (char *) page;
	MarkBufferDirty(buffer);
	if (RelationNeedsWAL(rel))
		log_newpage_buffer(buffer, true);
	END_CRIT_SECTION();

	UnlockReleaseBuffer(buffer);
	return storage_id;
}

/*
 * The storage ids of relations read lately.  A relation's id never changes
 * for its relfilenode (a new one gets a new storage), so an entry is keyed
 * by both; a relcache invalidation of the relation (its DROP, a new
 * relfilenode) removes it, so a relfilenode number used again later does
 * not find it.  Every index scan asks, and reading the metapage takes a
 * system call (the relation's size) and a buffer.
 */
#define ID_CACHE_SIZE 8

static struct
{
	Oid			relid;			/* InvalidOid: empty */
	RelFileNode node;
	SideStorageId storage_id;
} id_cache[ID_CACHE_SIZE];
static int	id_cache_next;

static void
ForgetStorageIds(Datum arg, Oid relid)
{
	(void) arg;
	for (int i = 0; i < ID_CACHE_SIZE; i++)
		if (relid == InvalidOid || id_cache[i].relid == relid)
			id_cache[i].relid = InvalidOid;
}

SideStorageId
SideStorageGetId(Relation rel)
{
	Buffer		buffer;
	SideMetaPageData meta;

	for (int i = 0; i < ID_CACHE_SIZE; i++)
		if (id_cache[i].relid == RelationGetRelid(rel) &&
			RelFileNodeEquals(id_cache[i].node, rel->rd_node))
			return id_cache[i].storage_id;

	if (RelationGetNumberOfBlocks(rel) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("relation \"%s\" has no side storage metapage",
						RelationGetRelationName(rel))));
	buffer = ReadBuffer(rel, 0);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	memcpy(&meta, PageGetContents(BufferGetPage(buffer)), sizeof(meta));
	UnlockReleaseBuffer(buffer);

	if (meta.magic != SIDE_META_MAGIC || meta.version != SIDE_META_VERSION ||
		meta.storage_id == InvalidSideStorageId)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("relation \"%s\" has an invalid side storage metapage",
						RelationGetRelationName(rel)),
				 errdetail("Found magic %08x, version %u, storage id " UINT64_FORMAT ".",
						   meta.magic, meta.version, meta.storage_id)));
	id_cache[id_cache_next].relid = RelationGetRelid(rel);
	id_cache[id_cache_next].node = rel->rd_node;
	id_cache[id_cache_next].storage_id = meta.storage_id;
	id_cache_next = (id_cache_next + 1) % ID_CACHE_SIZE;
	return meta.storage_id;
}

/*
 * DROP of a relation (an index, a table, the transient table of VACUUM
 * FULL) retires its storage in the dropping transaction: gone after commit
 * and garbage collection, kept if the DROP aborts.
 */
static void
SideObjectAccess(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access != OAT_DROP || classId != RelationRelationId || subId != 0)
		return;
	/* nothing to do where the extension is not installed (or is being dropped) */
	if (!OidIsValid(get_extension_oid("lancedb", true)) ||
		!OidIsValid(SideCatalogRelid(SIDE_CATALOG_STORAGE, true)) ||
		objectId == SideCatalogRelid(SIDE_CATALOG_STORAGE, true))
		return;
	SideCatalogRetireStorages(objectId);
}

/* Called first by the extension script: CREATE EXTENSION fails without preloading. */
LANCEDB_FUNCTION(lancedb_require_preload);
Datum
lancedb_require_preload(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	SideStorageCheckPreloaded();
	PG_RETURN_VOID();
}

/* True if pg_lancedb/<dboid>/ holds any storage directory. */
static bool
DatabaseHasSideStorage(Oid dboid)
{
	char	   *path = SideStoragePath(dboid, InvalidSideStorageId, NULL);
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	bool		found = false;

	if (dir == NULL && errno == ENOENT)
		return false;
	while (!found && (de = ReadDir(dir, path)) != NULL)
		found = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	FreeDir(dir);
	pfree(path);
	return found;
}

/*
 * CREATE DATABASE copies a template's relations, metapages and catalog rows
 * included, but not its pg_lancedb/<oid>/ directory: the copy would list
 * side files it does not have.  Refuse such templates until copying is
 * built.
 */
static void
SideProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	if (IsA(parsetree, CreatedbStmt))
	{
		CreatedbStmt *stmt = (CreatedbStmt *) parsetree;
		const char *template = "template1";
		ListCell   *lc;
		Oid			dboid;

		foreach(lc, stmt->options)
		{
			DefElem    *option = lfirst(lc);

			if (strcmp(option->defname, "template") == 0 && option->arg != NULL)
				template = defGetString(option);
		}
		dboid = get_database_oid(template, true);
		if (OidIsValid(dboid) && DatabaseHasSideStorage(dboid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot use database \"%s\" as a template: it has lancedb side storage",
							template),
					 errdetail("CREATE DATABASE does not copy side files."),
					 errhint("Create the database from another template and copy the data with pg_dump.")));
	}
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
							 dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv,
								dest, qc);
}
