/*
 * side_debug.c
 *	  An internal consumer of side storage, so that the mechanism can be
 *	  tested from SQL (test/t/02N_side_*.pl) before the access methods use
 *	  it.  Not part of the extension's interface: the functions' EXECUTE is
 *	  revoked from PUBLIC and all of it may change or go.
 *
 *	CREATE INDEX ... USING lancedb_side_debug (int4 column)
 *		an index that only owns side storage: its build writes the metapage
 *		and a storage id; it indexes nothing, is never used by a scan, and
 *		its VACUUM collects garbage
 *	lancedb_debug_side_write(index, first_id, rows, dims) -> file name
 *		writes a Lance file (id int64, embedding fixed_size_list<float32,
 *		dims>; element d of row id is ((id * 31 + d * 17) % 1000) / 8) with
 *		the Lance writer into the index's storage and publishes it
 *	lancedb_debug_side_files(index) -> (name, size)
 *		the files the current snapshot sees
 *	lancedb_debug_side_read(index) -> (file, id, embedding real[])
 *		every row of those files, read with the Lance reader through the
 *		I/O runtime
 *	lancedb_debug_side_retire(index, name)
 *		retires one file
 *	lancedb_debug_side_storage(index) -> storage id
 */
#include "postgres.h"

#include "access/amapi.h"
#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "compat.h"
#include "funcapi.h"
#include "lance/lance_file.h"
#include "nodes/pathnodes.h"
#include "optimizer/cost.h"
#include "miscadmin.h"
#include "storage/side_lance.h"
#include "storage/side_storage.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#define DEBUG_MAX_DIMS 16000

/* ---- the index access method */

static IndexBuildResult *
DebugBuild(Relation heap, Relation index, IndexInfo *info)
{
	IndexBuildResult *result = palloc0(sizeof(IndexBuildResult));

	(void) heap;
	(void) info;
	SideStorageCreate(index);
	return result;
}

static void
DebugBuildEmpty(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("access method \"lancedb_side_debug\" does not support unlogged or temporary relations"),
			 errdetail("Index \"%s\" would need side storage that is reset at crash recovery.",
					   RelationGetRelationName(index))));
}

static bool
DebugInsert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap,
			IndexUniqueCheck check, bool unchanged, IndexInfo *info)
{
	(void) index, (void) values, (void) isnull, (void) tid, (void) heap;
	(void) check, (void) unchanged, (void) info;
	return false;				/* indexes nothing */
}

static IndexBulkDeleteResult *
DebugBulkDelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
				IndexBulkDeleteCallback callback, void *state)
{
	(void) info, (void) callback, (void) state;
	return stats ? stats : palloc0(sizeof(IndexBulkDeleteResult));
}

static IndexBulkDeleteResult *
DebugVacuumCleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (!info->analyze_only)
		SideStorageCollectGarbage();
	return stats;
}

static void
DebugCostEstimate(PlannerInfo *root, IndexPath *path, double loop_count,
				  Cost *startup, Cost *total, Selectivity *selectivity,
				  double *correlation, double *pages)
{
	(void) root, (void) path, (void) loop_count;
	*startup = *total = disable_cost;
	*selectivity = 1.0;
	*correlation = 0.0;
	*pages = 1.0;
}

static bytea *
DebugOptions(Datum reloptions, bool validate)
{
	(void) reloptions, (void) validate;
	return NULL;
}

static bool
DebugValidate(Oid opclass)
{
	(void) opclass;
	return true;
}

static IndexScanDesc
DebugBeginScan(Relation index, int nkeys, int norderbys)
{
	(void) nkeys, (void) norderbys;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("index \"%s\" of access method \"lancedb_side_debug\" cannot be scanned",
					RelationGetRelationName(index))));
	return NULL;
}

static void
DebugRescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	(void) scan, (void) keys, (void) nkeys, (void) orderbys, (void) norderbys;
}

static void
DebugEndScan(IndexScanDesc scan)
{
	(void) scan;
}

LANCEDB_FUNCTION(lancedb_side_debug_handler);
Datum
lancedb_side_debug_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	(void) fcinfo;
	am->amstrategies = 0;
	am->amsupport = 0;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearchnulls = false;
	am->amkeytype = InvalidOid;
	am->ambuild = DebugBuild;
	am->ambuildempty = DebugBuildEmpty;
	am->aminsert = DebugInsert;
	am->ambulkdelete = DebugBulkDelete;
	am->amvacuumcleanup = DebugVacuumCleanup;
	am->amcostestimate = DebugCostEstimate;
	am->amoptions = DebugOptions;
	am->amvalidate = DebugValidate;
	am->ambeginscan = DebugBeginScan;
	am->amrescan = DebugRescan;
	am->amendscan = DebugEndScan;
	/* no amgettuple and no amgetbitmap: the planner never scans it */
	PG_RETURN_POINTER(am);
}

/* ---- SQL functions */

static Relation
OpenDebugIndex(Oid relid, LOCKMODE lockmode)
{
	Relation	index = index_open(relid, lockmode);

	if (index->rd_indam->ambuild != DebugBuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index of access method \"lancedb_side_debug\"",
						RelationGetRelationName(index))));
	return index;
}

static float
DebugElement(int64 id, int d)
{
	return (float) ((id * 31 + (int64) d * 17) % 1000) / 8.0f;
}

LANCEDB_FUNCTION(lancedb_debug_side_write);
Datum
lancedb_debug_side_write(PG_FUNCTION_ARGS)
{
	Relation	index = OpenDebugIndex(PG_GETARG_OID(0), RowExclusiveLock);
	int64		first_id = PG_GETARG_INT64(1);
	int32		rows = PG_GETARG_INT32(2);
	int32		dims = PG_GETARG_INT32(3);
	LanceSchema schema;
	LanceField field = {0};
	LanceFileWriterOptions options;
	LanceFileWriter *writer;
	LanceError error;
	SideFileWriter *file;
	char	   *name;
	int32		batch_rows;

	if (rows < 0 || dims < 1 || dims > DEBUG_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected rows >= 0 and 1 to %d dimensions", DEBUG_MAX_DIMS)));

	LanceSchemaInit(&schema, SideLanceAllocator());
	field.name = "id";
	field.id = 0;
	field.parent_id = -1;
	field.type = LANCE_TYPE_INT64;
	SideLanceCheck(LanceSchemaAddField(&schema, &field, &error), &error, "schema");
	field.name = "embedding";
	field.id = 1;
	field.type = LANCE_TYPE_FIXED_SIZE_LIST;
	field.item_type = LANCE_TYPE_FLOAT32;
	field.list_size = dims;
	SideLanceCheck(LanceSchemaAddField(&schema, &field, &error), &error, "schema");

	LanceFileWriterOptionsInit(&options);
	options.allocator = SideLanceAllocator();
	file = SideFileCreate(index);
	SideLanceCheck(LanceFileWriterOpen(&writer, SideFileLanceSink, file, &schema, &options, &error),
				   &error, "could not start a Lance file");

	/* in batches of about 4 MB of vectors */
	batch_rows = Max(1, (4 * 1024 * 1024) / (dims * (int32) sizeof(float)));
	for (int32 start = 0; start < rows; start += batch_rows)
	{
		int32		n = Min(batch_rows, rows - start);
		int64	   *ids = palloc(sizeof(int64) * n);
		float	   *values = palloc(sizeof(float) * (size_t) n * dims);
		LanceColumn columns[2] = {{0}};
		LanceColumn items = {0};

		for (int32 i = 0; i < n; i++)
		{
			ids[i] = first_id + start + i;
			for (int d = 0; d < dims; d++)
				values[(size_t) i * dims + d] = DebugElement(ids[i], d);
		}
		columns[0].type = LANCE_TYPE_INT64;
		columns[0].length = n;
		columns[0].values = ids;
		items.type = LANCE_TYPE_FLOAT32;
		items.length = (int64) n * dims;
		items.values = values;
		columns[1].type = LANCE_TYPE_FIXED_SIZE_LIST;
		columns[1].length = n;
		columns[1].child = &items;
		columns[1].list_size = dims;
		SideLanceCheck(LanceFileWriterWrite(writer, columns, 2, &error), &error,
					   "could not write a Lance batch");
		pfree(ids);
		pfree(values);
		CHECK_FOR_INTERRUPTS();
	}
	SideLanceCheck(LanceFileWriterFinish(writer, NULL, &error), &error,
				   "could not finish a Lance file");
	LanceFileWriterClose(writer);
	name = SideFileFinish(file);

	index_close(index, NoLock);
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

LANCEDB_FUNCTION(lancedb_debug_side_files);
Datum
lancedb_debug_side_files(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	index = OpenDebugIndex(PG_GETARG_OID(0), AccessShareLock);
	List	   *files;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	files = SideFileList(index, GetActiveSnapshot());
	foreach(lc, files)
	{
		SideFileEntry *entry = lfirst(lc);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(entry->name);
		values[1] = Int64GetDatum(entry->size);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	index_close(index, NoLock);
	return (Datum) 0;
}

/* Column 'field' of a whole file; ERROR unless it has the expected type. */
static void
ReadColumn(SideLanceFile *file, int32 field, LanceTypeId type, LanceArray *out)
{
	LanceError	error;
	const LanceSchema *schema = LanceFileReaderSchema(file->reader);

	if (field >= schema->num_fields || schema->fields[field].type != type)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("side file \"%s\" does not have the debug layout", file->name)));
	LanceArrayInit(out, SideLanceAllocator());
	SideLanceCheck(LanceFileReaderReadRange(file->reader, field, 0,
											LanceFileReaderNumRows(file->reader), out, &error),
				   &error, psprintf("could not read side file \"%s\"", file->name));
}

LANCEDB_FUNCTION(lancedb_debug_side_read);
Datum
lancedb_debug_side_read(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	index = OpenDebugIndex(PG_GETARG_OID(0), AccessShareLock);
	List	   *files;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	files = SideFileList(index, GetActiveSnapshot());
	foreach(lc, files)
	{
		SideFileEntry *entry = lfirst(lc);
		SideLanceFile *file = SideLanceOpen(index, entry->name, false);
		LanceArray	ids;
		LanceArray	vectors;
		int32		dims;

		ReadColumn(file, 0, LANCE_TYPE_INT64, &ids);
		ReadColumn(file, 1, LANCE_TYPE_FIXED_SIZE_LIST, &vectors);
		dims = LanceFileReaderSchema(file->reader)->fields[1].list_size;
		for (int64 i = 0; i < ids.column.length; i++)
		{
			const float *items = (const float *) LanceArrayListItems(&vectors) + i * dims;
			Datum	   *elems = palloc(sizeof(Datum) * dims);
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			for (int d = 0; d < dims; d++)
				elems[d] = Float4GetDatum(items[d]);
			values[0] = CStringGetTextDatum(entry->name);
			values[1] = Int64GetDatum(((const int64 *) ids.column.values)[ids.column.offset + i]);
			values[2] = PointerGetDatum(construct_array(elems, dims, FLOAT4OID, sizeof(float4),
														true, TYPALIGN_INT));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			pfree(elems);
		}
		LanceArrayReset(&ids);
		LanceArrayReset(&vectors);
		SideLanceClose(file);
	}
	index_close(index, NoLock);
	return (Datum) 0;
}

LANCEDB_FUNCTION(lancedb_debug_side_retire);
Datum
lancedb_debug_side_retire(PG_FUNCTION_ARGS)
{
	Relation	index = OpenDebugIndex(PG_GETARG_OID(0), RowExclusiveLock);
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(1));

	SideFileRetire(index, name);
	index_close(index, NoLock);
	PG_RETURN_VOID();
}

LANCEDB_FUNCTION(lancedb_debug_side_storage);
Datum
lancedb_debug_side_storage(PG_FUNCTION_ARGS)
{
	Relation	index = OpenDebugIndex(PG_GETARG_OID(0), AccessShareLock);
	SideStorageId id = SideStorageGetId(index);

	index_close(index, NoLock);
	PG_RETURN_INT64((int64) id);
}
