/*
 * ivf_build.c
 *	  Building a lance_ivf index, and writing a sealed segment from any
 *	  source of rows (ivf_build.h): sample, cluster, assign and encode,
 *	  write.
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
#include "ivf/ivf_build.h"
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
	IvfBuildSpec *spec;
	double		rows;			/* rows the source gave */
	/* sampling */
	float	   *sample;
	int64		sample_cap;
	int64		sample_n;
	pg_prng_state prng;
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

#define IVF_ROTATION_SEED UINT64CONST(0x5eed)

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

static bool report_progress;

static void
Progress(int param, int64 value)
{
	if (report_progress)
		pgstat_progress_update_param(param, value);
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
		Progress(PROGRESS_CREATEIDX_SUBPHASE, phase);
}

const float *
IvfBuildTupleVector(IvfBuildSpec *spec, Datum value, bool isnull, float **scratch)
{
	Vector	   *v;

	if (isnull)
		return NULL;
	v = DatumGetVector(value);
	if (spec->dims == 0)
	{
		if (v->dim < 1 || v->dim > IVF_MAX_DIMS)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("lance_ivf indexes vectors of 1 to %d dimensions, not %d",
							IVF_MAX_DIMS, v->dim)));
		spec->dims = v->dim;
	}
	else if (v->dim != spec->dims)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", spec->dims, v->dim)));
	if (*scratch == NULL)
		*scratch = palloc(sizeof(float) * spec->dims);
	if (!IvfPrepareVector(spec->metric, v->x, v->dim, *scratch))
		return NULL;
	return *scratch;
}

static void
SampleRow(void *arg, int64 tid, const float *v)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	int			dims = state->spec->dims;
	int64		slot;

	(void) tid;
	state->rows++;
	if (state->sample == NULL)
	{
		/* as many vectors as maintenance_work_mem holds, at most what k-means needs */
		state->sample_cap = Max(1, Min((int64) maintenance_work_mem * 1024L / 2 /
									   ((int64) sizeof(float) * dims),
									   (int64) SAMPLE_PER_LIST * 4096));
		state->sample = palloc_extended(sizeof(float) * dims * state->sample_cap,
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
	memcpy(state->sample + slot * dims, v, sizeof(float) * dims);
}

static int
DefaultLists(double rows)
{
	return (int) Min(65536.0, Max(1.0, round(sqrt(rows))));
}

static void
Train(IvfBuildState *state)
{
	IvfBuildSpec *spec = state->spec;
	KMeansOptions options;
	char		error[IVF_MATH_ERROR_SIZE];
	int64		n;
	int			rc;

	state->lists = spec->requested_lists > 0 ? spec->requested_lists : DefaultLists(state->rows);
	state->lists = (int) Min((int64) state->lists, state->sample_n);
	n = Min(state->sample_n, (int64) state->lists * SAMPLE_PER_LIST);
	state->centroids = palloc_extended(sizeof(float) * (size_t) state->lists * spec->dims,
									   MCXT_ALLOC_HUGE);
	memset(&options, 0, sizeof(options));
	options.k = state->lists;
	options.max_iterations = KMEANS_ITERATIONS;
	options.seed = UINT64CONST(0x1a7ce5eed);
	options.balance = 0.5f;
	options.threads = state->threads;
	/* the reservoir is a uniform sample in random order: any prefix is one too */
	rc = KMeansTrain(state->sample, (size_t) n, spec->dims, &options, state->centroids, error);
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
	int			dims = state->spec->dims;

	if (n == 0)
		return;
	KMeansAssignParallel(state->centroids, state->lists, dims, state->batch, n,
						 state->batch_lists, state->threads);
	for (int i = 0; i < n; i++)
	{
		int32		list = state->batch_lists[i];
		const float *v = state->batch + (size_t) i * dims;
		char	   *p = VARDATA(state->record);
		RabitqFactors factors;

		p[0] = (char) ((list >> 24) & 0xFF);
		p[1] = (char) ((list >> 16) & 0xFF);
		p[2] = (char) ((list >> 8) & 0xFF);
		p[3] = (char) (list & 0xFF);
		memcpy(p + 4, &state->batch_tids[i], sizeof(int64));
		RabitqEncode(state->rotation, v, state->centroids + (size_t) list * dims,
					 (uint8 *) p + 12, &factors);
		memcpy(p + 12 + state->code_bytes, &factors, sizeof(RabitqFactors));
		memcpy(p + 12 + state->code_bytes + sizeof(RabitqFactors), v, sizeof(float) * dims);
		tuplesort_putdatum(state->sort, PointerGetDatum(state->record), false);
	}
	state->assigned += n;
	state->batch_n = 0;
	Progress(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state->assigned);
	CHECK_FOR_INTERRUPTS();
}

static void
AssignRow(void *arg, int64 tid, const float *v)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	int			dims = state->spec->dims;

	memcpy(state->batch + (size_t) state->batch_n * dims, v, sizeof(float) * dims);
	state->batch_tids[state->batch_n++] = tid;
	if (state->batch_n == state->batch_cap)
		FlushBatch(state);
}

static char *
WriteSegment(IvfBuildState *state, int64 trained_rows)
{
	IvfBuildSpec *spec = state->spec;
	int			dims = spec->dims;
	IvfSegmentWriter *writer;
	int64	   *tids = palloc(sizeof(int64) * WRITE_BATCH_ROWS);
	uint8	   *codes = palloc(state->code_bytes * WRITE_BATCH_ROWS);
	RabitqFactors *factors = palloc(sizeof(RabitqFactors) * WRITE_BATCH_ROWS);
	float	   *vectors = palloc_extended(sizeof(float) * (size_t) dims * WRITE_BATCH_ROWS,
										  MCXT_ALLOC_HUGE);
	int			n = 0;
	int			current = -1;
	Datum		datum;
	bool		isnull;

	writer = IvfSegmentBegin(spec->index, dims, state->lists, spec->metric, IVF_ROTATION_SEED,
							 state->code_bytes, state->centroids, spec->delta_upto,
							 spec->tomb_upto, trained_rows);
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
		memcpy(vectors + (size_t) n * dims, p + 12 + state->code_bytes + sizeof(RabitqFactors),
			   sizeof(float) * dims);
		n++;
		pfree(DatumGetPointer(datum));
	}
	if (n > 0)
		IvfSegmentWriteList(writer, current, n, tids, codes, factors, vectors);
	return IvfSegmentFinish(writer);
}

char *
IvfBuildSegment(IvfBuildSpec *spec, double *rows)
{
	IvfBuildState state;
	char	   *segment = NULL;
	int64		trained_rows;

	memset(&state, 0, sizeof(state));
	state.spec = spec;
	report_progress = spec->report_progress;
	state.threads = Min(8, max_parallel_maintenance_workers + 1);
	pg_prng_seed(&state.prng, 0x1a7ce);

	if (spec->centroids == NULL)
	{
		SetPhase(IVF_PHASE_SAMPLING);
		spec->source(spec->source_arg, SampleRow, &state);
		if (state.rows == 0)
		{
			SetPhase(0);
			*rows = 0;
			return NULL;
		}
		SetPhase(IVF_PHASE_KMEANS);
		Train(&state);
		trained_rows = (int64) state.rows;
	}
	else
	{
		state.lists = spec->lists;
		state.centroids = (float *) spec->centroids;
		trained_rows = spec->trained_rows;
	}

	SetPhase(IVF_PHASE_ASSIGNING);
	if (state.rows > 0)
		Progress(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) state.rows);
	state.rotation = RabitqRotationCreate(spec->dims, IVF_ROTATION_SEED);
	if (state.rotation == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	state.code_bytes = RabitqCodeBytes(state.rotation);
	state.record_bytes = 12 + state.code_bytes + sizeof(RabitqFactors) +
		sizeof(float) * spec->dims;
	state.record = palloc(VARHDRSZ + state.record_bytes);
	SET_VARSIZE(state.record, VARHDRSZ + state.record_bytes);
	state.sort = tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false,
									   maintenance_work_mem, NULL, TUPLESORT_NONE);
	state.batch_cap = Max(1, Min(4096, (16 * 1024 * 1024) / (spec->dims * (int) sizeof(float))));
	state.batch = palloc(sizeof(float) * (size_t) state.batch_cap * spec->dims);
	state.batch_tids = palloc(sizeof(int64) * state.batch_cap);
	state.batch_lists = palloc(sizeof(int32) * state.batch_cap);
	spec->source(spec->source_arg, AssignRow, &state);
	FlushBatch(&state);
	tuplesort_performsort(state.sort);

	if (state.assigned > 0)
	{
		SetPhase(IVF_PHASE_WRITING);
		segment = WriteSegment(&state, Max(trained_rows, (int64) state.assigned / 2));
	}
	tuplesort_end(state.sort);
	RabitqRotationFree(state.rotation);
	SetPhase(0);
	*rows = state.assigned;
	return segment;
}

/* ---- CREATE INDEX: the rows come from a heap scan */

typedef struct HeapSource
{
	Relation	heap;
	IndexInfo  *info;
	IvfBuildSpec *spec;
	IvfRowSink	sink;
	void	   *state;
	float	   *scratch;
	bool		count_heap_rows;
} HeapSource;

static void
HeapCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			 bool tupleIsAlive, void *arg)
{
	HeapSource *source = (HeapSource *) arg;
	const float *v;

	(void) index, (void) tupleIsAlive;
	if (source->count_heap_rows)
		source->spec->heap_rows++;
	v = IvfBuildTupleVector(source->spec, values[0], isnull[0], &source->scratch);
	if (v != NULL)
		source->sink(source->state, IvfTidToInt64(tid), v);
}

static void
HeapScanSource(void *arg, IvfRowSink sink, void *state)
{
	HeapSource *source = (HeapSource *) arg;

	source->sink = sink;
	source->state = state;
	source->count_heap_rows = (sink == SampleRow);
	table_index_build_scan(source->heap, source->spec->index, source->info, true, true,
						   HeapCallback, source, NULL);
}

IndexBuildResult *
IvfBuild(Relation heap, Relation index, IndexInfo *info)
{
	IndexBuildResult *result = palloc0(sizeof(IndexBuildResult));
	IvfBuildSpec spec;
	HeapSource	source;
	char	   *segment;
	double		rows;
	int			typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;

	if (info->ii_NumIndexAttrs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("lance_ivf indexes one column")));
	if (typmod > IVF_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lance_ivf indexes vectors of at most %d dimensions", IVF_MAX_DIMS)));
	memset(&spec, 0, sizeof(spec));
	spec.index = index;
	spec.metric = IvfIndexMetric(index);
	spec.requested_lists = IvfOptionLists(index);
	spec.report_progress = true;
	spec.source = HeapScanSource;
	spec.source_arg = &source;
	memset(&source, 0, sizeof(source));
	source.heap = heap;
	source.info = info;
	source.spec = &spec;

	SideStorageCreate(index);
	IvfMetaInit(index, MAIN_FORKNUM, spec.metric);
	segment = IvfBuildSegment(&spec, &rows);
	IvfMetaSetLists(index, spec.dims, segment ? IvfSegmentGet(index, segment)->header.lists : 0);

	result->heap_tuples = spec.heap_rows;
	result->index_tuples = rows;
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
