/*
 * ivf_scan.c
 *	  Index scans of lance_ivf: rows in distance order for ORDER BY
 *	  <vector> <op> <query>, with exact distances (no recheck), or without
 *	  re-ranking in the order of estimated distances.
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
 * A segment built with B-bit codes (bits > 1) adds a stage in between: the
 * best candidates by their 1-bit bound get a B-bit estimate, several times
 * tighter, and it is by that estimate's lower bound that rows are picked for
 * re-ranking (RefineBits, then Rerank), so fewer are.
 * With rerank 0 nothing is re-ranked: the best candidates get their
 * estimate from their B-bit codes, or keep their 1-bit estimate, and rows
 * come out in the order of those estimates, which are what the scan returns
 * as their distances (still no recheck: the executor computes any distance
 * it projects itself; ivf_reuse.c hands only the sort an estimate).
 * Before a row is returned, the lists whose centroids lie within
 * lance_ivf.probe_radius times its distance are probed too (before the first
 * row, times the 10th row's: UnprobedListsNear), so a query whose rows come
 * from far away, because a WHERE clause rejects the near ones, searches the
 * lists out there.  When candidates and results run out (a WHERE clause
 * filtered away what came back), the next lists are probed, twice as many
 * each round, until the index is exhausted or lance_ivf.max_candidates rows
 * were considered: a query gets its LIMIT rows whenever the index has them.
 * Rows found in a later round, or in a list probed for a later row, may be
 * nearer than rows already returned (as with pgvector's iterative scans in
 * relaxed order): a query that needs strict order that deep sorts the
 * index's rows again.
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

/*
 * Lower bounds are estimate - BOUND_EPSILON standard deviations: RaBitQ's
 * bound (epsilon_0 = 1.9) holds for ~94% of rows; the error is close to
 * normal, so 3.3 / 1.9 of it holds for ~99.9%, and a row comes back out of
 * order only that rarely.  (A wider 1-bit bound ahead of B-bit codes, 4.5,
 * made B-bit scans with re-ranking a third slower on Fashion-MNIST: a 1-bit
 * bound that wide leaves half the probed rows to refine.)
 */
#define BOUND_EPSILON 3.3

/*
 * Without re-ranking, candidates get their B-bit estimate (or, with 1-bit
 * codes, keep their 1-bit estimate as their distance) this many at a time;
 * with B-bit codes and re-ranking, at most this many are re-ranked at a
 * time, since their B-bit bounds leave few to re-rank.
 */
#define REFINE_BATCH 16

/*
 * Before the first row, probing by distance (UnprobedListsNear) looks this
 * many rows ahead, so that the lists a LIMIT of up to this many rows needs
 * are all probed before any row is returned, and those rows come back in
 * order.
 */
#define FIRST_ROWS_LOOKAHEAD 10

/* See PastFirstRows */
#define FIRST_BATCH_MARGIN 0.1f

/*
 * A row with its distance (exact, or without re-ranking an estimate),
 * waiting in the results heap.  Few rows get one (the refined and the delta
 * area's), so a pairing heap of palloc'd nodes is cheap enough there.
 */
typedef struct ResultRow
{
	pairingheap_node node;
	double		distance;
	ItemPointerData tid;
	bool		exact;			/* not an estimate (rerank 0) */
} ResultRow;

/*
 * Probed rows wait for re-ranking in a heap of 8-byte entries by lower
 * bound (MinHeap), not a palloc'd node each: a probe adds hundreds of them
 * per list and most are never looked at again.  An entry's item numbers the
 * row among all rows of the lists probed so far, in probing order (see
 * CandidateRow), so nothing else is written per probed row.
 */
typedef struct MinHeapEntry
{
	float		key;
	int32		item;
} MinHeapEntry;

/*
 * A 4-ary min-heap by key.  Written out rather than lib/binaryheap.h, whose
 * comparator is a call through a pointer: the scan orders thousands of
 * entries per query and the comparisons are the work.  Four children of
 * 8 bytes share a cache line, and the heap is half as deep as a binary one.
 */
#define HEAP_ARITY 4

typedef struct MinHeap
{
	MinHeapEntry *entries;
	int			count;
	int			capacity;
} MinHeap;

static void
MinHeapSiftDown(MinHeap *heap, int i)
{
	MinHeapEntry *e = heap->entries;
	MinHeapEntry moving = e[i];

	for (;;)
	{
		int			first = HEAP_ARITY * i + 1;
		int			last = Min(first + HEAP_ARITY, heap->count);
		int			child = first;
		float		least;

		if (first >= heap->count)
			break;
		/*
		 * The least child, kept in a register and chosen by conditional
		 * moves: which one it is follows no pattern, and a branch per
		 * comparison was mispredicted half the time.
		 */
		least = e[first].key;
		for (int c = first + 1; c < last; c++)
		{
			bool		less = e[c].key < least;

			child = less ? c : child;
			least = less ? e[c].key : least;
		}
		if (!(least < moving.key))
			break;
		e[i] = e[child];
		i = child;
	}
	e[i] = moving;
}

/* Makes room for 'more' entries to be appended before MinHeapBuild. */
static void
MinHeapReserve(MinHeap *heap, int more)
{
	if (heap->count + more <= heap->capacity)
		return;
	heap->capacity = Max(heap->count + more, 2 * heap->capacity);
	heap->entries = heap->entries == NULL
		? palloc_extended(sizeof(MinHeapEntry) * (Size) heap->capacity, MCXT_ALLOC_HUGE)
		: repalloc_huge(heap->entries, sizeof(MinHeapEntry) * (Size) heap->capacity);
}

static void
MinHeapSiftUp(MinHeap *heap, int i)
{
	MinHeapEntry *e = heap->entries;
	MinHeapEntry moving = e[i];

	while (i > 0 && moving.key < e[(i - 1) / HEAP_ARITY].key)
	{
		e[i] = e[(i - 1) / HEAP_ARITY];
		i = (i - 1) / HEAP_ARITY;
	}
	e[i] = moving;
}

/*
 * Restores the heap order after entries [from, count) were appended: all at
 * once when they are most of the heap, else one by one.
 */
static void
MinHeapBuild(MinHeap *heap, int from)
{
	if (from < heap->count - from)
	{
		for (int i = (heap->count - 2) / HEAP_ARITY; i >= 0; i--)
			MinHeapSiftDown(heap, i);
	}
	else
	{
		for (int i = from; i < heap->count; i++)
			MinHeapSiftUp(heap, i);
	}
}

static MinHeapEntry
MinHeapPop(MinHeap *heap)
{
	MinHeapEntry first = heap->entries[0];

	heap->entries[0] = heap->entries[--heap->count];
	if (heap->count > 0)
		MinHeapSiftDown(heap, 0);
	return first;
}

/* The FIRST_ROWS_LOOKAHEAD least of some values seen, ascending */
typedef struct LeastValues
{
	float		values[FIRST_ROWS_LOOKAHEAD];
	int			count;
} LeastValues;

/* The FIRST_ROWS_LOOKAHEAD-th least value, INFINITY until there are as many */
static inline float
LeastLast(const LeastValues *least)
{
	return least->count < FIRST_ROWS_LOOKAHEAD ? INFINITY :
		least->values[FIRST_ROWS_LOOKAHEAD - 1];
}

static inline void
LeastNote(LeastValues *least, float value)
{
	int			i = Min(least->count, FIRST_ROWS_LOOKAHEAD - 1);

	if (!(value < LeastLast(least)))
		return;
	if (least->count < FIRST_ROWS_LOOKAHEAD)
		least->count++;
	while (i > 0 && least->values[i - 1] > value)
	{
		least->values[i] = least->values[i - 1];
		i--;
	}
	least->values[i] = value;
}

typedef struct IvfScanOpaqueData
{
	MemoryContext cxt;			/* reset at every rescan */
	IvfMetric	metric;
	IvfMetaPageData meta;
	int			dims;
	bool		started;
	bool		null_query;
	uint64		reuse_id;		/* for ivf_reuse.c; 0: distances not reusable */
	Vector	   *query_vector;	/* as given (ivf_reuse.c compares it) */
	float	   *query;			/* prepared */
	float	   *rotated_query;	/* query rotated, RabitqPaddedDims floats */
	RabitqQuery *prepared;		/* the query for the list being probed */
	IvfSegment *segment;
	MinHeap		lists;			/* lists not probed yet, by centroid distance */
	bool	   *list_exact;		/* per list: its key in 'lists' is exact, not a bound */
	int			expansions;		/* times more lists were probed */
	int			probes;
	int			rerank;			/* 0: rows by estimate, no exact distance */
	int			batch;			/* candidates re-ranked (rerank 0: estimated) at a time */
	int			refine_batch;	/* candidates given B-bit estimates at a time */
	MinHeapEntry *refine_entries;	/* RefineBits' batch, refine_batch of them */
	int		   *refine_lists;	/* the list of each */
	int64	   *refine_rows;	/* and its row there */
	/* with B-bit codes, each probed list's prepared query, kept for RefineBits */
	RabitqQuery **list_query;
	int64		considered;
	int64		returned;		/* rows returned since the (re)scan */
	ItemPointer tombs;
	int			ntombs;
	int			ncands;			/* rows of the lists probed, numbered in order */
	int			nprobed;		/* lists probed (not empty) */
	int		   *probe_first;	/* per list probed: the number of its row 0 */
	int		   *probe_list;		/* per list probed: which */
	MinHeap		candidates;		/* by lower bound of the distance, 1-bit */
	MinHeap		deferred;		/* candidates not in that heap yet: an array */
	float		deferred_min;	/* the least key among them */
	LeastValues nearest_upper;	/* of the candidates' upper keys */
	LeastValues nearest_estimate;	/* of their 1-bit estimates (keys) */
	LeastValues nearest_exact;	/* of the exact distances found */
	MinHeap		refined;		/* with B-bit codes: by their lower bound, B-bit */
	pairingheap *results;		/* ResultRows by distance, smallest first */
	LanceArray	vectors;		/* re-ranked vectors read, not in place */
	uint64	   *rows;			/* the re-ranked batch (so->batch at most) */
	int		   *batch_lists;	/* the list of each */
	ItemPointerData *batch_tids;
	const float **batch_vectors;
	double	   *batch_distances;
} IvfScanOpaqueData;

typedef IvfScanOpaqueData *IvfScanOpaque;

static int
CompareDistance(const pairingheap_node *a, const pairingheap_node *b, void *arg)
{
	const ResultRow *x = pairingheap_const_container(ResultRow, node, a);
	const ResultRow *y = pairingheap_const_container(ResultRow, node, b);

	(void) arg;
	/*
	 * pairingheap keeps the largest first: invert for a min-heap.  NaN (an
	 * inner product of infinities) comes after every number, as float8's
	 * ordering has it.
	 */
	if (isnan(x->distance) || isnan(y->distance))
		return isnan(x->distance) ? (isnan(y->distance) ? 0 : -1) : 1;
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
	IvfForgetScan(so->reuse_id);
	so->reuse_id = 0;
	so->started = false;
	so->segment = NULL;
	so->expansions = 0;
	so->considered = 0;
	so->returned = 0;
}

/* Distance on the operator's scale from a squared L2 distance of prepared vectors. */
static inline double
FromSquaredL2(IvfMetric metric, double squared)
{
	if (squared < 0)
		squared = 0;
	return metric == IVF_METRIC_COSINE ? squared / 2 : sqrt(squared);
}

/*
 * A candidate's key on the operator's scale.  Keys of L2 and cosine scans are
 * squared L2 distances (the same order, without a square root per row).
 */
static inline double
KeyDistance(IvfScanOpaque so, float key)
{
	return so->metric == IVF_METRIC_INNER_PRODUCT ? key : FromSquaredL2(so->metric, key);
}

/*
 * Keys from vectors of huge magnitude: a distance past FLT_MAX is infinite,
 * and a key that adds and subtracts infinities is NaN, which compares false
 * with everything and would leave its row in the heap for good.  A NaN
 * lower bound says nothing, so it is minus infinity (the row is re-ranked
 * first and gets its exact distance); a NaN list key sends the list last,
 * and so does a NaN estimate that is a row's key without re-ranking (bound
 * 0: the row comes back last, its distance unknown).
 */
static inline float
LowerKey(float key, float bound)
{
	return isnan(key) ? (bound > 0 ? -INFINITY : INFINITY) : key;
}

static inline float
UpperKey(float key)
{
	return isnan(key) ? INFINITY : key;
}

static void
AddResult(IvfScanOpaque so, ItemPointer tid, double distance, bool exact)
{
	ResultRow  *r = palloc(sizeof(ResultRow));

	r->tid = *tid;
	r->distance = distance;
	r->exact = exact;
	pairingheap_add(so->results, &r->node);
	if (exact)
		LeastNote(&so->nearest_exact, (float) distance);
}

static void
DeltaRow(void *arg, ItemPointer tid, const float *vector)
{
	IvfScanOpaque so = (IvfScanOpaque) arg;

	AddResult(so, tid, so->null_query ? 0 : IvfDistance(so->metric, so->query, vector, so->dims),
			  true);
}

/*
 * The FIRST_ROWS_LOOKAHEAD-th least upper key (the key with the error bound
 * the other way) of the candidates so far: a candidate whose key is above it
 * has that many candidates surely nearer, and a query of a few rows never
 * looks at it.  ProbeLists puts such candidates aside (so->deferred), out of
 * the heap, which then orders the few that matter instead of every probed
 * row; NextCandidates brings them in should the nearer ones run out.
 */
static inline float
NearestUpper(IvfScanOpaque so)
{
	return LeastLast(&so->nearest_upper);
}

/*
 * Whether any candidate is left; if so, the heap's first entry is the one
 * with the least key, the deferred candidates joining the heap once one of
 * them could be it.
 */
static bool
NextCandidates(IvfScanOpaque so)
{
	if (so->deferred.count > 0 &&
		(so->candidates.count == 0 || so->candidates.entries[0].key > so->deferred_min))
	{
		int			from = so->candidates.count;

		MinHeapReserve(&so->candidates, so->deferred.count);
		memcpy(so->candidates.entries + from, so->deferred.entries,
			   sizeof(MinHeapEntry) * (Size) so->deferred.count);
		so->candidates.count += so->deferred.count;
		so->deferred.count = 0;
		so->deferred_min = INFINITY;
		MinHeapBuild(&so->candidates, from);
	}
	return so->candidates.count > 0;
}

/*
 * Brings the list with the least exact key to the front of so->lists.  With
 * bounds from coarse.c, a list's bound gives way to its exact key when it
 * reaches the front, until the front one is exact: a bound is never above
 * its key, so no list whose key is less can be behind it, and lists are
 * probed in the order exact keys for all of them would give.
 */
static void
ExactFrontList(IvfScanOpaque so)
{
	while (so->lists.count > 0 && !so->list_exact[so->lists.entries[0].item])
	{
		int			l = so->lists.entries[0].item;
		const float *centroid = so->segment->centroids + (size_t) l * so->dims;

		/*
		 * A list at the front is about to be probed, most likely: its rotated
		 * centroid, which the probe's query preparation reads next, comes in
		 * while the key is computed from the plain one.
		 */
		if (!so->null_query)
		{
			size_t		padded = RabitqPaddedDims(so->segment->rotation);
			const char *rotated = (const char *) (so->segment->rotated_centroids +
												  (size_t) l * padded);

			for (size_t offset = 0; offset < sizeof(float) * padded; offset += 64)
				__builtin_prefetch(rotated + offset);
		}

		so->lists.entries[0].key = UpperKey(so->metric == IVF_METRIC_INNER_PRODUCT ?
											-vector_kernels->inner_product(so->query, centroid, so->dims) :
											vector_kernels->l2_squared(so->query, centroid, so->dims));
		so->list_exact[l] = true;
		MinHeapSiftDown(&so->lists, 0);
	}
}

/*
 * Probe the next 'count' lists, or fewer: those whose key (squared centroid
 * distance, or minus the inner product) is at most max_key.  Every live row
 * becomes a candidate.
 */
static void
ProbeLists(IvfScanOpaque so, int count, float max_key)
{
	IvfSegment *segment = so->segment;
	float	   *lowers = NULL;	/* of each row's key, and its upper key */
	float	   *uppers = NULL;
	int64		scratch = 0;
	int			from = so->candidates.count;

	for (int i = 0; i < count; i++)
	{
		int			l;
		IvfList    *list;
		MinHeapEntry *near;
		MinHeapEntry *far;
		/*
		 * Without re-ranking and without B-bit codes the key is the estimate
		 * itself, the distance the row is returned with.
		 */
		float		bound = segment->header.bits == 1 && so->rerank == 0 ? 0.0f :
			(float) (BOUND_EPSILON / RABITQ_EPSILON0);
		int			nnear = 0;
		int			nfar = 0;
		float		upper_cut;
		float		estimate_cut;
		float		deferred_min;

		ExactFrontList(so);
		if (so->lists.count == 0 || so->lists.entries[0].key > max_key)
			break;
		l = MinHeapPop(&so->lists).item;
		list = IvfSegmentList(segment, l);
		if (list->count == 0)
			continue;
		so->considered += list->count;
		if (list->count > scratch)
		{
			if (lowers != NULL)
				pfree(lowers), pfree(uppers);
			scratch = list->count;
			lowers = palloc(sizeof(float) * scratch);
			uppers = palloc(sizeof(float) * scratch);
		}
		if (list->count > INT_MAX - so->ncands)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a lance_ivf scan cannot consider more than %d rows", INT_MAX)));
		so->probe_first[so->nprobed] = so->ncands;
		so->probe_list[so->nprobed++] = l;
		MinHeapReserve(&so->candidates, (int) list->count);
		MinHeapReserve(&so->deferred, (int) list->count);
		near = so->candidates.entries + so->candidates.count;
		far = so->deferred.entries + so->deferred.count;

		if (so->null_query)
		{
			/* no distance is known: keys of 0, all alike */
			memset(lowers, 0, sizeof(float) * list->count);
			memset(uppers, 0, sizeof(float) * list->count);
		}
		else
		{
			/* B-bit estimates of this list's rows come later: keep its query */
			RabitqQuery *prepared = so->prepared;

			if (segment->header.bits > 1)
				prepared = so->list_query[l] = palloc(RabitqQuerySize(segment->rotation));
			RabitqQueryPrepareRotated(segment->rotation, so->rotated_query,
									  segment->rotated_centroids +
									  (size_t) l * RabitqPaddedDims(segment->rotation),
									  prepared);
			/*
			 * Keys of L2 and cosine scans are squared distances; of inner
			 * product scans -<o, q>, so that the largest the inner product
			 * can be gives the least key.
			 */
			RabitqEstimateBounds(prepared, list->codes, list->factors, list->count, bound,
								 so->metric == IVF_METRIC_INNER_PRODUCT, lowers, uppers);
		}
		/*
		 * The cuts live in locals: every row compares with them, few change
		 * them, and through 'so' each store would reload them.
		 */
		upper_cut = NearestUpper(so);
		estimate_cut = LeastLast(&so->nearest_estimate);
		deferred_min = so->deferred_min;
		for (int64 r = 0; r < list->count; r++)
		{
			int32		item = so->ncands + (int32) r;
			float		key;
			float		upper;
			float		middle;

			if (so->ntombs > 0)
			{
				ItemPointerData tid;

				IvfInt64ToTid(list->tids[r], &tid);
				if (bsearch(&tid, so->tombs, so->ntombs, sizeof(ItemPointerData),
							CompareTids) != NULL)
					continue;
			}
			key = LowerKey(lowers[r], bound);
			upper = UpperKey(uppers[r]);
			if (upper < upper_cut)
			{
				LeastNote(&so->nearest_upper, upper);
				upper_cut = NearestUpper(so);
			}
			middle = (key + upper) / 2;
			if (middle < estimate_cut)
			{
				LeastNote(&so->nearest_estimate, middle);
				estimate_cut = LeastLast(&so->nearest_estimate);
			}
			if (key <= upper_cut)
			{
				near[nnear].key = key;
				near[nnear++].item = item;
			}
			else
			{
				far[nfar].key = key;
				far[nfar++].item = item;
				deferred_min = Min(deferred_min, key);
			}
		}
		so->deferred_min = deferred_min;
		so->ncands += (int) list->count;
		so->candidates.count += nnear;
		so->deferred.count += nfar;
		CHECK_FOR_INTERRUPTS();
	}
	MinHeapBuild(&so->candidates, from);
	if (lowers != NULL)
		pfree(lowers), pfree(uppers);
}

/*
 * Candidate 'item' (see MinHeapEntry): its list, in *list, and its row in
 * that list.  The lists probed hold consecutive numbers, in probing order.
 */
static int64
CandidateRow(IvfScanOpaque so, int32 item, int *list)
{
	int			low = 0;
	int			high = so->nprobed - 1;

	/* the last list probed whose first number is at or before item */
	while (low < high)
	{
		int			mid = low + (high - low + 1) / 2;

		if (so->probe_first[mid] <= item)
			low = mid;
		else
			high = mid - 1;
	}
	*list = so->probe_list[low];
	return item - so->probe_first[low];
}

/* The TID of row r of list l, which was probed (so its TIDs are loaded) */
static void
ListRowTid(IvfScanOpaque so, int l, int64 r, ItemPointer tid)
{
	IvfInt64ToTid(IvfSegmentList(so->segment, l)->tids[r], tid);
}

/*
 * The key of row r of list l from its B-bit code (as ProbeLists keys from
 * the 1-bit one): the estimate 'bound' error bounds nearer, on the key's
 * scale.
 */
static float
ExKey(IvfScanOpaque so, int l, int64 r, float bound)
{
	IvfSegment *segment = so->segment;
	IvfList    *list = IvfSegmentList(segment, l);
	const uint8 *ex_code = list->ex_codes + (size_t) r * segment->header.ex_code_bytes;
	const RabitqQuery *query = so->list_query[l];
	float		qc_norm2 = RabitqQueryResidualNormSquared(query);
	float		error;
	float		estimate;

	estimate = RabitqExEstimate(query, segment->header.bits, ex_code, &list->ex_factors[r],
								&error);
	if (so->metric == IVF_METRIC_INNER_PRODUCT)
		return LowerKey(-(estimate + bound * error + list->factors[r].centroid_dot +
						  RabitqQueryCentroidDot(query)), bound);
	return LowerKey(list->factors[r].residual_norm * list->factors[r].residual_norm +
					qc_norm2 - 2 * (estimate + bound * error), bound);
}

/*
 * Ask the CPU for a candidate's B-bit code and factors ahead of ExKey: the
 * best candidates lie scattered over the segment, and a batch's loads then
 * overlap instead of stalling one after another.
 */
static void
ExPrefetch(IvfScanOpaque so, int l, int64 r)
{
	IvfSegment *segment = so->segment;
	IvfList    *list = IvfSegmentList(segment, l);
	const uint8 *ex_code = list->ex_codes + (size_t) r * segment->header.ex_code_bytes;

	for (int offset = 0; offset < segment->header.ex_code_bytes; offset += 64)
		__builtin_prefetch(ex_code + offset);
	__builtin_prefetch(&list->ex_factors[r]);
	__builtin_prefetch(&list->factors[r]);
}

/*
 * The best candidates by 1-bit lower bound (so->refine_batch of them) get their
 * B-bit estimate: without re-ranking that is their distance, a result;
 * otherwise its lower bound orders them for re-ranking (so->refined).
 */
static void
RefineBits(IvfScanOpaque so)
{
	int			from = so->refined.count;
	int			n = 0;

	while (n < so->refine_batch && NextCandidates(so))
	{
		MinHeapEntry entry = MinHeapPop(&so->candidates);

		so->refine_entries[n] = entry;
		so->refine_rows[n] = CandidateRow(so, entry.item, &so->refine_lists[n]);
		if (!so->null_query)
			ExPrefetch(so, so->refine_lists[n], so->refine_rows[n]);
		n++;
	}
	if (so->rerank > 0)
		MinHeapReserve(&so->refined, n);
	for (int i = 0; i < n; i++)
	{
		MinHeapEntry entry = so->refine_entries[i];
		int			l = so->refine_lists[i];
		int64		r = so->refine_rows[i];

		if (so->rerank == 0)
		{
			ItemPointerData tid;

			ListRowTid(so, l, r, &tid);
			AddResult(so, &tid, so->null_query ? 0 : KeyDistance(so, ExKey(so, l, r, 0)), false);
			continue;
		}
		entry.key = so->null_query ? 0 :
			ExKey(so, l, r, (float) (BOUND_EPSILON / RABITQ_EPSILON0));
		so->refined.entries[so->refined.count++] = entry;
	}
	MinHeapBuild(&so->refined, from);
}

/*
 * Whether a batch of re-ranking that holds n candidates already should end
 * before the next one, whose lower bound is 'key', because that one cannot
 * be among the query's first FIRST_ROWS_LOOKAHEAD rows (a query of more rows
 * re-ranks whole batches once it has them):
 *	- once as many exact distances are known, it cannot if its bound is
 *	  above the FIRST_ROWS_LOOKAHEAD-th least of them;
 *	- before that, with 1-bit codes, the first batch ends where the bounds
 *	  pass the FIRST_ROWS_LOOKAHEAD-th least estimate, plus a tenth of the
 *	  way from it to the FIRST_ROWS_LOOKAHEAD-th least upper bound.  The
 *	  exact distances of those rows are near their estimates, so this is
 *	  about where the first rule would stop, learnt without reading any
 *	  vector.  Whole batches re-ranked 49 vectors a query on Fashion-MNIST
 *	  (probes 4, rerank 40) where about 35 could be among the first 10
 *	  rows; batches of 10 needed four rounds.  Either rule only ends a
 *	  batch: the scan's loop re-ranks whatever candidate could still come
 *	  before its next row.
 */
static bool
PastFirstRows(IvfScanOpaque so, MinHeap *heap, float key, int n)
{
	float		estimate;

	if (so->rerank == 0 || so->null_query || so->returned >= FIRST_ROWS_LOOKAHEAD)
		return false;
	if (so->nearest_exact.count == FIRST_ROWS_LOOKAHEAD)
		return KeyDistance(so, key) >= LeastLast(&so->nearest_exact);
	if (heap != &so->candidates || n + so->nearest_exact.count < FIRST_ROWS_LOOKAHEAD)
		return false;
	estimate = LeastLast(&so->nearest_estimate);
	return key > estimate + FIRST_BATCH_MARGIN * (NearestUpper(so) - estimate);
}

/*
 * Re-ranked vectors are random pieces of a large file, each a cache miss
 * and, past a page boundary, a TLB miss.  The gather kernel walks eight of
 * them at a time (IvfDistanceMany); touching the first line of every vector
 * of the batch and of each page it crosses first lets the memory system
 * start on all of them at once, and the kernel's own prefetches and the
 * hardware prefetcher follow each vector from there.
 */
static void
PrefetchVectors(const float **vectors, int n, int dims)
{
	for (int i = 0; i < n; i++)
	{
		const char *p = (const char *) vectors[i];
		const char *end = p + sizeof(float) * (size_t) dims;

		__builtin_prefetch(p);
		for (p = (const char *) TYPEALIGN(4096, (uintptr_t) p + 1); p < end; p += 4096)
			__builtin_prefetch(p);
	}
}

/*
 * Exact distances of the batch's n rows (so->rows) into so->batch_distances,
 * from their vectors where the runtime has them (the file's pages, no copy)
 * and measured before that pin ends.
 */
static void
MeasureBatch(IvfScanOpaque so, int n)
{
	IvfSegmentBeginViews(so->segment);
	PG_TRY();
	{
		IvfSegmentFetchVectors(so->segment, so->rows, n, so->batch_vectors, &so->vectors);
		PrefetchVectors(so->batch_vectors, n, so->dims);
		IvfDistanceMany(so->metric, so->query, so->batch_vectors, n, so->dims,
						so->batch_distances);
	}
	PG_FINALLY();
	{
		IvfSegmentEndViews(so->segment);
	}
	PG_END_TRY();
}

/*
 * Distances for the best candidates: exact ones for 'rerank' of them (by
 * their B-bit lower bound if the segment has B-bit codes, else their 1-bit
 * one), their vectors read from the segment; without re-ranking (only with
 * 1-bit codes: see RefineBits) their 1-bit estimate, which is their key.
 *
 * The candidates' TIDs are as scattered as their vectors, and nothing of
 * a probe read them: each was a cache miss of its own, most of this
 * function's time when it waited on them one by one.  They are asked for
 * first and read after the vectors were measured.
 */
static void
Rerank(IvfScanOpaque so)
{
	MinHeap    *heap = so->segment->header.bits > 1 ? &so->refined : &so->candidates;
	bool		measure = so->rerank > 0 && !so->null_query;
	int			n = 0;

	while (n < so->batch && (heap == &so->refined ? heap->count > 0 : NextCandidates(so)) &&
		   !(n > 0 && PastFirstRows(so, heap, heap->entries[0].key, n)))
	{
		MinHeapEntry entry = MinHeapPop(heap);
		int			l;
		int64		r = CandidateRow(so, entry.item, &l);

		if (measure)
		{
			__builtin_prefetch(&IvfSegmentList(so->segment, l)->tids[r]);
			so->batch_lists[n] = l;
			so->rows[n] = (uint64) (so->segment->list_start[l] + r);
		}
		else
		{
			ListRowTid(so, l, r, &so->batch_tids[n]);
			AddResult(so, &so->batch_tids[n],
					  so->null_query ? 0 : KeyDistance(so, entry.key), so->rerank > 0);
		}
		n++;
	}
	if (!measure)
		return;
	MeasureBatch(so, n);
	for (int i = 0; i < n; i++)
	{
		int			l = so->batch_lists[i];

		ListRowTid(so, l, (int64) so->rows[i] - so->segment->list_start[l], &so->batch_tids[i]);
		AddResult(so, &so->batch_tids[i], so->batch_distances[i], true);
	}
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
	memset(&so->candidates, 0, sizeof(MinHeap));
	memset(&so->deferred, 0, sizeof(MinHeap));
	so->deferred_min = INFINITY;
	memset(&so->nearest_upper, 0, sizeof(LeastValues));
	memset(&so->nearest_estimate, 0, sizeof(LeastValues));
	memset(&so->nearest_exact, 0, sizeof(LeastValues));
	memset(&so->refined, 0, sizeof(MinHeap));
	memset(&so->lists, 0, sizeof(MinHeap));
	so->ncands = so->nprobed = 0;
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
		else
		{
			so->query_vector = v;
			so->reuse_id = IvfReuseScanId();
		}
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
		distances = palloc(sizeof(float) * lists);
		so->list_exact = palloc(sizeof(bool) * lists);
		so->probe_first = palloc(sizeof(int) * lists);
		so->probe_list = palloc(sizeof(int) * lists);
		memset(so->list_exact, so->null_query || so->segment->coarse == NULL, sizeof(bool) * lists);
		if (so->null_query)
			memset(distances, 0, sizeof(float) * lists);
		else if (so->segment->coarse != NULL)
		{
			/* bounds now, exact keys as lists come to the front (ExactFrontList) */
			void	   *scratch = palloc(IvfCoarseScratchSize(so->segment->coarse));

			IvfCoarseBounds(so->segment->coarse, so->query,
							so->metric == IVF_METRIC_INNER_PRODUCT, true, scratch, distances);
			pfree(scratch);
		}
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
		MinHeapReserve(&so->lists, lists);
		for (int i = 0; i < lists; i++)
		{
			so->lists.entries[i].key = UpperKey(distances[i]);
			so->lists.entries[i].item = i;
		}
		so->lists.count = lists;
		MinHeapBuild(&so->lists, 0);
		pfree(distances);
		if (!so->null_query)
		{
			so->rotated_query = palloc(sizeof(float) * RabitqPaddedDims(so->segment->rotation));
			RabitqRotate(so->segment->rotation, so->query, so->rotated_query);
		}
		so->ntombs = IvfTombLoad(index, &so->meta, so->segment->header.tomb_upto, &so->tombs);
		LanceArrayInit(&so->vectors, SideLanceAllocator());
		so->prepared = palloc(RabitqQuerySize(so->segment->rotation));
		/*
		 * 'rerank' candidates are examined at a time: re-ranked, or with
		 * B-bit codes refined, then re-ranked REFINE_BATCH at most at a time
		 */
		so->refine_batch = so->rerank > 0 ? so->rerank : REFINE_BATCH;
		so->batch = so->rerank == 0 ? REFINE_BATCH :
			so->segment->header.bits > 1 ? Min(so->rerank, REFINE_BATCH) : so->rerank;
		so->rows = palloc(sizeof(uint64) * so->batch);
		so->batch_lists = palloc(sizeof(int) * so->batch);
		so->batch_tids = palloc(sizeof(ItemPointerData) * so->batch);
		so->batch_vectors = palloc(sizeof(float *) * so->batch);
		so->batch_distances = palloc(sizeof(double) * so->batch);
		if (so->segment->header.bits > 1)
		{
			so->list_query = palloc0(sizeof(RabitqQuery *) * lists);
			so->refine_entries = palloc(sizeof(MinHeapEntry) * so->refine_batch);
			so->refine_lists = palloc(sizeof(int) * so->refine_batch);
			so->refine_rows = palloc(sizeof(int64) * so->refine_batch);
		}
		ProbeLists(so, so->null_query ? lists : so->probes, INFINITY);
	}
	if (so->meta.delta_head != InvalidBlockNumber && so->dims > 0)
		IvfDeltaScan(index, &so->meta, so->dims, delta_min, PG_UINT64_MAX, DeltaRow, so);
	so->started = true;
}

/*
 * The distance of the FIRST_ROWS_LOOKAHEAD-th nearest row with an exact
 * distance so far (of the farthest, when there are fewer).
 */
static double
LookaheadDistance(IvfScanOpaque so)
{
	ResultRow   *taken[FIRST_ROWS_LOOKAHEAD];
	int			n = 0;
	double		distance;

	while (n < FIRST_ROWS_LOOKAHEAD && !pairingheap_is_empty(so->results))
		taken[n++] = pairingheap_container(ResultRow, node,
										   pairingheap_remove_first(so->results));
	distance = n > 0 ? taken[n - 1]->distance : 0;
	while (n > 0)
		pairingheap_add(so->results, &taken[--n]->node);
	return distance;
}

/*
 * Before a row at 'distance' is returned: are there lists not probed yet
 * whose centroid is within lance_ivf.probe_radius times that distance?  If
 * so, *max_key is the key up to which to probe them.  The true neighbours of
 * a query lie in lists whose centroids are about as far as they are (on
 * Fashion-MNIST, a centroid at most 1.21 times as far as the 10th neighbour
 * among 1% of the rows, 1.64 among all): a query whose rows come from far
 * away, because a WHERE clause rejects the near ones, probes the lists out
 * there before it returns rows that those lists could beat, while a query
 * whose neighbours are near stays within its probes.  L2 and cosine only:
 * an inner product says nothing about how far a centroid is.  Before the
 * first row, 'distance' is the FIRST_ROWS_LOOKAHEAD-th row's; a list probed
 * for a later row can still hold a row nearer than one already returned,
 * where the radius misses it.
 */
static bool
UnprobedListsNear(IvfScanOpaque so, double distance, float *max_key)
{
	double		l2;
	double		radius;

	if (ivf_probe_radius <= 0 || so->segment == NULL || so->lists.count == 0 ||
		so->null_query || so->metric == IVF_METRIC_INNER_PRODUCT ||
		(ivf_max_candidates > 0 && so->considered >= ivf_max_candidates))
		return false;
	/* cosine distances of unit vectors are half their squared L2 distance */
	l2 = so->metric == IVF_METRIC_COSINE ? sqrt(2 * Max(distance, 0)) : distance;
	radius = ivf_probe_radius * l2;
	*max_key = (float) (radius * radius);
	ExactFrontList(so);
	return so->lists.count > 0 && so->lists.entries[0].key <= *max_key;
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
		float		max_key;
		bool		have_results = !pairingheap_is_empty(so->results);
		double		best = have_results ?
			pairingheap_container(ResultRow, node, pairingheap_first(so->results))->distance :
			INFINITY;
		/*
		 * Whether the first result may go before candidates whose keys are
		 * not below it.  Not while there is none, nor when it is NaN (it goes
		 * after every candidate): then every candidate is looked at first,
		 * even one whose key is infinite (a distance past FLT_MAX, or an
		 * estimate that was NaN), which no comparison would let through.
		 */
		bool		settled = have_results && !isnan(best);
		bool		have_candidates = NextCandidates(so);
		double		refined_key = so->refined.count > 0 ?
			KeyDistance(so, so->refined.entries[0].key) : INFINITY;

		if (!settled)
			best = INFINITY;

		/* the 1-bit stage, then with B-bit codes the B-bit one, then exact */
		if (have_candidates &&
			(KeyDistance(so, so->candidates.entries[0].key) < Min(best, refined_key) ||
			 (!settled && so->refined.count == 0)))
		{
			if (so->segment->header.bits > 1)
				RefineBits(so);
			else
				Rerank(so);
			continue;
		}
		if (so->refined.count > 0 && (refined_key < best || !settled))
		{
			Rerank(so);
			continue;
		}
		if (have_results &&
			UnprobedListsNear(so, so->returned == 0 ? LookaheadDistance(so) :
							  pairingheap_container(ResultRow, node,
													pairingheap_first(so->results))->distance,
							  &max_key))
		{
			ProbeLists(so, INT_MAX, max_key);
			continue;
		}
		if (have_results)
		{
			ResultRow   *c = pairingheap_container(ResultRow, node,
												 pairingheap_remove_first(so->results));

			so->returned++;
			scan->xs_heaptid = c->tid;
			scan->xs_recheck = false;
			scan->xs_recheckorderby = false;
			scan->xs_orderbyvals[0] = Float8GetDatum(c->distance);
			scan->xs_orderbynulls[0] = so->null_query;
			/*
			 * Cosine distances of normalised vectors can differ from the
			 * operator's in the last bits: never exact for a projection.
			 */
			if (so->reuse_id != 0)
				IvfRememberReturned(so->reuse_id, RelationGetRelid(scan->indexRelation),
									so->query_vector->x, so->query_vector->dim,
									&c->tid, c->distance,
									c->exact && so->metric != IVF_METRIC_COSINE);
			MemoryContextSwitchTo(old);
			return true;
		}
		if (so->segment != NULL && so->lists.count > 0 &&
			(ivf_max_candidates == 0 || so->considered < ivf_max_candidates))
		{
			/*
			 * A filter threw away what the probed lists held: probe twice as
			 * many lists each time, so that a selective filter reaches far
			 * without many rounds.
			 */
			so->expansions++;
			ProbeLists(so, (int) Min((int64) so->probes << Min(so->expansions, 16), INT_MAX),
					   INFINITY);
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

	IvfForgetScan(so->reuse_id);
	MemoryContextDelete(so->cxt);
	pfree(so);
	scan->opaque = NULL;
}
