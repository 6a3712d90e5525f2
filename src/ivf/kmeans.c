/*
 * kmeans.c
 *	  k-means for the lance_ivf index: k-means++ seeding on a subsample, then
 *	  Lloyd iterations with an optional balance penalty, empty clusters
 *	  re-seeded by splitting the largest.  See ivf_math.h for the contract.
 *
 * Determinism.  Every random choice comes from splitmix64 seeded with
 * options->seed, and the threads only split the per-point work (each point's
 * nearest centroid, each point's distance to a new seed), never a sum: every
 * sum is taken afterwards by the calling thread, in point order, in double.
 * So a seed gives the same centroids whatever the thread count.  Across
 * machines the distance kernels may round differently (scalar vs AVX2), so
 * bit-identical centroids are promised per machine only; the index stores
 * its centroids, so nothing needs more.
 *
 * Threads run only code of this file and of src/vector, with every signal
 * blocked (ARCHITECTURE.md, invariant 5), and are joined before returning.
 *
 * No PostgreSQL header is included (see ivf_math.h).
 */
#include "ivf/ivf_math.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivf/ivf_math_internal.h"
#include "vector/distance.h"

/*
 * k-means++ costs O(k * sample * dims) and reads the whole subsample once
 * per seed; on more than this many points the seeds come from a uniform
 * subsample (at least SEED_PER_CLUSTER points per cluster).  The seeds only
 * need to cover the data's modes; Lloyd's iterations then use all n points.
 * 2048 keeps Fashion-MNIST's subsample (6 MB) in cache: seeding 245 lists
 * took 0.50 s from 12,000 points, 0.31 s from 4096, 0.07 s from 2048, and the
 * objective after the build's balanced iterations moved by 0.2%
 * (make -C bench ivf_math).
 */
#define SEED_SAMPLE 2048
#define SEED_PER_CLUSTER 4

/* Below this many float operations per thread a thread costs more than it saves */
#define MIN_WORK_PER_THREAD (1 << 20)

/* Centroids per l2_squared_batch call in KMeansNearest (stack) */
#define CENTROID_CHUNK 256

/*
 * The assignments compute distances with l2_squared_matrix over blocks of
 * MATRIX_POINTS points against blocks of centroids of at most
 * MATRIX_BLOCK_BYTES (and MATRIX_CENTROIDS): the centroid block stays in L2
 * while the points' tiles pass over it.  (Fashion-MNIST, 784 dimensions:
 * 64 centroids, 200 KB.)  The results are those of the single form, bit for
 * bit, whatever the blocks.
 */
#define MATRIX_POINTS 48
#define MATRIX_CENTROIDS 64
#define MATRIX_BLOCK_BYTES (256 * 1024)

/* Points per block of the balanced assignment (see BalancedAssign) */
#define BALANCE_BLOCK 4096

/* A split moves the two halves this fraction of the cluster's RMS radius apart */
#define SPLIT_SCALE 0x1p-10

static void
SetError(char *error, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
SetError(char *error, const char *fmt,...)
{
	va_list		ap;

	if (error == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(error, IVF_MATH_ERROR_SIZE, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------------------
 * Parallel ranges
 * ------------------------------------------------------------------------- */

typedef struct RangeTask
{
	IvfRangeFunc func;
	void	   *context;
	size_t		begin;
	size_t		end;
	int			worker;
} RangeTask;

static void *
RangeTaskMain(void *arg)
{
	RangeTask  *task = arg;

	task->func(task->context, task->begin, task->end, task->worker);
	return NULL;
}

/* See ivf_math_internal.h */
void
IvfRunRanges(IvfRangeFunc func, void *context, size_t n, int workers)
{
	RangeTask	tasks[64];
	pthread_t	threads[64];
	bool		started[64];
	sigset_t	all,
				old;

	if (workers > 64)
		workers = 64;
	if (workers <= 1 || n < (size_t) workers)
	{
		func(context, 0, n, 0);
		return;
	}
	for (int w = 0; w < workers; w++)
	{
		tasks[w].func = func;
		tasks[w].context = context;
		tasks[w].begin = n * (size_t) w / (size_t) workers;
		tasks[w].end = n * (size_t) (w + 1) / (size_t) workers;
		tasks[w].worker = w;
		started[w] = false;
	}

	/* New threads inherit the creating thread's mask */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int w = 1; w < workers; w++)
		started[w] = pthread_create(&threads[w], NULL, RangeTaskMain, &tasks[w]) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	RangeTaskMain(&tasks[0]);
	for (int w = 1; w < workers; w++)
	{
		if (started[w])
			pthread_join(threads[w], NULL);
		else
			RangeTaskMain(&tasks[w]);
	}
}

/* How many workers 'items' units of 'cost' operations deserve */
static int
WorkersFor(int threads, size_t items, double cost)
{
	double		work = (double) items * cost;
	int			workers = threads;

	if (workers > 64)
		workers = 64;
	while (workers > 1 && work / workers < MIN_WORK_PER_THREAD)
		workers--;
	return workers < 1 ? 1 : workers;
}

/* ---------------------------------------------------------------------------
 * Assignment
 * ------------------------------------------------------------------------- */

/* Centroids per l2_squared_matrix call: see MATRIX_BLOCK_BYTES */
static int
CentroidBlock(int dims)
{
	size_t		fit = MATRIX_BLOCK_BYTES / (sizeof(float) * (size_t) dims);

	if (fit > MATRIX_CENTROIDS)
		return MATRIX_CENTROIDS;
	return fit < 1 ? 1 : (int) fit;
}

typedef struct AssignContext
{
	const VectorKernels *kernels;
	const float *data;
	int			dims;
	const float *centroids;
	int			k;
	int32_t    *assignment;
	float	   *distance;		/* NULL: not wanted */
	size_t	   *moved;			/* per worker: points whose centroid changed; or NULL */
} AssignContext;

/*
 * Each point's nearest centroid, ties to the lower number: the centroids are
 * visited in order and only a strictly smaller distance wins.  (A NaN
 * distance to centroid 0 keeps centroid 0: nothing compares below NaN.)
 */
static void
AssignRange(void *arg, size_t begin, size_t end, int worker)
{
	AssignContext *ctx = arg;
	size_t		dims = (size_t) ctx->dims;
	int			block = CentroidBlock(ctx->dims);
	float		scratch[MATRIX_POINTS * MATRIX_CENTROIDS];
	int32_t		best[MATRIX_POINTS];
	float		best_distance[MATRIX_POINTS];
	size_t		moved = 0;

	for (size_t first = begin; first < end; first += MATRIX_POINTS)
	{
		size_t		count = end - first < MATRIX_POINTS ? end - first : MATRIX_POINTS;

		for (int start = 0; start < ctx->k; start += block)
		{
			int			chunk = ctx->k - start < block ? ctx->k - start : block;

			ctx->kernels->l2_squared_matrix(ctx->data + first * dims, count,
											ctx->centroids + (size_t) start * dims,
											(size_t) chunk, ctx->dims, scratch,
											(size_t) chunk);
			for (size_t p = 0; p < count; p++)
			{
				const float *d = scratch + p * (size_t) chunk;
				int			j = 0;

				if (start == 0)
				{
					best[p] = 0;
					best_distance[p] = d[0];
					j = 1;
				}
				for (; j < chunk; j++)
				{
					if (d[j] < best_distance[p])
					{
						best[p] = start + j;
						best_distance[p] = d[j];
					}
				}
			}
		}
		for (size_t p = 0; p < count; p++)
		{
			if (best[p] != ctx->assignment[first + p])
				moved++;
			ctx->assignment[first + p] = best[p];
			if (ctx->distance != NULL)
				ctx->distance[first + p] = best_distance[p];
		}
	}
	if (ctx->moved != NULL)
		ctx->moved[worker] = moved;
}

void
KMeansAssign(const float *centroids, int k, int dims,
			 const float *vectors, size_t n, int32_t *assignment)
{
	KMeansAssignParallel(centroids, k, dims, vectors, n, assignment, 1);
}

void
KMeansAssignParallel(const float *centroids, int k, int dims, const float *vectors,
					 size_t n, int32_t *assignment, int threads)
{
	int			workers = WorkersFor(threads, n, (double) k * dims);
	AssignContext ctx = {
		.kernels = VectorKernelsBest(),
		.data = vectors,
		.dims = dims,
		.centroids = centroids,
		.k = k,
		.assignment = assignment,
	};

	if (workers > 8)
		workers = 8;
	IvfRunRanges(AssignRange, &ctx, n, workers);
}

/* (distance, id) order: is a after b? */
static inline bool
After(float da, int32_t ia, float db, int32_t ib)
{
	return da > db || (da == db && ia > ib) || (isnan(da) && !isnan(db));
}

/*
 * A max-heap of the 'count' best (distance, id) pairs seen so far, kept in
 * ids/distances themselves, sorted at the end: O(k log count), no memory.
 */
static void
SiftDown(int32_t *ids, float *distances, int size, int i)
{
	for (;;)
	{
		int			largest = i;
		int			l = 2 * i + 1;
		int			r = l + 1;
		int32_t		ti;
		float		td;

		if (l < size && After(distances[l], ids[l], distances[largest], ids[largest]))
			largest = l;
		if (r < size && After(distances[r], ids[r], distances[largest], ids[largest]))
			largest = r;
		if (largest == i)
			return;
		ti = ids[i];
		td = distances[i];

		ids[i] = ids[largest];
		distances[i] = distances[largest];
		ids[largest] = ti;
		distances[largest] = td;
		i = largest;
	}
}

void
KMeansNearest(const float *centroids, int k, int dims, const float *query,
			  int count, int32_t *ids, float *distances)
{
	const VectorKernels *kernels = VectorKernelsBest();
	float		scratch[CENTROID_CHUNK];
	int			size = 0;

	if (count > k)
		count = k;
	if (count <= 0)
		return;

	for (int start = 0; start < k; start += CENTROID_CHUNK)
	{
		int			chunk = k - start < CENTROID_CHUNK ? k - start : CENTROID_CHUNK;

		kernels->l2_squared_batch(query, centroids + (size_t) start * dims, dims,
								  (size_t) chunk, scratch);
		for (int j = 0; j < chunk; j++)
		{
			int32_t		id = start + j;

			if (size < count)
			{
				/* sift up */
				int			i = size++;

				ids[i] = id;
				distances[i] = scratch[j];
				while (i > 0)
				{
					int			parent = (i - 1) / 2;
					int32_t		ti;
					float		td;

					if (!After(distances[i], ids[i], distances[parent], ids[parent]))
						break;
					ti = ids[i];
					td = distances[i];

					ids[i] = ids[parent];
					distances[i] = distances[parent];
					ids[parent] = ti;
					distances[parent] = td;
					i = parent;
				}
			}
			else if (After(distances[0], ids[0], scratch[j], id))
			{
				ids[0] = id;
				distances[0] = scratch[j];
				SiftDown(ids, distances, size, 0);
			}
		}
	}

	/* Heap sort: the worst goes last */
	for (int end = size - 1; end > 0; end--)
	{
		int32_t		ti = ids[0];
		float		td = distances[0];

		ids[0] = ids[end];
		distances[0] = distances[end];
		ids[end] = ti;
		distances[end] = td;
		SiftDown(ids, distances, end, 0);
	}
}

/*
 * The balanced assignment: each point, visited in a random order, goes to the
 * centroid of least
 *	distance + scale * (points the cluster already took in this pass),
 * scale = balance * mean_distance / (n / k).  The running sizes make it
 * sequential, so the threads compute the distances of a block of points (the
 * costly part, O(k * dims) each) and the calling thread then picks for the
 * block in visiting order: the result does not depend on the thread count.
 *
 * Why running sizes rather than the sizes of the last pass: a penalty fixed
 * for a whole pass moves every boundary point of a large cluster at once, so
 * the large cluster becomes small, the next pass swings back, and the sizes
 * oscillate without settling (seen in testing: 4x the fair share became
 * 14x).  With running sizes a cluster stops taking points as it fills.
 */
typedef struct DistanceContext
{
	const VectorKernels *kernels;
	const float *data;
	int			dims;
	const float *centroids;
	int			k;
	const size_t *points;		/* the block's point numbers */
	float	   *gather;			/* MATRIX_POINTS vectors per worker */
	float	   *out;			/* k distances per point of the block */
} DistanceContext;

/*
 * The block's points are in visiting order, scattered over data: they are
 * copied together, MATRIX_POINTS at a time, for l2_squared_matrix.
 */
static void
DistanceRange(void *arg, size_t begin, size_t end, int worker)
{
	DistanceContext *ctx = arg;
	size_t		dims = (size_t) ctx->dims;
	float	   *gather = ctx->gather + (size_t) worker * MATRIX_POINTS * dims;
	int			block = CentroidBlock(ctx->dims);

	for (size_t first = begin; first < end; first += MATRIX_POINTS)
	{
		size_t		count = end - first < MATRIX_POINTS ? end - first : MATRIX_POINTS;

		for (size_t p = 0; p < count; p++)
			memcpy(gather + p * dims, ctx->data + ctx->points[first + p] * dims,
				   sizeof(float) * dims);
		for (int start = 0; start < ctx->k; start += block)
		{
			int			chunk = ctx->k - start < block ? ctx->k - start : block;

			ctx->kernels->l2_squared_matrix(gather, count,
											ctx->centroids + (size_t) start * dims,
											(size_t) chunk, ctx->dims,
											ctx->out + first * (size_t) ctx->k + start,
											(size_t) ctx->k);
		}
	}
}

static bool
BalancedAssign(const VectorKernels *kernels, const float *data, size_t n, int dims,
			   const float *centroids, int k, float scale, const size_t *order,
			   float *block_distances, size_t block, float *gather, int workers,
			   int32_t *assignment, float *distance, size_t *running)
{
	DistanceContext ctx = {
		.kernels = kernels,
		.data = data,
		.dims = dims,
		.centroids = centroids,
		.k = k,
		.gather = gather,
		.out = block_distances,
	};
	bool		changed = false;

	memset(running, 0, sizeof(size_t) * (size_t) k);
	for (size_t begin = 0; begin < n; begin += block)
	{
		size_t		count = n - begin < block ? n - begin : block;

		ctx.points = order + begin;
		IvfRunRanges(DistanceRange, &ctx, count, workers);
		for (size_t p = 0; p < count; p++)
		{
			const float *d = block_distances + p * (size_t) k;
			size_t		i = order[begin + p];
			int32_t		best = 0;
			float		best_cost = d[0] + scale * (float) running[0];

			for (int j = 1; j < k; j++)
			{
				float		cost = d[j] + scale * (float) running[j];

				if (cost < best_cost)
				{
					best = j;
					best_cost = cost;
				}
			}
			changed |= assignment[i] != best;
			assignment[i] = best;
			distance[i] = d[best];
			running[best]++;
		}
	}
	return changed;
}

/* ---------------------------------------------------------------------------
 * k-means++ seeding
 * ------------------------------------------------------------------------- */

typedef struct SeedContext
{
	const VectorKernels *kernels;
	const float *data;
	const size_t *rows;			/* the sample: rows[i] is a point of data */
	int			dims;
	const float *center;		/* the newest seed */
	float	   *mind;			/* squared distance to the nearest seed */
} SeedContext;

static void
SeedRange(void *arg, size_t begin, size_t end, int worker)
{
	SeedContext *ctx = arg;

	(void) worker;
	for (size_t i = begin; i < end; i++)
	{
		float		d = ctx->kernels->l2_squared(ctx->center,
												 ctx->data + ctx->rows[i] * (size_t) ctx->dims,
												 ctx->dims);

		if (d < ctx->mind[i])
			ctx->mind[i] = d;
	}
}

/*
 * k-means++ (Arthur and Vassilvitskii, SODA 2007) on a uniform subsample:
 * the first seed uniformly, each next one with probability proportional to
 * its squared distance to the nearest seed so far.  When every remaining
 * point coincides with a seed (fewer distinct points than k), seeds repeat;
 * Lloyd's iterations then leave the copies empty.
 */
static int
Seed(const VectorKernels *kernels, const float *data, size_t n, int dims, int k,
	 uint64_t *rng, int threads, float *centroids, char *error)
{
	size_t		m = (size_t) k * SEED_PER_CLUSTER;
	size_t	   *rows;
	float	   *mind;
	SeedContext ctx;
	int			workers;

	if (m < SEED_SAMPLE)
		m = SEED_SAMPLE;
	if (m > n)
		m = n;

	rows = malloc(sizeof(size_t) * m);
	mind = malloc(sizeof(float) * m);
	if (rows == NULL || mind == NULL)
	{
		free(rows);
		free(mind);
		SetError(error, "out of memory for k-means++ seeding of %zu points", m);
		return ENOMEM;
	}

	/*
	 * A uniform sample of m rows, in data order (Knuth's selection sampling,
	 * TAOCP 3.4.2 Algorithm S): row i is taken with probability
	 * (still needed) / (rows left).
	 */
	for (size_t i = 0, taken = 0; taken < m; i++)
	{
		if (m == n ||
			IvfRandomUniform(rng) * (double) (n - i) < (double) (m - taken))
			rows[taken++] = i;
	}

	for (size_t i = 0; i < m; i++)
		mind[i] = INFINITY;

	ctx.kernels = kernels;
	ctx.data = data;
	ctx.rows = rows;
	ctx.dims = dims;
	ctx.mind = mind;
	workers = WorkersFor(threads, m, 3.0 * dims);

	for (int c = 0; c < k; c++)
	{
		size_t		pick;

		if (c == 0)
			pick = (size_t) IvfRandomBelow(rng, m);
		else
		{
			double		total = 0.0;
			double		target;

			for (size_t i = 0; i < m; i++)
				total += mind[i];
			if (!(total > 0.0) || !isfinite(total))
				pick = (size_t) IvfRandomBelow(rng, m);
			else
			{
				target = IvfRandomUniform(rng) * total;
				/* Rounding can leave target just past the last sum: keep the last weighted point */
				pick = m;
				for (size_t i = 0; i < m; i++)
				{
					if (mind[i] > 0.0f)
					{
						pick = i;
						target -= mind[i];
						if (target < 0.0)
							break;
					}
				}
			}
		}

		memcpy(centroids + (size_t) c * dims, data + rows[pick] * (size_t) dims,
			   sizeof(float) * (size_t) dims);
		if (c + 1 < k)
		{
			ctx.center = centroids + (size_t) c * dims;
			IvfRunRanges(SeedRange, &ctx, m, workers);
		}
	}

	free(rows);
	free(mind);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Lloyd
 * ------------------------------------------------------------------------- */

/*
 * Re-seeds every empty cluster by splitting the currently largest one in
 * two: both halves move SPLIT_SCALE of the cluster's RMS radius apart along
 * a random +-1 direction, and the next assignment divides its points.  The
 * move is at least a few float ulps of the centroid, so the copies differ.
 * counts and sqdist (per-cluster sums of squared distances) are updated to
 * halves, so several empties split several clusters.
 */
static void
RepairEmpty(float *centroids, int k, int dims, size_t *counts, double *sqdist,
			uint64_t *rng)
{
	for (int j = 0; j < k; j++)
	{
		int			largest = 0;
		float	   *a;
		float	   *b;
		float		scale;

		if (counts[j] != 0)
			continue;
		for (int l = 1; l < k; l++)
			if (counts[l] > counts[largest])
				largest = l;
		if (counts[largest] < 2)
			return;				/* nothing left to split */

		a = centroids + (size_t) largest * dims;
		b = centroids + (size_t) j * dims;
		scale = (float) (SPLIT_SCALE * sqrt(sqdist[largest] / (double) counts[largest] / dims));
		for (int d = 0; d < dims; d++)
		{
			float		step = scale;
			float		floor_step = fabsf(a[d]) * 0x1p-20f;

			if (step < floor_step)
				step = floor_step;
			if (step == 0.0f)
				step = 0x1p-100f;
			if (IvfRandomNext(rng) & 1)
				step = -step;
			b[d] = a[d] + step;
			a[d] = a[d] - step;
		}
		counts[j] = counts[largest] / 2;
		counts[largest] -= counts[j];
		sqdist[j] = sqdist[largest] / 2;
		sqdist[largest] -= sqdist[j];
	}
}

int
KMeansTrain(const float *data, size_t n, int dims, const KMeansOptions *options,
			float *centroids, char error[IVF_MATH_ERROR_SIZE])
{
	const VectorKernels *kernels = VectorKernelsBest();
	int			k = options->k;
	int			threads = options->threads > 1 ? options->threads : 1;
	bool		balanced = options->balance > 0.0f;
	uint64_t	rng = options->seed;
	int32_t    *assignment = NULL;
	float	   *distance = NULL;
	float	   *gather = NULL;
	double	   *sums = NULL;
	double	   *sqdist = NULL;
	size_t	   *counts = NULL;
	size_t	   *order = NULL;
	float	   *block_distances = NULL;
	size_t		block = 0;
	size_t		moved[64];
	int			workers;
	int			balance_workers = 1;
	int			rc;

	if (error != NULL)
		error[0] = '\0';
	if (dims < 1)
	{
		SetError(error, "Expected at least 1 dimension but found %d", dims);
		return EINVAL;
	}
	if (k < 1 || (size_t) k > n)
	{
		SetError(error, "Expected between 1 and %zu clusters (one per vector at most) but found %d",
				 n, k);
		return EINVAL;
	}
	if (options->max_iterations < 0)
	{
		SetError(error, "Expected a non-negative iteration count but found %d",
				 options->max_iterations);
		return EINVAL;
	}
	if (!(options->balance >= 0.0f) || !isfinite(options->balance))
	{
		SetError(error, "Expected a finite balance >= 0 but found %g", (double) options->balance);
		return EINVAL;
	}
	for (size_t i = 0; i < n * (size_t) dims; i++)
	{
		if (!isfinite(data[i]))
		{
			SetError(error, "Expected finite values but found %g in vector %zu, dimension %zu",
					 (double) data[i], i / (size_t) dims, i % (size_t) dims);
			return EINVAL;
		}
	}

	rc = Seed(kernels, data, n, dims, k, &rng, threads, centroids, error);
	if (rc != 0 || options->max_iterations == 0)
		return rc;

	workers = WorkersFor(threads, n, 3.0 * dims * k);
	assignment = malloc(sizeof(int32_t) * n);
	distance = malloc(sizeof(float) * n);
	sums = malloc(sizeof(double) * (size_t) k * dims);
	sqdist = malloc(sizeof(double) * (size_t) k);
	counts = malloc(sizeof(size_t) * (size_t) k);
	if (balanced)
	{
		/* a block's distances: at most 4M floats (16 MB) */
		block = ((size_t) 1 << 22) / (size_t) k;
		if (block > BALANCE_BLOCK)
			block = BALANCE_BLOCK;
		if (block < 1)
			block = 1;
		balance_workers = WorkersFor(threads, block < n ? block : n, 3.0 * dims * k);
		order = malloc(sizeof(size_t) * n);
		block_distances = malloc(sizeof(float) * block * (size_t) k);
		gather = malloc(sizeof(float) * MATRIX_POINTS * (size_t) dims *
						(size_t) balance_workers);
	}
	if (assignment == NULL || distance == NULL ||
		sums == NULL || sqdist == NULL || counts == NULL ||
		(balanced && (order == NULL || block_distances == NULL || gather == NULL)))
	{
		SetError(error, "out of memory for k-means of %zu vectors into %d clusters", n, k);
		rc = ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		assignment[i] = -1;

	for (int iteration = 0; iteration < options->max_iterations; iteration++)
	{
		bool		changed = false;
		bool		empty = false;

		/*
		 * The first assignment after seeding is plain: the penalty's scale
		 * needs the mean distance of a previous assignment.
		 */
		if (balanced && iteration > 0)
		{
			double		mean = 0.0;

			for (size_t i = 0; i < n; i++)
				mean += distance[i];
			mean /= (double) n;

			/* A new random visiting order each pass (Fisher-Yates) */
			for (size_t i = 0; i < n; i++)
				order[i] = i;
			for (size_t i = n - 1; i > 0; i--)
			{
				size_t		j = (size_t) IvfRandomBelow(&rng, i + 1);
				size_t		t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
			changed = BalancedAssign(kernels, data, n, dims, centroids, k,
									 (float) (options->balance * mean / ((double) n / k)),
									 order, block_distances, block, gather, balance_workers,
									 assignment, distance, counts);
		}
		else
		{
			AssignContext ctx = {
				.kernels = kernels,
				.data = data,
				.dims = dims,
				.centroids = centroids,
				.k = k,
				.assignment = assignment,
				.distance = distance,
				.moved = moved,
			};

			memset(moved, 0, sizeof(moved));
			IvfRunRanges(AssignRange, &ctx, n, workers);
			for (int w = 0; w < workers; w++)
				if (moved[w] != 0)
					changed = true;
		}

		/* Update: means in double, in point order */
		memset(sums, 0, sizeof(double) * (size_t) k * dims);
		memset(sqdist, 0, sizeof(double) * (size_t) k);
		memset(counts, 0, sizeof(size_t) * (size_t) k);
		for (size_t i = 0; i < n; i++)
		{
			int32_t		j = assignment[i];
			double	   *s = sums + (size_t) j * dims;
			const float *x = data + i * (size_t) dims;

			for (int d = 0; d < dims; d++)
				s[d] += x[d];
			counts[j]++;
			sqdist[j] += distance[i];
		}
		for (int j = 0; j < k; j++)
		{
			if (counts[j] == 0)
			{
				empty = true;
				continue;
			}
			for (int d = 0; d < dims; d++)
				centroids[(size_t) j * dims + d] =
					(float) (sums[(size_t) j * dims + d] / (double) counts[j]);
		}
		if (empty)
			RepairEmpty(centroids, k, dims, counts, sqdist, &rng);
		else if (!changed)
			break;				/* converged: the next round would repeat this one */
	}

done:
	free(assignment);
	free(distance);
	free(gather);
	free(sums);
	free(sqdist);
	free(counts);
	free(order);
	free(block_distances);
	return rc;
}
