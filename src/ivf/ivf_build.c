/*
 * ivf_build.c
 *	  Building a lance_ivf index, and writing a sealed segment from any
 *	  source of rows (ivf_build.h): sample, cluster, assign and encode,
 *	  write.
 *
 *	sampling	a heap scan reads every vector
 *	k-means		the lists' centroids from a uniform sample (ivf_math.h), in
 *				max_parallel_maintenance_workers + 1 threads
 *	assigning	each vector gets its nearest list and its RaBitQ code, in
 *				the same threads (IvfAssignEncode)
 *	writing		the rows become the Lance segment, list by list
 *
 * Two paths, chosen by the source's size.  While the rows fit in
 * maintenance_work_mem, the one scan keeps them all (prepared vectors and
 * TIDs): the sample is drawn from that array, assigning runs over it, and a
 * counting sort by list orders it for writing.  Once they do not fit, the
 * rows kept so far become the start of a uniform reservoir sample (the
 * result is that of Algorithm R over the whole scan), and a second scan
 * assigns and encodes the rows in batches into a tuplesort by list, so
 * memory stays bounded whatever the table's size.  (A source with given
 * centroids, a fold, needs no second scan: past the limit its rows go
 * straight to the sort.)  Both paths share the assigning and encoding
 * (AssignEncode) and the writing (SegmentBatch).
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
#include "storage/proc.h"
#include "storage/side_storage.h"
#include "utils/backend_progress.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"
#include "vector/vector.h"

#define KMEANS_ITERATIONS 8
/*
 * k-means trains on this many vectors per list: on Fashion-MNIST 20 trained
 * in 0.22-0.29 s against 0.31-0.37 s for 32, with recall@10 at probes 2 and 6
 * of 0.975 and 0.996 against 0.973 and 0.992 (noise either way).
 */
#define SAMPLE_PER_LIST 20
/* Rows assigned between two interrupt checks and progress reports */
#define ASSIGN_BATCH_ROWS 4096

/* Rows per batch of the sort's input and of the writer: 4096, at most 16 MB of vectors */
#define BATCH_ROWS(dims) Max(1, Min(4096, (16 * 1024 * 1024) / ((dims) * (int) sizeof(float))))

/* What assigning and encoding gives rows: ex_* only with bits > 1 (else NULL) */
typedef struct EncodedRows
{
	int32	   *lists;
	uint8	   *codes;
	RabitqFactors *factors;
	uint8	   *ex_codes;
	RabitqExFactors *ex_factors;
} EncodedRows;

typedef struct IvfBuildState
{
	IvfBuildSpec *spec;
	double		rows;			/* rows the source gave */
	int			threads;
	pg_prng_state prng;
	int			lists;
	float	   *centroids;
	RabitqRotation *rotation;
	size_t		code_bytes;
	size_t		ex_code_bytes;	/* 0 with 1 bit */

	/*
	 * The first pass keeps rows here: all of them while in_memory (TIDs too),
	 * else a reservoir sample of sample_cap vectors (only when training).
	 */
	bool		in_memory;
	float	   *kept;
	int64	   *kept_tids;
	int64		kept_n;
	int64		kept_cap;		/* rows the arrays hold now */
	int64		kept_max;		/* rows maintenance_work_mem holds */
	int64		sample_cap;

	/* the bounded path: batches of rows assigned and encoded into a sort */
	Tuplesortstate *sort;
	bytea	   *record;
	float	   *batch;
	int64	   *batch_tids;
	EncodedRows batch_rows;
	int			batch_n;
	int			batch_cap;
	double		assigned;
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

/* Enters a phase; logs at DEBUG2 how long the previous one took. */
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
		elog(DEBUG2, "lance_ivf build: %s took %.3f s", IvfBuildPhaseName(current),
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
	bool		prepared;

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
	prepared = IvfPrepareVector(spec->metric, v->x, v->dim, *scratch);
	/* a detoasted copy: a heap build would otherwise keep every vector twice */
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	return prepared ? *scratch : NULL;
}

static void StartSort(IvfBuildState *state);
static int	DefaultLists(double rows);
static Size ExBytes(IvfBuildState *state);

static void *
HugeAlloc(Size size)
{
	return palloc_extended(Max(size, 1), MCXT_ALLOC_HUGE);
}

/*
 * Sizes everything once the dimension is known (the first row of a heap
 * build): the rotation, the batches of the bounded path, and how many rows
 * the in-memory path may keep.  A kept row costs its vector and TID, then its
 * list, code, factors and place in the counting sort; the write batches and
 * the centroids come off the top.
 */
static void
Start(IvfBuildState *state)
{
	int			dims = state->spec->dims;
	Size		row_bytes;
	Size		reserved;
	int64		budget = (int64) maintenance_work_mem * 1024L;
	int			lists = state->lists > 0 ? state->lists :
		state->spec->requested_lists > 0 ? state->spec->requested_lists :
		DefaultLists(state->spec->expected_rows);

	state->rotation = RabitqRotationCreate(dims, IVF_ROTATION_SEED);
	if (state->rotation == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	state->code_bytes = RabitqCodeBytes(state->rotation);
	state->ex_code_bytes = RabitqExCodeBytes(state->rotation, state->spec->bits);
	row_bytes = sizeof(float) * dims + sizeof(int64) + 2 * sizeof(int32) +
		state->code_bytes + sizeof(RabitqFactors) + ExBytes(state);
	reserved = (Size) BATCH_ROWS(dims) * row_bytes +
		sizeof(float) * (Size) dims * lists;
	state->kept_max = budget > (int64) reserved ? (budget - (int64) reserved) / (int64) row_bytes : 0;
	state->kept_max = Min(state->kept_max, (int64) PG_INT32_MAX);
	state->in_memory = state->kept_max > 0;
	/* as many vectors as half of maintenance_work_mem holds, at most what k-means needs */
	state->sample_cap = Max(1, Min(budget / 2 / ((int64) sizeof(float) * dims),
								   (int64) SAMPLE_PER_LIST * 4096));
	if (!state->in_memory && state->spec->centroids != NULL)
		StartSort(state);
	else if (!state->in_memory)
	{
		state->kept = HugeAlloc(sizeof(float) * (Size) dims * state->sample_cap);
		state->kept_cap = state->sample_cap;
	}
}

/* ---- assigning and encoding, shared by both paths */

/* A row's B-bit code and its factors, or 0 with 1 bit */
static Size
ExBytes(IvfBuildState *state)
{
	return state->ex_code_bytes > 0 ? state->ex_code_bytes + sizeof(RabitqExFactors) : 0;
}

/* Arrays for n encoded rows, in 'alloc' */
static void
EncodedRowsAlloc(IvfBuildState *state, EncodedRows *rows, int64 n, void *(*alloc) (Size))
{
	rows->lists = alloc(sizeof(int32) * n);
	rows->codes = alloc(state->code_bytes * n);
	rows->factors = alloc(sizeof(RabitqFactors) * n);
	rows->ex_codes = state->ex_code_bytes > 0 ? alloc(state->ex_code_bytes * n) : NULL;
	rows->ex_factors = state->ex_code_bytes > 0 ? alloc(sizeof(RabitqExFactors) * n) : NULL;
}

/*
 * Assigns and encodes n rows in max_parallel_maintenance_workers + 1 threads
 * (the costly part of a build), in chunks between which it honours
 * interrupts and reports progress.
 */
static void
AssignEncode(IvfBuildState *state, const float *vectors, int64 n, EncodedRows *rows)
{
	int			dims = state->spec->dims;
	bool		ex = state->ex_code_bytes > 0;

	for (int64 first = 0; first < n; first += ASSIGN_BATCH_ROWS)
	{
		int64		count = Min((int64) ASSIGN_BATCH_ROWS, n - first);

		IvfAssignEncode(state->centroids, state->lists, dims, state->rotation,
						vectors + first * dims, (size_t) count, rows->lists + first,
						rows->codes + first * state->code_bytes, rows->factors + first,
						state->spec->bits,
						ex ? rows->ex_codes + first * state->ex_code_bytes : NULL,
						ex ? rows->ex_factors + first : NULL, state->threads);
		state->assigned += count;
		Progress(PROGRESS_CREATEIDX_TUPLES_DONE, (int64) state->assigned);
		CHECK_FOR_INTERRUPTS();
	}
}

/* ---- the bounded path: rows stream through a tuplesort by list */

static void
StartSort(IvfBuildState *state)
{
	int			dims = state->spec->dims;
	Size		record_bytes = 12 + state->code_bytes + sizeof(RabitqFactors) +
		ExBytes(state) + sizeof(float) * dims;

	state->record = palloc(VARHDRSZ + record_bytes);
	SET_VARSIZE(state->record, VARHDRSZ + record_bytes);
	state->sort = tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false,
										maintenance_work_mem, NULL, TUPLESORT_NONE);
	state->batch_cap = BATCH_ROWS(dims);
	state->batch = palloc(sizeof(float) * (Size) state->batch_cap * dims);
	state->batch_tids = palloc(sizeof(int64) * state->batch_cap);
	EncodedRowsAlloc(state, &state->batch_rows, state->batch_cap, palloc);
}

/*
 * Each row of the batch goes to the sort as a record: list number
 * (big-endian, so bytea order is list order), TID, code, factors, B-bit code
 * and its factors (with bits > 1), vector.
 */
#define RECORD_CODE 12

static void
FlushBatch(IvfBuildState *state)
{
	int			n = state->batch_n;
	int			dims = state->spec->dims;
	EncodedRows *rows = &state->batch_rows;
	Size		ex_code_bytes = state->ex_code_bytes;

	AssignEncode(state, state->batch, n, rows);
	for (int i = 0; i < n; i++)
	{
		int32		list = rows->lists[i];
		char	   *p = VARDATA(state->record);

		p[0] = (char) ((list >> 24) & 0xFF);
		p[1] = (char) ((list >> 16) & 0xFF);
		p[2] = (char) ((list >> 8) & 0xFF);
		p[3] = (char) (list & 0xFF);
		memcpy(p + 4, &state->batch_tids[i], sizeof(int64));
		p += RECORD_CODE;
		memcpy(p, rows->codes + (Size) i * state->code_bytes, state->code_bytes);
		p += state->code_bytes;
		memcpy(p, &rows->factors[i], sizeof(RabitqFactors));
		p += sizeof(RabitqFactors);
		if (ex_code_bytes > 0)
		{
			memcpy(p, rows->ex_codes + (Size) i * ex_code_bytes, ex_code_bytes);
			p += ex_code_bytes;
			memcpy(p, &rows->ex_factors[i], sizeof(RabitqExFactors));
			p += sizeof(RabitqExFactors);
		}
		memcpy(p, state->batch + (Size) i * dims, sizeof(float) * dims);
		tuplesort_putdatum(state->sort, PointerGetDatum(state->record), false);
	}
	state->batch_n = 0;
}

static void
AssignRow(void *arg, int64 tid, const float *v)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	int			dims = state->spec->dims;

	memcpy(state->batch + (Size) state->batch_n * dims, v, sizeof(float) * dims);
	state->batch_tids[state->batch_n++] = tid;
	if (state->batch_n == state->batch_cap)
		FlushBatch(state);
}

/* ---- the first pass */

/*
 * The rows no longer fit: the kept ones become a reservoir sample (Algorithm
 * R replayed over the rows past sample_cap, as if it had run from the start),
 * or, with given centroids, go to the sort.
 */
static void
LeaveMemory(IvfBuildState *state)
{
	int			dims = state->spec->dims;

	elog(DEBUG1, "lance_ivf build: more than " INT64_FORMAT " rows do not fit in maintenance_work_mem; %s",
		 state->kept_n, state->spec->centroids == NULL ? "sampling, then sorting in a second scan" :
		 "sorting them");
	state->in_memory = false;
	if (state->spec->centroids == NULL)
	{
		for (int64 i = state->sample_cap; i < state->kept_n; i++)
		{
			int64		slot = (int64) pg_prng_uint64_range(&state->prng, 0, (uint64) i);

			if (slot < state->sample_cap)
				memcpy(state->kept + slot * dims, state->kept + i * dims, sizeof(float) * dims);
		}
		state->kept_n = Min(state->kept_n, state->sample_cap);
		state->kept = repalloc_huge(state->kept, sizeof(float) * (Size) dims * state->sample_cap);
		state->kept_cap = state->sample_cap;
	}
	else
	{
		StartSort(state);
		for (int64 i = 0; i < state->kept_n; i++)
			AssignRow(state, state->kept_tids[i], state->kept + i * dims);
		pfree(state->kept);
		state->kept = NULL;
		state->kept_n = 0;
	}
	pfree(state->kept_tids);
	state->kept_tids = NULL;
}

/* Keeps the row while the rows fit in memory; then samples or sorts it. */
static void
FirstPassRow(void *arg, int64 tid, const float *v)
{
	IvfBuildState *state = (IvfBuildState *) arg;
	int			dims = state->spec->dims;
	int64		slot;

	if (state->rotation == NULL)
		Start(state);
	state->rows++;
	if (state->in_memory && state->kept_n == state->kept_cap)
	{
		if (state->kept_cap >= state->kept_max)
			LeaveMemory(state);
		else
		{
			/* the source's estimate first, then doubling */
			int64		cap = state->kept_cap == 0 ?
				(int64) Max(state->spec->expected_rows * 1.05 + 1024.0, 1024.0) :
				state->kept_cap * 2;

			cap = Min(cap, state->kept_max);
			if (state->kept == NULL)
			{
				state->kept = HugeAlloc(sizeof(float) * (Size) dims * cap);
				state->kept_tids = HugeAlloc(sizeof(int64) * cap);
			}
			else
			{
				state->kept = repalloc_huge(state->kept, sizeof(float) * (Size) dims * cap);
				state->kept_tids = repalloc_huge(state->kept_tids, sizeof(int64) * cap);
			}
			state->kept_cap = cap;
		}
	}
	if (state->in_memory)
	{
		memcpy(state->kept + state->kept_n * dims, v, sizeof(float) * dims);
		state->kept_tids[state->kept_n++] = tid;
		return;
	}
	if (state->spec->centroids != NULL)
	{
		AssignRow(state, tid, v);
		return;
	}
	/* reservoir sampling (Algorithm R) */
	if (state->kept_n < state->sample_cap)
		slot = state->kept_n++;
	else
	{
		slot = (int64) pg_prng_uint64_range(&state->prng, 0, (uint64) state->rows - 1);
		if (slot >= state->sample_cap)
			return;
	}
	memcpy(state->kept + slot * dims, v, sizeof(float) * dims);
}

/* ---- k-means */

static int
DefaultLists(double rows)
{
	return (int) Min(65536.0, Max(1.0, round(sqrt(rows))));
}

/*
 * Trains on the first n kept rows, after making them a uniform sample: the
 * reservoir is one in random order already (any prefix is one too); rows
 * kept in memory are in scan order, so a partial Fisher-Yates shuffle moves
 * a random n of them to the front (TIDs along, the order of rows does not
 * matter to the segment).
 */
static void
Train(IvfBuildState *state)
{
	IvfBuildSpec *spec = state->spec;
	int			dims = spec->dims;
	KMeansOptions options;
	char		error[IVF_MATH_ERROR_SIZE];
	int64		n;
	int			rc;

	state->lists = spec->requested_lists > 0 ? spec->requested_lists : DefaultLists(state->rows);
	state->lists = (int) Min((int64) state->lists, state->kept_n);
	n = Min(state->kept_n, (int64) state->lists * SAMPLE_PER_LIST);
	if (state->in_memory && n < state->kept_n)
	{
		float	   *row = palloc(sizeof(float) * dims);

		for (int64 i = 0; i < n; i++)
		{
			int64		j = (int64) pg_prng_uint64_range(&state->prng, (uint64) i,
														 (uint64) state->kept_n - 1);
			int64		tid;

			if (j == i)
				continue;
			memcpy(row, state->kept + i * dims, sizeof(float) * dims);
			memcpy(state->kept + i * dims, state->kept + j * dims, sizeof(float) * dims);
			memcpy(state->kept + j * dims, row, sizeof(float) * dims);
			tid = state->kept_tids[i];
			state->kept_tids[i] = state->kept_tids[j];
			state->kept_tids[j] = tid;
		}
		pfree(row);
	}
	state->centroids = HugeAlloc(sizeof(float) * (Size) state->lists * dims);
	memset(&options, 0, sizeof(options));
	options.k = state->lists;
	options.max_iterations = KMEANS_ITERATIONS;
	options.seed = UINT64CONST(0x1a7ce5eed);
	options.balance = 0.5f;
	options.threads = state->threads;
	rc = KMeansTrain(state->kept, (size_t) n, dims, &options, state->centroids, error);
	if (rc == ENOMEM)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
						errdetail("%s", error)));
	if (rc != 0)
		elog(ERROR, "lance_ivf k-means failed: %s", error);
	if (!state->in_memory)
	{
		pfree(state->kept);
		state->kept = NULL;
		state->kept_n = 0;
	}
}

/* ---- writing, shared by both paths: rows in list order, in batches */

typedef struct SegmentBatch
{
	IvfSegmentWriter *writer;
	int			dims;
	size_t		code_bytes;
	size_t		ex_code_bytes;
	int			list;
	int			n;
	int			cap;
	int64	   *tids;
	EncodedRows rows;			/* rows.lists unused: the batch is of one list */
	float	   *vectors;
} SegmentBatch;

static void
SegmentBatchBegin(SegmentBatch *b, IvfBuildState *state, int64 trained_rows)
{
	IvfBuildSpec *spec = state->spec;

	b->dims = spec->dims;
	b->code_bytes = state->code_bytes;
	b->ex_code_bytes = state->ex_code_bytes;
	b->list = -1;
	b->n = 0;
	b->cap = BATCH_ROWS(spec->dims);
	b->tids = palloc(sizeof(int64) * b->cap);
	EncodedRowsAlloc(state, &b->rows, b->cap, palloc);
	b->vectors = palloc(sizeof(float) * (Size) spec->dims * b->cap);
	b->writer = IvfSegmentBegin(spec->index, spec->dims, state->lists, spec->metric,
								IVF_ROTATION_SEED, state->rotation, spec->bits,
								state->centroids, spec->delta_upto, spec->tomb_upto,
								trained_rows);
}

static void
SegmentBatchFlush(SegmentBatch *b)
{
	if (b->n == 0)
		return;
	IvfSegmentWriteList(b->writer, b->list, b->n, b->tids, b->rows.codes, b->rows.factors,
						b->rows.ex_codes, b->rows.ex_factors, b->vectors);
	b->n = 0;
	CHECK_FOR_INTERRUPTS();
}

/*
 * Adds a row; rows come in list order.  ex_code and ex_factors only with
 * bits > 1.
 */
static inline void
SegmentBatchAdd(SegmentBatch *b, int list, int64 tid, const uint8 *code,
				const RabitqFactors *factors, const uint8 *ex_code,
				const RabitqExFactors *ex_factors, const float *vector)
{
	if ((list != b->list && b->n > 0) || b->n == b->cap)
		SegmentBatchFlush(b);
	b->list = list;
	b->tids[b->n] = tid;
	memcpy(b->rows.codes + (Size) b->n * b->code_bytes, code, b->code_bytes);
	b->rows.factors[b->n] = *factors;
	if (b->ex_code_bytes > 0)
	{
		memcpy(b->rows.ex_codes + (Size) b->n * b->ex_code_bytes, ex_code, b->ex_code_bytes);
		b->rows.ex_factors[b->n] = *ex_factors;
	}
	memcpy(b->vectors + (Size) b->n * b->dims, vector, sizeof(float) * b->dims);
	b->n++;
}

static char *
SegmentBatchFinish(SegmentBatch *b)
{
	SegmentBatchFlush(b);
	return IvfSegmentFinish(b->writer);
}

/* The bounded path: the sorted records (FlushBatch). */
static char *
WriteSorted(IvfBuildState *state, int64 trained_rows)
{
	SegmentBatch b;
	Datum		datum;
	bool		isnull;
	size_t		code_bytes = state->code_bytes;
	size_t		ex_code_bytes = state->ex_code_bytes;

	SegmentBatchBegin(&b, state, trained_rows);
	while (tuplesort_getdatum(state->sort, true, &datum, &isnull, NULL))
	{
		const char *p = VARDATA_ANY(DatumGetPointer(datum));
		int			list = ((uint8) p[0] << 24) | ((uint8) p[1] << 16) | ((uint8) p[2] << 8) | (uint8) p[3];
		int64		tid;
		RabitqFactors factors;
		RabitqExFactors ex_factors = {0};
		const uint8 *code = (const uint8 *) p + RECORD_CODE;
		const uint8 *ex_code = NULL;

		memcpy(&tid, p + 4, sizeof(int64));
		p += RECORD_CODE + code_bytes;
		memcpy(&factors, p, sizeof(RabitqFactors));
		p += sizeof(RabitqFactors);
		if (ex_code_bytes > 0)
		{
			ex_code = (const uint8 *) p;
			memcpy(&ex_factors, p + ex_code_bytes, sizeof(RabitqExFactors));
			p += ex_code_bytes + sizeof(RabitqExFactors);
		}
		SegmentBatchAdd(&b, list, tid, code, &factors, ex_code, &ex_factors,
						(const float *) p);
		pfree(DatumGetPointer(datum));
	}
	return SegmentBatchFinish(&b);
}

/*
 * The in-memory path: assign and encode every kept row, then a counting
 * sort by list (stable: a list's rows stay in the order they were kept).
 */
static char *
WriteKept(IvfBuildState *state, int64 trained_rows)
{
	int64		n = state->kept_n;
	int			dims = state->spec->dims;
	EncodedRows rows;
	int64	   *next = palloc0(sizeof(int64) * (state->lists + 1));
	int32	   *order = HugeAlloc(sizeof(int32) * n);
	SegmentBatch b;
	bool		ex = state->ex_code_bytes > 0;

	EncodedRowsAlloc(state, &rows, n, HugeAlloc);
	AssignEncode(state, state->kept, n, &rows);

	SetPhase(IVF_PHASE_WRITING);
	for (int64 i = 0; i < n; i++)
		next[rows.lists[i] + 1]++;
	for (int l = 0; l < state->lists; l++)
		next[l + 1] += next[l];
	for (int64 i = 0; i < n; i++)
		order[next[rows.lists[i]]++] = (int32) i;

	SegmentBatchBegin(&b, state, trained_rows);
	for (int64 p = 0; p < n; p++)
	{
		int32		i = order[p];

		SegmentBatchAdd(&b, rows.lists[i], state->kept_tids[i],
						rows.codes + (Size) i * state->code_bytes, &rows.factors[i],
						ex ? rows.ex_codes + (Size) i * state->ex_code_bytes : NULL,
						ex ? &rows.ex_factors[i] : NULL, state->kept + (Size) i * dims);
	}
	return SegmentBatchFinish(&b);
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
	if (spec->centroids != NULL)
	{
		state.lists = spec->lists;
		state.centroids = (float *) spec->centroids;
	}

	SetPhase(spec->centroids == NULL ? IVF_PHASE_SAMPLING : IVF_PHASE_ASSIGNING);
	spec->source(spec->source_arg, FirstPassRow, &state);
	if (state.rows == 0)
	{
		SetPhase(0);
		*rows = 0;
		return NULL;
	}
	if (spec->centroids == NULL)
	{
		SetPhase(IVF_PHASE_KMEANS);
		Train(&state);
		trained_rows = (int64) state.rows;
		SetPhase(IVF_PHASE_ASSIGNING);
	}
	else
		trained_rows = spec->trained_rows;
	Progress(PROGRESS_CREATEIDX_TUPLES_TOTAL, (int64) state.rows);

	if (state.in_memory)
		segment = WriteKept(&state, Max(trained_rows, (int64) state.rows / 2));
	else
	{
		if (state.sort == NULL)
		{
			StartSort(&state);
			spec->source(spec->source_arg, AssignRow, &state);
		}
		if (state.batch_n > 0)
			FlushBatch(&state);
		tuplesort_performsort(state.sort);
		SetPhase(IVF_PHASE_WRITING);
		segment = WriteSorted(&state, Max(trained_rows, (int64) state.assigned / 2));
		tuplesort_end(state.sort);
	}
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

/* One heap tuple of the build's scan, in this process. */
static void
HeapRow(void *arg, ItemPointer tid, Datum value, bool isnull)
{
	HeapSource *source = (HeapSource *) arg;
	const float *v;

	if (source->count_heap_rows)
		source->spec->heap_rows++;
	v = IvfBuildTupleVector(source->spec, value, isnull, &source->scratch);
	if (v != NULL)
		source->sink(source->state, IvfTidToInt64(tid), v);
}

static void
HeapCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			 bool tupleIsAlive, void *arg)
{
	(void) index, (void) tupleIsAlive;
	HeapRow(arg, tid, values[0], isnull[0]);
}

/* The heap's rows: with parallel workers when the planner allows them. */
static void
HeapScanSource(void *arg, IvfRowSink sink, void *state)
{
	HeapSource *source = (HeapSource *) arg;

	source->sink = sink;
	source->state = state;
	source->count_heap_rows = (sink == FirstPassRow);
	if (!IvfParallelHeapScan(source->heap, source->spec->index, source->info, HeapRow, source))
		table_index_build_scan(source->heap, source->spec->index, source->info, true, true,
							   HeapCallback, source, NULL);
}

/* The transaction in which a build last collected garbage */
static LocalTransactionId collected_in = InvalidLocalTransactionId;

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
	spec.bits = IvfOptionBits(index);
	spec.report_progress = true;
	/* sizes the in-memory path's arrays (-1: never vacuumed or analyzed) */
	spec.expected_rows = Max(heap->rd_rel->reltuples, 0);
	spec.source = HeapScanSource;
	spec.source_arg = &source;
	memset(&source, 0, sizeof(source));
	source.heap = heap;
	source.info = info;
	source.spec = &spec;

	/*
	 * The database's side-storage garbage goes first, as in VACUUM: the files
	 * of an index dropped or rebuilt since would otherwise wait for a VACUUM
	 * of a table with side storage, which a table nobody writes never gets.
	 * Once a transaction: an index on a partitioned table builds one index
	 * per partition, and each collection reads the whole catalog.
	 */
	if (collected_in != MyProc->lxid)
	{
		SideStorageCollectGarbage();
		collected_in = MyProc->lxid;
	}
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
