/*
 * ivf_handler.c
 *	  The lance_ivf access method's entry point: its IndexAmRoutine, index
 *	  options, settings, costing, and what the three operator classes mean.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "access/reloptions.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "compat.h"
#include "ivf/ivf.h"
#include "ivf/ivf_math.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
#include "vector/distance.h"
#include "vector/vector.h"

int			ivf_probes = 10;
int			ivf_rerank = 16;
int			ivf_max_candidates = 0;
int			ivf_cache_size = 256 * 1024;
double		ivf_probe_radius = 1.5;

static relopt_kind ivf_relopt_kind;

void
IvfInit(void)
{
	ivf_relopt_kind = add_reloption_kind();
	add_int_reloption(ivf_relopt_kind, "lists",
					  "Number of lists (0: about sqrt(rows), from the row count at build)",
					  0, 0, 65536, AccessExclusiveLock);
	add_int_reloption(ivf_relopt_kind, "probes",
					  "Lists searched first (0: lance_ivf.probes)",
					  0, 0, 65536, AccessExclusiveLock);
	add_int_reloption(ivf_relopt_kind, "rerank",
					  "Candidates re-ranked with exact distances at a time (0: none; "
					  "-1: lance_ivf.rerank)",
					  -1, -1, 100000, AccessExclusiveLock);
	add_int_reloption(ivf_relopt_kind, "bits",
					  "Bits per dimension of the codes: 1, 2, 4 or 8 (from the next build)",
					  1, 1, 8, AccessExclusiveLock);

	DefineCustomIntVariable("lance_ivf.probes",
							"Lists a lance_ivf scan searches first.",
							"More lists: higher recall, slower queries.  An index's "
							"probes option overrides it.",
							&ivf_probes, 10, 1, 65536, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lance_ivf.rerank",
							"Candidates re-ranked with exact distances at a time (0: none).",
							"The best candidates by their RaBitQ estimate are re-ranked "
							"in groups of at most this many; a query's first rows only "
							"take those that could be among them.  With 0, rows are ordered by their "
							"estimated distances and none is computed exactly.  An index's "
							"rerank option overrides it.",
							&ivf_rerank, 16, 0, 100000, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lance_ivf.max_candidates",
							"Most candidates a scan considers before it stops (0: no limit).",
							"When a WHERE clause filters rows out, a scan searches more lists "
							"until the query has its rows, the index is exhausted or this "
							"many candidates were considered.",
							&ivf_max_candidates, 0, 0, INT_MAX, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("lance_ivf.probe_radius",
							 "Probe the lists whose centroid is within this many times "
							 "the distance of a row before returning it (0: off).",
							 "When a WHERE clause rejects the nearest rows, the rows a scan "
							 "returns come from farther away; lists out there are probed "
							 "first so that their rows come back in order.  L2 and cosine only.",
							 &ivf_probe_radius, 1.5, 0, 100, PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lance_ivf.cache_size",
							"Memory each backend keeps for the lists of lance_ivf indexes "
							"it has scanned.",
							"A scan reads the codes of the lists it probes from the index's "
							"side file into the backend's memory, where later scans find "
							"them.  Past this size the least recently used are freed when "
							"no scan holds them (0: after every scan).",
							&ivf_cache_size, 256 * 1024, 0, MAX_KILOBYTES, PGC_USERSET,
							GUC_UNIT_KB, NULL, NULL, NULL);
	MarkGUCPrefixReserved("lance_ivf");
}

static bytea *
IvfOptionsParse(Datum reloptions, bool validate)
{
	static const relopt_parse_elt tab[] = {
		{"lists", RELOPT_TYPE_INT, offsetof(IvfOptions, lists)},
		{"probes", RELOPT_TYPE_INT, offsetof(IvfOptions, probes)},
		{"rerank", RELOPT_TYPE_INT, offsetof(IvfOptions, rerank)},
		{"bits", RELOPT_TYPE_INT, offsetof(IvfOptions, bits)},
	};
	IvfOptions *options = (IvfOptions *) build_reloptions(reloptions, validate,
														  ivf_relopt_kind,
														  sizeof(IvfOptions), tab,
														  lengthof(tab));

	if (validate && options != NULL && !RabitqBitsSupported(options->bits))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for lance_ivf option \"bits\": %d", options->bits),
				 errdetail("Valid values are 1, 2, 4 and 8.")));
	return (bytea *) options;
}

/* The option, or 'fallback' when it is not set or below 'unset_below' */
static int
OptionOf(Relation index, size_t offset, int unset_below, int fallback)
{
	IvfOptions *options = (IvfOptions *) index->rd_options;
	int			value = options ? *(int *) ((char *) options + offset) : unset_below - 1;

	return value >= unset_below ? value : fallback;
}

int
IvfOptionProbes(Relation index)
{
	return OptionOf(index, offsetof(IvfOptions, probes), 1, ivf_probes);
}

int
IvfOptionRerank(Relation index)
{
	return OptionOf(index, offsetof(IvfOptions, rerank), 0, ivf_rerank);
}

int
IvfOptionLists(Relation index)
{
	return OptionOf(index, offsetof(IvfOptions, lists), 1, 0);
}

int
IvfOptionBits(Relation index)
{
	int			bits = OptionOf(index, offsetof(IvfOptions, bits), 1, 1);

	/* validated when set (IvfOptionsParse); this guards a catalog edited by hand */
	return RabitqBitsSupported(bits) ? bits : 1;
}

/* The operator class says the metric through its support function 1. */
IvfMetric
IvfIndexMetric(Relation index)
{
	Oid			proc = index_getprocid(index, 1, 1);
	char	   *name = OidIsValid(proc) ? get_func_name(proc) : NULL;

	if (name != NULL && strcmp(name, "l2_distance") == 0)
		return IVF_METRIC_L2;
	if (name != NULL && strcmp(name, "vector_negative_inner_product") == 0)
		return IVF_METRIC_INNER_PRODUCT;
	if (name != NULL && strcmp(name, "cosine_distance") == 0)
		return IVF_METRIC_COSINE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("operator class of index \"%s\" has no distance function lance_ivf knows",
					RelationGetRelationName(index))));
	return IVF_METRIC_L2;
}

bool
IvfPrepareVector(IvfMetric metric, const float *in, int dims, float *out)
{
	uint32		nonfinite = 0;
	double		norm[4] = {0, 0, 0, 0};
	int			i;

	/*
	 * Every build row and every query comes through here.  NaN and infinity
	 * are the floats whose exponent bits are all ones: OR-ed together without
	 * a branch, and the norm (cosine only) summed in four chains, so that
	 * neither loop waits on the previous element.
	 */
	for (i = 0; i < dims; i++)
	{
		uint32		bits;

		memcpy(&bits, &in[i], sizeof(bits));
		nonfinite |= (bits & 0x7f800000) == 0x7f800000;
	}
	if (nonfinite)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("lance_ivf cannot index a vector with NaN or infinity")));
	if (metric != IVF_METRIC_COSINE)
	{
		memcpy(out, in, sizeof(float) * dims);
		return true;
	}
	for (i = 0; i + 4 <= dims; i += 4)
		for (int j = 0; j < 4; j++)
			norm[j] += (double) in[i + j] * in[i + j];
	for (; i < dims; i++)
		norm[0] += (double) in[i] * in[i];
	norm[0] = (norm[0] + norm[1]) + (norm[2] + norm[3]);
	if (norm[0] == 0)
		return false;			/* cosine distance is undefined: not indexed */

	/*
	 * The operator sums the squares in single precision: past FLT_MAX / 2
	 * (with room for rounding, and for the inner product, which the two
	 * norms bound) a sum overflows and its distances are 1 or NaN; below
	 * dims * FLT_MIN, squares that are subnormal floats cost it more than a
	 * float's precision.  The index normalises in double and would order such
	 * rows by their true cosine, an order the operator does not give.
	 */
	if (norm[0] > FLT_MAX / 2 || norm[0] < (double) FLT_MIN * dims)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("lance_ivf cannot use a vector of squared norm %g for cosine distance",
						norm[0]),
				 errdetail("Cosine distances in single precision are accurate for squared norms "
						   "from %g to %g at %d dimensions.",
						   (double) FLT_MIN * dims, (double) (FLT_MAX / 2), dims)));
	norm[0] = sqrt(norm[0]);
	for (i = 0; i < dims; i++)
		out[i] = (float) (in[i] / norm[0]);
	return true;
}

/* The distance from the kernel's sum: l2_squared for L2, else inner_product */
static inline double
DistanceFromSum(IvfMetric metric, float sum)
{
	switch (metric)
	{
		case IVF_METRIC_L2:
			return sqrt((double) sum);
		case IVF_METRIC_INNER_PRODUCT:
			return -(double) sum;
		case IVF_METRIC_COSINE:
			{
				/* both normalised: 1 - cos = 1 - <a, b>, clamped as pgvector does */
				double		d = 1.0 - (double) sum;

				return d < 0 ? 0 : d > 2 ? 2 : d;
			}
	}
	return 0;
}

double
IvfDistance(IvfMetric metric, const float *a, const float *b, int dims)
{
	return DistanceFromSum(metric, metric == IVF_METRIC_L2 ?
						   vector_kernels->l2_squared(a, b, dims) :
						   vector_kernels->inner_product(a, b, dims));
}

void
IvfDistanceMany(IvfMetric metric, const float *a, const float *const vectors[], int n,
				int dims, double *out)
{
	float		sums[64];

	for (int done = 0; done < n; done += lengthof(sums))
	{
		int			count = Min(n - done, (int) lengthof(sums));

		if (metric == IVF_METRIC_L2)
			vector_kernels->l2_squared_gather(a, vectors + done, count, dims, sums);
		else
			vector_kernels->inner_product_gather(a, vectors + done, count, dims, sums);
		for (int i = 0; i < count; i++)
			out[done + i] = DistanceFromSum(metric, sums[i]);
	}
}

/*
 * Cost: reading the probed lists' codes and re-ranking, proportional to
 * probes / lists of the index.  Only ORDER BY <distance> LIMIT uses it.
 */
static void
IvfCostEstimate(PlannerInfo *root, IndexPath *path, double loop_count,
				Cost *startup_cost, Cost *total_cost, Selectivity *selectivity,
				double *correlation, double *pages)
{
	GenericCosts costs;
	IvfMetaPageData meta;
	Relation	index;
	int			lists;
	int			probes;
	double		ratio;

	/*
	 * A scan without ORDER BY <distance> cannot run (IvfGetTuple refuses
	 * it), so it must never win, not even against a sequential scan that
	 * enable_seqscan = off made cost disable_cost: a count(*) would plan an
	 * index-only scan of no columns.  Infinity, as pgvector's indexes do.
	 * Otherwise only ORDER BY <distance> with a LIMIT: without a limit the
	 * query wants every row in exact order, which only a sort of an exact
	 * search gives (the scan still works where nothing else may run).
	 */
	if (path->indexorderbys == NIL || root->limit_tuples < 0)
	{
		*startup_cost = *total_cost =
			path->indexorderbys == NIL ? get_float8_infinity() : disable_cost;
		*selectivity = 0;
		*correlation = 0;
		*pages = 0;
		return;
	}
	index = index_open(path->indexinfo->indexoid, NoLock);
	IvfMetaRead(index, &meta);
	probes = IvfOptionProbes(index);
	index_close(index, NoLock);
	lists = Max(meta.lists, 1);
	ratio = Min(1.0, (double) probes / lists);

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	/*
	 * Before the first row: the probed lists are estimated and a first group
	 * re-ranked.  All rows cost what genericcostestimate says for reading the
	 * whole index, plus that start: a query that needs every row (no LIMIT)
	 * or many (a selective filter on another column) finds the index dear.
	 */
	*startup_cost = costs.indexStartupCost +
		cpu_operator_cost * path->indexinfo->tuples * ratio +
		random_page_cost * Max(1.0, costs.numIndexPages * ratio);
	*total_cost = *startup_cost + costs.indexTotalCost;
	*selectivity = costs.indexSelectivity;
	*correlation = 0;
	*pages = costs.numIndexPages;
}

static bool
IvfValidate(Oid opclassoid)
{
	(void) opclassoid;
	return true;
}

LANCEDB_FUNCTION(lance_ivf_handler);
Datum
lance_ivf_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);

	(void) fcinfo;
	am->amstrategies = 0;
	am->amsupport = 1;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearcharray = false;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
	am->amparallelvacuumoptions = VACUUM_OPTION_NO_PARALLEL;
	am->amkeytype = InvalidOid;

	am->ambuild = IvfBuild;
	am->ambuildempty = IvfBuildEmpty;
	am->aminsert = IvfInsert;
	am->ambulkdelete = IvfBulkDelete;
	am->amvacuumcleanup = IvfVacuumCleanup;
	am->amcanreturn = NULL;
	am->amcostestimate = IvfCostEstimate;
	am->amoptions = IvfOptionsParse;
	am->amproperty = NULL;
	am->ambuildphasename = IvfBuildPhaseName;
	am->amvalidate = IvfValidate;
	am->amadjustmembers = NULL;
	am->ambeginscan = IvfBeginScan;
	am->amrescan = IvfRescan;
	am->amgettuple = IvfGetTuple;
	am->amgetbitmap = NULL;
	am->amendscan = IvfEndScan;
	am->ammarkpos = NULL;
	am->amrestrpos = NULL;
	am->amestimateparallelscan = NULL;
	am->aminitparallelscan = NULL;
	am->amparallelrescan = NULL;
	PG_RETURN_POINTER(am);
}
