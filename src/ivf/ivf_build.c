/*
 * ivf_build.c
 *	  Building a lance_ivf index: sample, cluster, assign and encode, write
 *	  the sealed segment.
 *
 *	sampling	a heap scan keeps a uniform reservoir sample of the vectors
 *				(bounded by maintenance_work_mem) and counts the rows
 *	k-means		the lists' centroids from the sample (ivf_math.h), in
 *				max_parallel_maintenance_workers + 1 threads
 *	assigning	a second heap scan gives each vector its nearest list and its
 *				RaBitQ code, into a tuplesort by list (so memory stays
 *				bounded by maintenance_work_mem whatever the table's size)
 *	writing		the sorted rows become the Lance segment, list by list
 *
 * Rows with a NULL vector, and zero vectors under cosine, are not indexed.
 */
#include "postgres.h"

#include <math.h>

#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "ivf/ivf_segment.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/side_storage.h"
#include "utils/backend_progress.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
#include "vector/vector.h"

#define KMEANS_ITERATIONS 8
#define SAMPLE_PER_LIST 32
#define WRITE_BATCH_ROWS 4096

typedef struct IvfBuildState
{
	Relation	index;
	IvfMetric	metric;
	int			dims;
	double		rows;			/* indexed rows (non-NULL, indexable) */
	double		heap_rows;
	/* sampling */
	float	   *sample;
	int64		sample_cap;
	int64		sample_n;
	pg_prng_state prng;
	float	   *scratch;
	/* assigning */
	int			lists;
	float	   *centroids;
	RabitqRotation *rotation;
	size_t		code_bytes;
	Tuplesortstate *sort;
	size_t		record_bytes;
	bytea	   *record;
	double		assigned;
	int			threads;
	float	   *batch;			/* batch_cap vectors waiting for their lists */
	int64	   *batch_tids;
	int32	   *batch_lists;
	int			batch_n;
	int			batch_cap;
} IvfBuildState;

char *
IvfBuildPhaseName(int64 phase)
{
	switch (phase)
	{
		case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
			return "initializing";
		case IVF_PHASE_SAMPLING:
			return "sampling";
		case IVF_PHASE_KMEANS:
			return "k-means";
		case IVF_PHASE_ASSIGNING:
			return "assigning";
		case IVF_PHASE_WRITING:
			return "writing";
	}
	return NULL;
}

/* Enters a phase; logs at DEBUG1 how long the previous one took. */
static void
SetPhase(int phase)
{
	static instr_time started;
	static int	current = 0;
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	if (current != 0)
	{
		instr_time	elapsed = now;

		INSTR_TIME_SUBTRACT(elapsed, started);
		elog(DEBUG1, "lance_ivf build: %s took %.3f s", IvfBuildPhaseName(current),
			 INSTR_TIME_GET_DOUBLE(elapsed));
	}
	current = phase;
	started = now;
	if (phase != 0)
		pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, phase);
}

/* The vector of an index tuple, prepared; NULL if the index skips it. */
static const float *
TupleVector(IvfBuildState *state, Datum value, bool isnull)
{
	Vector	   *v;

	if (isnull)
		return NULL;
	v = DatumGetVector(value);
	if (state->dims == 0)
	{
		if (v->dim < 1 || v->dim > IVF_MAX_DIMS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("lance_ivf indexes vectors of 1 to %d dimensions, not %d",
							IVF_MAX_DIMS, v->dim)));
		state->dims = v->dim;
		state->scratch = palloc(sizeof(float) * state->dims);
	}
	else if (v->dim != state->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", state->dims, v->dim)));
	if (!IvfPrepareVector(state->metric, v->x, v->dim, state->scratch))
		return NULL;
	return state->scratch;
}

static void
SampleCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *arg)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	const float *v;
	int64		slot;

	(void) index, (void) tid, (void) tupleIsAlive;
	state->heap_rows++;
	v = TupleVector(state, values[0], isnull[0]);
	if (v == NULL)
		return;
	state->rows++;
	if (state->sample == NULL)
	{
		/* as many vectors as maintenance_work_mem holds, at most what k-means needs */
		state->sample_cap = Max(1, Min((int64) maintenance_work_mem * 1024L / 2 /
									   ((int64) sizeof(float) * state->dims),
									   (int64) SAMPLE_PER_LIST * 4096));
		state->sample = palloc_extended(sizeof(float) * state->dims * state->sample_cap,
										MCXT_ALLOC_HUGE);
	}
	/* reservoir sampling (Algorithm R) */
	if (state->sample_n < state->sample_cap)
		slot = state->sample_n++;
	else
	{
		slot = (int64) pg_prng_uint64_range(&state->prng, 0, (uint64) state->rows - 1);
		if (slot >= state->sample_cap)
			return;
	}
	memcpy(state->sample + slot * state->dims, v, sizeof(float) * state->dims);
}

static int
DefaultLists(double rows)
{
	int			lists = (int) Min(65536.0, Max(1.0, round(sqrt(rows))));

	return lists;
}

static void
Train(IvfBuildState *state, int requested_lists)
{
	KMeansOptions options;
	char		error[IVF_MATH_ERROR_SIZE];
	int64		n;
	int			rc;

	state->lists = requested_lists > 0 ? requested_lists : DefaultLists(state->rows);
	state->lists = (int) Min((int64) state->lists, state->sample_n);
	n = Min(state->sample_n, (int64) state->lists * SAMPLE_PER_LIST);
	state->centroids = palloc_extended(sizeof(float) * (size_t) state->lists * state->dims,
									   MCXT_ALLOC_HUGE);
	memset(&options, 0, sizeof(options));
	options.k = state->lists;
	options.max_iterations = KMEANS_ITERATIONS;
	options.seed = 0x1a7ce5eedULL;
	options.balance = 0.5f;
	options.threads = state->threads;
	/* the reservoir is a uniform sample in random order: any prefix is one too */
	rc = KMeansTrain(state->sample, (size_t) n, state->dims, &options, state->centroids, error);
	if (rc == ENOMEM)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("%s", error)));
	if (rc != 0)
		elog(ERROR, "lance_ivf k-means failed: %s", error);
	pfree(state->sample);
	state->sample = NULL;
}

/*
 * Assigning works in batches: the nearest centroids of a batch are found in
 * max_parallel_maintenance_workers + 1 threads (the costly part), then each
 * row is encoded and goes to the sort as a record: list number (big-endian,
 * so bytea order is list order), TID, code, factors, vector.
 */
static void
FlushBatch(IvfBuildState *state)
{
	int			n = state->batch_n;

	if (n == 0)
		return;
	KMeansAssignParallel(state->centroids, state->lists, state->dims, state->batch, n,
						 state->batch_lists, state->threads);
	for (int i = 0; i < n; i++)
	{
		int32		list = state->batch_lists[i];
		const float *v = state->batch + (size_t) i * state->dims;
		char	   *p = VARDATA(state->record);
		RabitqFactors factors;

		p[0] = (char) ((list >> 24) & 0xFF);
		p[1] = (char) ((list >> 16) & 0xFF);
		p[2] = (char) ((list >> 8) & 0xFF);
		p[3] = (char) (list & 0xFF);
		memcpy(p + 4, &state->batch_tids[i], sizeof(int64));
		RabitqEncode(state->rotation, v, state->centroids + (size_t) list * state->dims,
					 (uint8 *) p + 12, &factors);
		memcpy(p + 12 + state->code_bytes, &factors, sizeof(RabitqFactors));
		memcpy(p + 12 + state->code_bytes + sizeof(RabitqFactors), v, sizeof(float) * state->dims);
		tuplesort_putdatum(state->sort, PointerGetDatum(state->record), false);
	}
	state->assigned += n;
	state->batch_n = 0;
	pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state->assigned);
	CHECK_FOR_INTERRUPTS();
}

static void
AssignCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *arg)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	const float *v;

	(void) index, (void) tupleIsAlive;
	v = TupleVector(state, values[0], isnull[0]);
	if (v == NULL)
		return;
	memcpy(state->batch + (size_t) state->batch_n * state->dims, v, sizeof(float) * state->dims);
	state->batch_tids[state->batch_n++] = IvfTidToInt64(tid);
	if (state->batch_n == state->batch_cap)
		FlushBatch(state);
}

static char *
WriteSegment(IvfBuildState *state)
{
	IvfSegmentWriter *writer;
	int64	   *tids = palloc(sizeof(int64) * WRITE_BATCH_ROWS);
	uint8	   *codes = palloc(state->code_bytes * WRITE_BATCH_ROWS);
	RabitqFactors *factors = palloc(sizeof(RabitqFactors) * WRITE_BATCH_ROWS);
	float	   *vectors = palloc_extended(sizeof(float) * (size_t) state->dims * WRITE_BATCH_ROWS,
										  MCXT_ALLOC_HUGE);
	int			n = 0;
	int			current = -1;
	Datum		datum;
	bool		isnull;

	writer = IvfSegmentBegin(state->index, state->dims, state->lists, state->metric,
							 (uint64) 0x5eedULL, state->code_bytes, state->centroids);
	while (tuplesort_getdatum(state->sort, true, &datum, &isnull, NULL))
	{
		const char *p = VARDATA_ANY(DatumGetPointer(datum));
		int			list = ((uint8) p[0] << 24) | ((uint8) p[1] << 16) | ((uint8) p[2] << 8) | (uint8) p[3];

		if ((list != current && n > 0) || n == WRITE_BATCH_ROWS)
		{
			IvfSegmentWriteList(writer, current, n, tids, codes, factors, vectors);
			n = 0;
			CHECK_FOR_INTERRUPTS();
		}
		current = list;
		memcpy(&tids[n], p + 4, sizeof(int64));
		memcpy(codes + (size_t) n * state->code_bytes, p + 12, state->code_bytes);
		memcpy(&factors[n], p + 12 + state->code_bytes, sizeof(RabitqFactors));
		memcpy(vectors + (size_t) n * state->dims, p + 12 + state->code_bytes + sizeof(RabitqFactors),
			   sizeof(float) * state->dims);
		n++;
		pfree(DatumGetPointer(datum));
	}
	if (n > 0)
		IvfSegmentWriteList(writer, current, n, tids, codes, factors, vectors);
	return IvfSegmentFinish(writer);
}

static void
UpdateMeta(Relation index, IvfBuildState *state, const char *segment)
{
	Buffer		buffer = ReadBuffer(index, IVF_METAPAGE);
	GenericXLogState *xlog;
	IvfMetaPageData *meta;

	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	xlog = GenericXLogStart(index);
	meta = (IvfMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(xlog, buffer, 0));
	meta->dims = state->dims;
	meta->lists = segment ? state->lists : 0;
	meta->seed = 0x5eedULL;
	if (segment)
		strlcpy(meta->segment, segment, sizeof(meta->segment));
	meta->segment_rows = segment ? (int64) state->assigned : 0;
	GenericXLogFinish(xlog);
	UnlockReleaseBuffer(buffer);
}

IndexBuildResult *
IvfBuild(Relation heap, Relation index, IndexInfo *info)
{
	IndexBuildResult *result = palloc0(sizeof(IndexBuildResult));
	IvfBuildState state;
	char	   *segment = NULL;
	int			typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	if (info->ii_NumIndexAttrs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lance_ivf indexes one column")));
	memset(&state, 0, sizeof(state));
	state.index = index;
	state.metric = IvfIndexMetric(index);
	if (typmod > IVF_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lance_ivf indexes vectors of at most %d dimensions", IVF_MAX_DIMS)));
	pg_prng_seed(&state.prng, 0x1a7ce);
	state.threads = Min(8, max_parallel_maintenance_workers + 1);

	SideStorageCreate(index);
	IvfMetaInit(index, MAIN_FORKNUM, state.metric);

	SetPhase(IVF_PHASE_SAMPLING);
	table_index_build_scan(heap, index, info, true, true, SampleCallback, &state, NULL);

	if (state.rows > 0)
	{
		SetPhase(IVF_PHASE_KMEANS);
		Train(&state, IvfOptionLists(index));

		SetPhase(IVF_PHASE_ASSIGNING);
		pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) state.rows);
		state.rotation = RabitqRotationCreate(state.dims, 0x5eedULL);
		if (state.rotation == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		state.code_bytes = RabitqCodeBytes(state.rotation);
		state.record_bytes = 12 + state.code_bytes + sizeof(RabitqFactors) +
			sizeof(float) * state.dims;
		state.record = palloc(VARHDRSZ + state.record_bytes);
		SET_VARSIZE(state.record, VARHDRSZ + state.record_bytes);
		state.sort = tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false,
										   maintenance_work_mem, NULL, TUPLESORT_NONE);
		state.batch_cap = Max(1, Min(4096, (16 * 1024 * 1024) / (state.dims * (int) sizeof(float))));
		state.batch = palloc(sizeof(float) * (size_t) state.batch_cap * state.dims);
		state.batch_tids = palloc(sizeof(int64) * state.batch_cap);
		state.batch_lists = palloc(sizeof(int32) * state.batch_cap);
		table_index_build_scan(heap, index, info, true, true, AssignCallback, &state, NULL);
		FlushBatch(&state);
		tuplesort_performsort(state.sort);

		SetPhase(IVF_PHASE_WRITING);
		segment = WriteSegment(&state);
		tuplesort_end(state.sort);
		RabitqRotationFree(state.rotation);
	}
	UpdateMeta(index, &state, segment);
	SetPhase(0);

	result->heap_tuples = state.heap_rows;
	result->index_tuples = state.assigned;
	return result;
}

void
IvfBuildEmpty(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("lance_ivf does not support unlogged tables"),
			 errdetail("Index \"%s\" keeps its lists in side files, which crash recovery does not reset.",
					   RelationGetRelationName(index))));
}
