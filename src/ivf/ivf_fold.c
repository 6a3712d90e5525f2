/*
 * ivf_fold.c
 *	  Folding: a new sealed segment holding the rows of the visible one that
 *	  are not tombstoned plus the rows of the delta area, written in one
 *	  transaction that also retires the old segment.  VACUUM folds a delta
 *	  grown past a tenth of the segment; lance_ivf_fold() folds on demand.
 *
 * When the rows have more than doubled since the centroids were trained,
 * the fold trains new ones (with the default number of lists for the new
 * row count, unless the index sets lists): recall does not decay as the
 * table grows.  Otherwise the old centroids stay and only the new rows are
 * assigned, which is cheaper.
 *
 * Nothing here changes a page another snapshot reads: the new segment
 * records up to which sequence numbers it absorbed delta rows and
 * tombstones (ivf.h), scans of the old segment go on reading the same
 * items, and the absorbed items are trimmed only once the old segment's
 * file is gone, i.e. once no snapshot can read it (IvfVacuumCleanup).
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "compat.h"
#include "ivf/ivf_build.h"
#include "ivf/ivf_segment.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/side_storage.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#define FOLD_READ_ROWS 1024

typedef struct FoldSource
{
	Relation	index;
	IvfMetaPageData meta;
	IvfSegment *old;
	ItemPointer tombs;
	int			ntombs;
	uint64		delta_from;
	uint64		delta_to;
	int64		delta_rows;
	IvfRowSink	sink;
	void	   *state;
} FoldSource;

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

static void
DeltaRow(void *arg, ItemPointer tid, const float *vector)
{
	FoldSource *source = (FoldSource *) arg;

	source->sink(source->state, IvfTidToInt64(tid), vector);
}

static void
CountDeltaRow(void *arg, ItemPointer tid, const float *vector)
{
	(void) tid, (void) vector;
	((FoldSource *) arg)->delta_rows++;
}

/* The rows of the old segment (less tombstones), then the delta rows. */
static void
FoldScanSource(void *arg, IvfRowSink sink, void *state)
{
	FoldSource *source = (FoldSource *) arg;
	IvfSegment *old = source->old;

	source->sink = sink;
	source->state = state;
	for (int l = 0; old != NULL && l < old->header.lists; l++)
	{
		IvfList    *list = IvfSegmentList(old, l);

		for (int64 first = 0; first < list->count; first += FOLD_READ_ROWS)
		{
			int64		n = Min((int64) FOLD_READ_ROWS, list->count - first);
			LanceArray	vectors;
			LanceError	error;
			const float *values;

			LanceArrayInit(&vectors, SideLanceAllocator());
			SideLanceCheck(LanceFileReaderReadRange(old->file->reader, IVF_COL_VECTOR,
													old->list_start[l] + first, n,
													&vectors, &error),
						   &error, "could not read lance_ivf vectors");
			values = LanceArrayListItems(&vectors);
			for (int64 i = 0; i < n; i++)
			{
				ItemPointerData tid;

				IvfInt64ToTid(list->tids[first + i], &tid);
				if (source->ntombs > 0 &&
					bsearch(&tid, source->tombs, source->ntombs, sizeof(ItemPointerData),
							CompareTids) != NULL)
					continue;
				sink(state, list->tids[first + i], values + i * old->header.dims);
			}
			LanceArrayReset(&vectors);
			CHECK_FOR_INTERRUPTS();
		}
		IvfSegmentTrim(old);
	}
	if (source->meta.dims > 0)
		IvfDeltaScan(source->index, &source->meta, source->meta.dims, source->delta_from,
					 source->delta_to, DeltaRow, source);
}

int64
IvfFold(Relation index, bool recluster, bool only_if_large)
{
	FoldSource	source;
	IvfBuildSpec spec;
	Snapshot	snapshot;
	char	   *name;
	char	   *segment;
	int64		old_rows;
	double		rows;

	memset(&source, 0, sizeof(source));
	source.index = index;
	IvfMetaRead(index, &source.meta);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	name = IvfVisibleSegment(index, snapshot);
	UnregisterSnapshot(snapshot);
	source.old = name ? IvfSegmentGet(index, name) : NULL;
	source.delta_from = source.old ? source.old->header.delta_upto : 0;
	source.delta_to = source.meta.next_seq;
	if (source.meta.dims > 0)
		IvfDeltaScan(index, &source.meta, source.meta.dims, source.delta_from, source.delta_to,
					 CountDeltaRow, &source);
	old_rows = source.old ? source.old->header.rows : 0;
	if (source.delta_rows == 0 && !recluster)
		return 0;
	if (only_if_large && source.delta_rows < Max(64, old_rows / 10))
		return 0;
	source.ntombs = IvfTombLoad(index, &source.meta,
								source.old ? source.old->header.tomb_upto : 0, &source.tombs);

	memset(&spec, 0, sizeof(spec));
	spec.index = index;
	spec.metric = IvfIndexMetric(index);
	spec.dims = source.meta.dims;
	spec.requested_lists = IvfOptionLists(index);
	spec.bits = IvfOptionBits(index);
	if (source.old != NULL && !recluster &&
		old_rows + source.delta_rows <= 2 * source.old->header.trained_rows)
	{
		spec.centroids = source.old->centroids;
		spec.lists = source.old->header.lists;
		spec.trained_rows = source.old->header.trained_rows;
	}
	spec.delta_upto = source.meta.next_seq;
	spec.tomb_upto = source.meta.next_seq;
	spec.expected_rows = (double) (old_rows + source.delta_rows);
	spec.source = FoldScanSource;
	spec.source_arg = &source;
	segment = IvfBuildSegment(&spec, &rows);
	if (source.old != NULL)
		SideFileRetire(index, source.old->name);
	if (segment != NULL)
		IvfMetaSetLists(index, 0, IvfSegmentGet(index, segment)->header.lists);
	return (int64) rows;
}

/* lance_ivf_fold(index regclass, recluster bool) -> rows in the new segment */
LANCEDB_FUNCTION(lance_ivf_fold);
Datum
lance_ivf_fold(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	bool		recluster = PG_GETARG_BOOL(1);
	Oid			heapoid = IndexGetRelation(indexoid, true);
	Relation	heap;
	Relation	index;
	int64		rows;

	if (!OidIsValid(heapoid))
	{
		char	   *name = get_rel_name(indexoid);

		/* a regclass given as a number names no relation unless one has it */
		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", indexoid)));
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not an index", name)));
	}
	/* as VACUUM: no other VACUUM or fold at the same time, reads and writes go on */
	heap = table_open(heapoid, ShareUpdateExclusiveLock);
	if (!pg_class_ownercheck(heapoid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, get_rel_name(indexoid));
	index = index_open(indexoid, ShareUpdateExclusiveLock);
	if (index->rd_indam->ambuild != IvfBuild)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a lance_ivf index", RelationGetRelationName(index))));
	rows = IvfFold(index, recluster, false);
	index_close(index, NoLock);
	table_close(heap, NoLock);
	PG_RETURN_INT64(rows);
}
