/*
 * ivf_scan.c
 *	  Index scans of lance_ivf: rows in distance order for ORDER BY
 *	  <vector> <op> <query>, with exact distances (no recheck).
 *
 * The first call probes the `probes` lists whose centroids are nearest to
 * the query: every row of those lists gets a RaBitQ estimate of its
 * distance and an error bound, and goes into a heap of candidates keyed by
 * the lower end of that bound.  Rows of the delta area get exact distances
 * at once.  Then, for every row the executor asks for:
 *	- while some candidate's lower bound is below the best exact distance
 *	  found so far, the best `rerank` candidates are re-ranked: their vectors
 *	  are read from the segment and their exact distances computed;
 *	- otherwise the best exact result is returned: no candidate of the
 *	  probed lists can be nearer, so rows come out in exact order among them.
 * When candidates and results run out (a WHERE clause filtered away what
 * came back), the next lists are probed, twice as many each round, until
 * the index is exhausted or lance_ivf.max_candidates rows were considered: a
 * query gets its LIMIT rows whenever the index has them.  Rows found in a
 * later round may be nearer than rows an earlier round returned (as with
 * pgvector's iterative scans in relaxed order): a query that needs strict
 * order past the first round sorts the index's rows again.
 */
#include "postgres.h"

#include <math.h>

#include "access/relscan.h"
#include "ivf/ivf_segment.h"
#include "lib/pairingheap.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "vector/vector.h"

#define BOUND_EPSILON 3.3

typedef struct Candidate
{
	pairingheap_node node;
	float		key;			/* lower bound of the distance (operator's scale) */
	int64		row;			/* segment row, or -1 with an exact distance */
	double		distance;		/* exact, once known */
	ItemPointerData tid;
} Candidate;

typedef struct IvfScanOpaqueData
{
	MemoryContext cxt;			/* reset at every rescan */
	IvfMetric	metric;
	IvfMetaPageData meta;
	int			dims;
	bool		started;
	bool		null_query;
	float	   *query;			/* prepared */
	float	   *rotated_query;	/* query rotated, RabitqPaddedDims floats */
	IvfSegment *segment;
	int32	   *list_order;		/* lists, nearest centroid first */
	int			lists_probed;
	int			expansions;		/* times more lists were probed */
	int			probes;
	int			rerank;
	int64		considered;
	ItemPointer tombs;
	int			ntombs;
	pairingheap *candidates;	/* by key, smallest first */
	pairingheap *results;		/* by exact distance, smallest first */
	float	   *fetched;		/* rerank * dims */
	uint64	   *rows;
	Candidate **batch;
} IvfScanOpaqueData;

typedef IvfScanOpaqueData *IvfScanOpaque;

static int
CompareKey(const pairingheap_node *a, const pairingheap_node *b, void *arg)
{
	const Candidate *x = pairingheap_const_container(Candidate, node, a);
	const Candidate *y = pairingheap_const_container(Candidate, node, b);

	(void) arg;
	/* pairingheap keeps the largest first: invert for a min-heap */
	return x->key < y->key ? 1 : x->key > y->key ? -1 : 0;
}

static int
CompareDistance(const pairingheap_node *a, const pairingheap_node *b, void *arg)
{
	const Candidate *x = pairingheap_const_container(Candidate, node, a);
	const Candidate *y = pairingheap_const_container(Candidate, node, b);

	(void) arg;
	return x->distance < y->distance ? 1 : x->distance > y->distance ? -1 : 0;
}

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

IndexScanDesc
IvfBeginScan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	IvfScanOpaque so = palloc0(sizeof(IvfScanOpaqueData));

	so->cxt = AllocSetContextCreate(CurrentMemoryContext, "lance_ivf scan",
									ALLOCSET_DEFAULT_SIZES);
	so->metric = IvfIndexMetric(index);
	so->probes = IvfOptionProbes(index);
	so->rerank = IvfOptionRerank(index);
	scan->xs_orderbyvals = palloc0(sizeof(Datum) * Max(norderbys, 1));
	scan->xs_orderbynulls = palloc(sizeof(bool) * Max(norderbys, 1));
	scan->opaque = so;
	return scan;
}

void
IvfRescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	if (keys && scan->numberOfKeys > 0)
		memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
	if (orderbys && scan->numberOfOrderBys > 0)
		memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	(void) nkeys, (void) norderbys;
	MemoryContextReset(so->cxt);
	so->started = false;
	so->segment = NULL;
	so->lists_probed = 0;
	so->expansions = 0;
	so->considered = 0;
}

/* Distance on the operator's scale from a squared L2 distance of prepared vectors. */
static inline float
FromSquaredL2(IvfMetric metric, float squared)
{
	if (squared < 0)
		squared = 0;
	return metric == IVF_METRIC_COSINE ? squared / 2 : sqrtf(squared);
}

static void
AddExact(IvfScanOpaque so, ItemPointer tid, double distance)
{
	Candidate  *c = palloc(sizeof(Candidate));

	c->row = -1;
	c->tid = *tid;
	c->distance = distance;
	c->key = (float) distance;
	pairingheap_add(so->results, &c->node);
}

static void
DeltaRow(void *arg, ItemPointer tid, const float *vector)
{
	IvfScanOpaque so = (IvfScanOpaque) arg;

	AddExact(so, tid, so->null_query ? 0 : IvfDistance(so->metric, so->query, vector, so->dims));
}

/* Probe the next 'count' lists: every live row becomes a candidate. */
static void
ProbeLists(IvfScanOpaque so, int count)
{
	IvfSegment *segment = so->segment;
	RabitqQuery *prepared = palloc(RabitqQuerySize(segment->rotation));
	int			lists = segment->header.lists;

	for (int i = 0; i < count && so->lists_probed < lists; i++)
	{
		int			l = so->list_order[so->lists_probed++];
		IvfList    *list = IvfSegmentList(segment, l);
		float	   *estimate;
		float	   *error;
		Candidate  *cands;
		float		qc_norm2 = 0;
		float		qc_dot = 0;

		if (list->count == 0)
			continue;
		so->considered += list->count;
		estimate = palloc(sizeof(float) * list->count);
		error = palloc(sizeof(float) * list->count);
		if (!so->null_query)
		{
			RabitqQueryPrepareRotated(segment->rotation, so->rotated_query,
									  segment->rotated_centroids +
									  (size_t) l * RabitqPaddedDims(segment->rotation),
									  prepared);
			RabitqEstimate(prepared, list->codes, list->factors, list->count, estimate, error);
			qc_norm2 = RabitqQueryResidualNormSquared(prepared);
			qc_dot = RabitqQueryCentroidDot(prepared);
		}
		/*
		 * RaBitQ's bound (epsilon_0 = 1.9) holds for ~94% of rows; the error
		 * is close to normal, so 3.3 / 1.9 of it holds for ~99.9%: a row
		 * comes back out of order only that rarely.
		 */
		for (int64 r = 0; r < list->count; r++)
			error[r] *= (float) (BOUND_EPSILON / RABITQ_EPSILON0);
		cands = palloc(sizeof(Candidate) * list->count);
		for (int64 r = 0; r < list->count; r++)
		{
			Candidate  *c;
			ItemPointerData tid;

			IvfInt64ToTid(list->tids[r], &tid);
			if (so->ntombs > 0 &&
				bsearch(&tid, so->tombs, so->ntombs, sizeof(ItemPointerData), CompareTids) != NULL)
				continue;
			c = &cands[r];
			c->tid = tid;
			c->row = segment->list_start[l] + r;
			if (so->null_query)
				c->key = 0;
			else if (so->metric == IVF_METRIC_INNER_PRODUCT)
			{
				/* the largest the inner product can be gives the smallest -<o, q> */
				c->key = -(estimate[r] + error[r] + list->factors[r].centroid_dot + qc_dot);
			}
			else
			{
				float		rn = list->factors[r].residual_norm;

				c->key = FromSquaredL2(so->metric,
									   rn * rn + qc_norm2 - 2 * (estimate[r] + error[r]));
			}
			pairingheap_add(so->candidates, &c->node);
		}
		pfree(estimate);
		pfree(error);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(prepared);
}

/* Exact distances for the best 'rerank' candidates. */
static void
Rerank(IvfScanOpaque so)
{
	int			n = 0;

	while (n < so->rerank && !pairingheap_is_empty(so->candidates))
	{
		Candidate  *c = pairingheap_container(Candidate, node,
											  pairingheap_remove_first(so->candidates));

		so->batch[n] = c;
		so->rows[n] = (uint64) c->row;
		n++;
	}
	if (so->null_query)
	{
		for (int i = 0; i < n; i++)
		{
			so->batch[i]->distance = 0;
			pairingheap_add(so->results, &so->batch[i]->node);
		}
		return;
	}
	IvfSegmentFetchVectors(so->segment, so->rows, n, so->fetched);
	for (int i = 0; i < n; i++)
	{
		so->batch[i]->distance = IvfDistance(so->metric, so->query,
											 so->fetched + (size_t) i * so->dims, so->dims);
		pairingheap_add(so->results, &so->batch[i]->node);
	}
}

typedef struct ListDistance
{
	float		distance;
	int32		list;
} ListDistance;

static int
CompareListDistance(const void *a, const void *b)
{
	const ListDistance *x = a;
	const ListDistance *y = b;

	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	return (x->list > y->list) - (x->list < y->list);
}

static void
SortLists(int32 *order, const float *distances, int lists)
{
	ListDistance *pairs = palloc(sizeof(ListDistance) * lists);

	for (int i = 0; i < lists; i++)
	{
		pairs[i].distance = distances[i];
		pairs[i].list = i;
	}
	qsort(pairs, lists, sizeof(ListDistance), CompareListDistance);
	for (int i = 0; i < lists; i++)
		order[i] = pairs[i].list;
	pfree(pairs);
}

static void
StartScan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	ScanKey		key = &scan->orderByData[0];
	char	   *name;
	uint64		delta_min = 0;

	IvfMetaRead(index, &so->meta);
	so->dims = so->meta.dims;
	so->candidates = pairingheap_allocate(CompareKey, NULL);
	so->results = pairingheap_allocate(CompareDistance, NULL);
	so->null_query = (key->sk_flags & SK_ISNULL) != 0;
	if (!so->null_query)
	{
		Vector	   *v = DatumGetVector(key->sk_argument);

		if (so->dims == 0)
			so->dims = v->dim;	/* an empty index: nothing to compare */
		if (v->dim != so->dims)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("expected %d dimensions, not %d", so->dims, v->dim)));
		so->query = palloc(sizeof(float) * so->dims);
		if (!IvfPrepareVector(so->metric, v->x, v->dim, so->query))
			so->null_query = true;	/* a zero query under cosine: distances are NaN */
	}

	name = IvfVisibleSegment(index, scan->xs_snapshot);
	if (name != NULL)
	{
		int			lists;
		float	   *distances;

		so->segment = IvfSegmentGet(index, name);
		if (so->segment->header.dims != so->dims)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("lance_ivf segment \"%s\" has %d dimensions, the index %d",
							name, so->segment->header.dims, so->dims)));
		delta_min = so->segment->header.delta_upto;
		lists = so->segment->header.lists;
		so->list_order = palloc(sizeof(int32) * lists);
		distances = palloc(sizeof(float) * lists);
		if (so->null_query)
			memset(distances, 0, sizeof(float) * lists);
		else if (so->metric == IVF_METRIC_INNER_PRODUCT)
		{
			/* lists with the largest <c, q> first */
			vector_kernels->inner_product_batch(so->query, so->segment->centroids, so->dims,
												lists, distances);
			for (int i = 0; i < lists; i++)
				distances[i] = -distances[i];
		}
		else
			vector_kernels->l2_squared_batch(so->query, so->segment->centroids, so->dims,
											 lists, distances);
		SortLists(so->list_order, distances, lists);
		pfree(distances);
		if (!so->null_query)
		{
			so->rotated_query = palloc(sizeof(float) * RabitqPaddedDims(so->segment->rotation));
			RabitqRotate(so->segment->rotation, so->query, so->rotated_query);
		}
		so->ntombs = IvfTombLoad(index, &so->meta, so->segment->header.tomb_upto, &so->tombs);
		so->fetched = palloc_extended(sizeof(float) * (size_t) so->rerank * so->dims,
									  MCXT_ALLOC_HUGE);
		so->rows = palloc(sizeof(uint64) * so->rerank);
		so->batch = palloc(sizeof(Candidate *) * so->rerank);
		ProbeLists(so, so->null_query ? lists : so->probes);
	}
	if (so->meta.delta_head != InvalidBlockNumber && so->dims > 0)
		IvfDeltaScan(index, &so->meta, so->dims, delta_min, PG_UINT64_MAX, DeltaRow, so);
	so->started = true;
}

bool
IvfGetTuple(IndexScanDesc scan, ScanDirection dir)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;
	MemoryContext old = MemoryContextSwitchTo(so->cxt);

	if (dir != ForwardScanDirection)
		elog(ERROR, "lance_ivf scans only forward");
	if (scan->numberOfOrderBys != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lance_ivf scans need ORDER BY a distance operator")));
	if (!so->started)
	{
		pgstat_count_index_scan(scan->indexRelation);
		StartScan(scan);
	}

	for (;;)
	{
		bool		have_candidates = !pairingheap_is_empty(so->candidates);
		bool		have_results = !pairingheap_is_empty(so->results);

		if (have_candidates &&
			(!have_results ||
			 pairingheap_container(Candidate, node, pairingheap_first(so->candidates))->key <
			 pairingheap_container(Candidate, node, pairingheap_first(so->results))->distance))
		{
			Rerank(so);
			continue;
		}
		if (have_results)
		{
			Candidate  *c = pairingheap_container(Candidate, node,
												  pairingheap_remove_first(so->results));

			scan->xs_heaptid = c->tid;
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			scan->xs_orderbyvals[0] = Float8GetDatum(c->distance);
			scan->xs_orderbynulls[0] = so->null_query;
			MemoryContextSwitchTo(old);
			return true;
		}
		if (so->segment != NULL && so->lists_probed < so->segment->header.lists &&
			(ivf_max_candidates == 0 || so->considered < ivf_max_candidates))
		{
			/*
			 * A filter threw away what the probed lists held: probe twice as
			 * many lists each time, so that a selective filter reaches far
			 * without many rounds.
			 */
			so->expansions++;
			ProbeLists(so, (int) Min((int64) so->probes << Min(so->expansions, 16), INT_MAX));
			continue;
		}
		MemoryContextSwitchTo(old);
		return false;
	}
}

void
IvfEndScan(IndexScanDesc scan)
{
	IvfScanOpaque so = (IvfScanOpaque) scan->opaque;

	MemoryContextDelete(so->cxt);
	pfree(so);
	scan->opaque = NULL;
}
