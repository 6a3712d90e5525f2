/*
 * ivf_math.c
 *	  Build and scan costs of the index math (src/ivf/kmeans.c, rabitq.c) on
 *	  60,000 x 784 vectors.
 *
 * The data are Fashion-MNIST's training images (pixel values 0..255 as
 * floats) when Debian's dataset-fashion-mnist package is installed, read
 * through gzip; otherwise 60,000 random vectors around 245 random centres.
 * Queries are the first test images (or more random vectors).
 *
 * Figures:
 *	- KMeansTrain, k = 245 on a 12,000 sample (every 5th vector), 10
 *	  iterations, with 1 and 2 threads (and whether both gave the same
 *	  centroids, which they must), its k-means++ seeding alone, and with the
 *	  build's balance of 0.5 in 2 threads;
 *	- the quality of both sets of centroids over all 60,000: the k-means
 *	  objective (mean squared distance to the assigned centroid) and the
 *	  spread of the list sizes, so that a faster k-means can be seen not to
 *	  be a worse one;
 *	- KMeansAssign of all 60,000, IvfAssignEncode of all 60,000 in 2 threads
 *	  (what a build runs over every row) and RabitqEncode of all 60,000
 *	  against their lists' centroids;
 *	- scan throughput in codes (or vectors) per second over all 60,000, list
 *	  by list: RabitqEstimate per available kernel (query preparation for
 *	  every list included, and alone) against exact l2_squared_batch over the
 *	  same vectors; the ratio is the figure that matters;
 *	- a query's list order: exact keys of all 245 centroids against their
 *	  int8 lower bounds (coarse.c), portable and, where fast, VNNI;
 *	- recall@10 of exact re-ranking of the top 100 by estimate, over the
 *	  4 lists nearest the query (as a scan probes) and over all 245.
 * Throughput is the best of REPS passes.  Informational; exits 0.
 * With the argument "kmeans" it stops after the k-means figures.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "ivf/ivf_math.h"
#include "ivf/ivf_math_internal.h"
#include "vector/distance.h"

#define N 60000
#define DIMS 784
#define K 245
#define SAMPLE_STEP 5			/* 12,000 of 60,000 */
#define ITERATIONS 10
#define QUERIES 50
#define REPS 5
#define RERANK 100
#define TOP 10
#define NEAREST_LISTS 4

static const char *const fmnist_dir = "/usr/share/datasets/fashion-mnist";

static void *
Alloc(size_t bytes)
{
	void	   *p = malloc(bytes);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

/* An IDX image file (big-endian header: magic 0x803, count, rows, cols) */
static bool
LoadIdx(const char *name, float *out, size_t want)
{
	char		command[512];
	FILE	   *f;
	uint8_t		header[16];
	uint8_t    *pixels;
	bool		ok = false;

	snprintf(command, sizeof(command), "gzip -dc %s/%s 2>/dev/null", fmnist_dir, name);
	f = popen(command, "r");
	if (f == NULL)
		return false;
	pixels = Alloc(want * DIMS);
	if (fread(header, 1, 16, f) == 16 &&
		header[2] == 0x08 && header[3] == 0x03 &&
		((uint32_t) header[8] << 24 | header[9] << 16 | header[10] << 8 | header[11]) *
		((uint32_t) header[12] << 24 | header[13] << 16 | header[14] << 8 | header[15]) == DIMS &&
		fread(pixels, DIMS, want, f) == want)
	{
		for (size_t i = 0; i < want * DIMS; i++)
			out[i] = (float) pixels[i];
		ok = true;
	}
	free(pixels);
	/* the rest of the file is not read: gzip may end with SIGPIPE */
	pclose(f);
	return ok;
}

static uint64_t rng = 7;

static double
Gaussian(void)
{
	double		u = IvfRandomUniform(&rng);
	double		v = IvfRandomUniform(&rng);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* Vectors around K random centres, mimicking pixel scales */
static void
Synthetic(float *data, size_t n, const float *centres)
{
	for (size_t i = 0; i < n; i++)
	{
		const float *c = centres + (IvfRandomNext(&rng) % K) * DIMS;

		for (int d = 0; d < DIMS; d++)
			data[i * DIMS + d] = c[d] + (float) (20.0 * Gaussian());
	}
}

/* The k-means objective: mean squared distance to the assigned centroid, in double */
static double
Objective(const float *data, size_t n, const float *centroids, const int32_t *assignment)
{
	double		total = 0.0;

	for (size_t i = 0; i < n; i++)
	{
		const float *x = data + i * DIMS;
		const float *c = centroids + (size_t) assignment[i] * DIMS;

		for (int d = 0; d < DIMS; d++)
			total += ((double) x[d] - c[d]) * ((double) x[d] - c[d]);
	}
	return total / (double) n;
}

/* Assigns all vectors and prints the objective and the spread of list sizes */
static void
PrintQuality(const char *label, const float *data, size_t n, const float *centroids,
			 int32_t *assignment)
{
	size_t		sizes[K] = {0};
	size_t		largest = 0;
	double		sq = 0.0;

	KMeansAssign(centroids, K, DIMS, data, n, assignment);
	for (size_t i = 0; i < n; i++)
		sizes[assignment[i]]++;
	for (int j = 0; j < K; j++)
	{
		double		dev = (double) sizes[j] - (double) n / K;

		if (sizes[j] > largest)
			largest = sizes[j];
		sq += dev * dev;
	}
	printf("  %-12s objective %.6g, largest list %zu (fair share %zu), "
		   "list sizes' coefficient of variation %.3f\n", label,
		   Objective(data, n, centroids, assignment), largest, n / K,
		   sqrt(sq / K) / ((double) n / K));
}

static const float *sort_key;

static int
ByKey(const void *a, const void *b)
{
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	if (sort_key[x] != sort_key[y])
		return sort_key[x] < sort_key[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const VectorKernels *kernels = VectorKernelsBest();
	float	   *data = Alloc(sizeof(float) * N * DIMS);
	float	   *queries = Alloc(sizeof(float) * QUERIES * DIMS);
	float	   *sample = Alloc(sizeof(float) * (N / SAMPLE_STEP) * DIMS);
	float	   *centroids = Alloc(sizeof(float) * K * DIMS);
	float	   *centroids2 = Alloc(sizeof(float) * K * DIMS);
	float	   *balanced = Alloc(sizeof(float) * K * DIMS);
	int32_t    *assignment = Alloc(sizeof(int32_t) * N);
	int32_t    *by_list = Alloc(sizeof(int32_t) * N);	/* vector numbers, list order */
	size_t		list_start[K + 1];
	float	   *listed = Alloc(sizeof(float) * N * DIMS);	/* vectors in list order */
	float	   *out = Alloc(sizeof(float) * N);
	float	   *err = Alloc(sizeof(float) * N);
	float	   *exact = Alloc(sizeof(float) * N);
	int32_t    *order = Alloc(sizeof(int32_t) * N);
	int32_t    *truth = Alloc(sizeof(int32_t) * N);
	RabitqRotation *rotation = RabitqRotationCreate(DIMS, 12345);
	size_t		cb = RabitqCodeBytes(rotation);
	size_t		qsize = RabitqQuerySize(rotation);
	uint8_t    *codes = Alloc(cb * N);
	RabitqFactors *factors = Alloc(sizeof(RabitqFactors) * N);
	RabitqQuery *prepared = Alloc(qsize * K);
	KMeansOptions options = {.k = K, .max_iterations = ITERATIONS, .seed = 1,
	.balance = 0.0f, .threads = 1};
	char		error[IVF_MATH_ERROR_SIZE];
	const char *source;
	double		t0,
				train1,
				train2,
				seed_time,
				balanced_time,
				assign_time,
				assign_encode_time,
				encode_time,
				exact_time = 1e30,
				prepare_time = 1e30,
				rotated_time = 1e30;
	float	   *rotated_centroids = Alloc(sizeof(float) * K * RabitqPaddedDims(rotation));
	float	   *rotated_query = Alloc(sizeof(float) * RabitqPaddedDims(rotation));
	double		estimate_time[RABITQ_KERNEL_COUNT];
	size_t		sizes_max = 0;

	if (LoadIdx("train-images-idx3-ubyte.gz", data, N) &&
		LoadIdx("t10k-images-idx3-ubyte.gz", queries, QUERIES))
		source = "Fashion-MNIST (train 60,000; queries: first test images)";
	else
	{
		float	   *centres = Alloc(sizeof(float) * K * DIMS);

		for (int i = 0; i < K * DIMS; i++)
			centres[i] = (float) (128.0 + 60.0 * Gaussian());
		Synthetic(data, N, centres);
		Synthetic(queries, QUERIES, centres);
		free(centres);
		source = "synthetic: 245 Gaussian clusters (Fashion-MNIST not installed)";
	}
	printf("data: %s, %d x %d\n", source, N, DIMS);
	printf("kernels: distance %s, rabitq %s; rotation padded to %d, %zu-byte codes\n",
		   kernels->name, RabitqKernelName(RabitqKernelBest()), RabitqPaddedDims(rotation), cb);

	/* ---- k-means ---- */
	for (size_t i = 0; i < N / SAMPLE_STEP; i++)
		memcpy(sample + i * DIMS, data + i * SAMPLE_STEP * DIMS, sizeof(float) * DIMS);

	t0 = BenchNow();
	if (KMeansTrain(sample, N / SAMPLE_STEP, DIMS, &options, centroids, error) != 0)
	{
		fprintf(stderr, "KMeansTrain: %s\n", error);
		return 1;
	}
	train1 = BenchNow() - t0;
	options.threads = 2;
	t0 = BenchNow();
	if (KMeansTrain(sample, N / SAMPLE_STEP, DIMS, &options, centroids2, error) != 0)
	{
		fprintf(stderr, "KMeansTrain: %s\n", error);
		return 1;
	}
	train2 = BenchNow() - t0;
	printf("\nKMeansTrain k=%d on %d x %d, %d iterations:\n", K, N / SAMPLE_STEP, DIMS, ITERATIONS);
	printf("  1 thread   %8.3f s\n", train1);
	printf("  2 threads  %8.3f s   speed-up %.2fx, centroids %s\n", train2, train1 / train2,
		   memcmp(centroids, centroids2, sizeof(float) * K * DIMS) == 0 ? "identical" : "DIFFER");

	options.max_iterations = 0;
	options.threads = 1;
	t0 = BenchNow();
	if (KMeansTrain(sample, N / SAMPLE_STEP, DIMS, &options, centroids2, error) != 0)
	{
		fprintf(stderr, "KMeansTrain: %s\n", error);
		return 1;
	}
	seed_time = BenchNow() - t0;
	printf("  of which k-means++ seeding (1 thread) %.3f s\n", seed_time);

	options.max_iterations = ITERATIONS;
	options.threads = 2;
	options.balance = 0.5f;
	t0 = BenchNow();
	if (KMeansTrain(sample, N / SAMPLE_STEP, DIMS, &options, balanced, error) != 0)
	{
		fprintf(stderr, "KMeansTrain: %s\n", error);
		return 1;
	}
	balanced_time = BenchNow() - t0;
	printf("  balance 0.5 (the build's), 2 threads %.3f s\n", balanced_time);

	printf("quality over all %d vectors:\n", N);
	PrintQuality("balance 0", data, N, centroids, assignment);
	PrintQuality("balance 0.5", data, N, balanced, assignment);

	t0 = BenchNow();
	KMeansAssign(centroids, K, DIMS, data, N, assignment);
	assign_time = BenchNow() - t0;

	/* lists: vectors grouped by centroid, as a scan reads them */
	memset(list_start, 0, sizeof(list_start));
	for (int i = 0; i < N; i++)
		list_start[assignment[i] + 1]++;
	for (int j = 0; j < K; j++)
	{
		if (list_start[j + 1] > sizes_max)
			sizes_max = list_start[j + 1];
		list_start[j + 1] += list_start[j];
	}
	{
		size_t		fill[K];

		memcpy(fill, list_start, sizeof(fill));
		for (int i = 0; i < N; i++)
			by_list[fill[assignment[i]]++] = i;
	}
	for (int p = 0; p < N; p++)
		memcpy(listed + (size_t) p * DIMS, data + (size_t) by_list[p] * DIMS,
			   sizeof(float) * DIMS);

	/* codes in vector order; the timed RabitqEncode below rewrites them in list order */
	t0 = BenchNow();
	IvfAssignEncode(centroids, K, DIMS, rotation, data, N, order, codes, factors, 1, NULL, NULL, 2);
	assign_encode_time = BenchNow() - t0;

	t0 = BenchNow();
	for (int p = 0; p < N; p++)
	{
		int32_t		i = by_list[p];

		RabitqEncode(rotation, data + (size_t) i * DIMS, centroids + (size_t) assignment[i] * DIMS,
					 codes + (size_t) p * cb, &factors[p]);
	}
	encode_time = BenchNow() - t0;

	printf("KMeansAssign of %d: %.3f s (%.0f vectors/s); largest list %zu (fair share %d)\n",
		   N, assign_time, N / assign_time, sizes_max, N / K);
	printf("IvfAssignEncode of %d, 2 threads: %.3f s, lists %s KMeansAssign's\n", N,
		   assign_encode_time,
		   memcmp(order, assignment, sizeof(int32_t) * N) == 0 ? "equal to" : "DIFFER from");
	if (argc > 1 && strcmp(argv[1], "kmeans") == 0)
		return 0;

	printf("RabitqEncode of %d: %.3f s (%.1f us a vector)\n", N, encode_time,
		   encode_time / N * 1e6);

	/*
	 * B-bit codes: encoding (the scale search) and one estimate from a code.
	 * Their 1-bit codes go to arrays of their own: 'codes' and 'factors' are
	 * in list order, which the scan figures below read.
	 */
	for (int bits = 2; bits <= 8; bits *= 2)
	{
		size_t		xb = RabitqExCodeBytes(rotation, bits);
		uint8_t    *ex_codes = malloc(xb * N);
		RabitqExFactors *ex_factors = malloc(sizeof(RabitqExFactors) * N);
		uint8_t    *bit_codes = malloc(cb * N);
		RabitqFactors *bit_factors = malloc(sizeof(RabitqFactors) * N);
		RabitqQuery *prepared = malloc(RabitqQuerySize(rotation));
		double		ex_encode,
					ex_estimate;
		float		sink = 0.0f;

		if (ex_codes == NULL || ex_factors == NULL || bit_codes == NULL || bit_factors == NULL ||
			prepared == NULL)
			abort();
		t0 = BenchNow();
		for (int i = 0; i < N; i++)
			RabitqEncodeBits(rotation, bits, data + (size_t) i * DIMS,
							 centroids + (size_t) assignment[i] * DIMS, bit_codes + (size_t) i * cb,
							 &bit_factors[i], ex_codes + (size_t) i * xb, &ex_factors[i]);
		ex_encode = BenchNow() - t0;
		RabitqQueryPrepare(rotation, data, centroids, prepared);
		t0 = BenchNow();
		for (int i = 0; i < N; i++)
		{
			float		error;

			sink += RabitqExEstimate(prepared, bits, ex_codes + (size_t) i * xb, &ex_factors[i],
									 &error);
		}
		ex_estimate = BenchNow() - t0;
		printf("RabitqEncodeBits, %d bits, of %d: %.3f s (%.2f x RabitqEncode); "
			   "RabitqExEstimate %.0f ns a code%s\n", bits, N, ex_encode, ex_encode / encode_time,
			   ex_estimate / N * 1e9, sink == 12345.0f ? " " : "");
		free(ex_codes);
		free(ex_factors);
		free(bit_codes);
		free(bit_factors);
		free(prepared);
	}

	/* ---- scan throughput: all lists, one query ---- */
	for (int j = 0; j < K; j++)
		RabitqRotate(rotation, centroids + (size_t) j * DIMS,
					 rotated_centroids + (size_t) j * RabitqPaddedDims(rotation));
	for (int k = 0; k < RABITQ_KERNEL_COUNT; k++)
		estimate_time[k] = 1e30;
	for (int rep = 0; rep < REPS; rep++)
	{
		const float *q = queries + (size_t) (rep % QUERIES) * DIMS;
		double		t;

		t0 = BenchNow();
		for (int j = 0; j < K; j++)
			kernels->l2_squared_batch(q, listed + list_start[j] * DIMS, DIMS,
									  list_start[j + 1] - list_start[j], exact + list_start[j]);
		t = BenchNow() - t0;
		if (t < exact_time)
			exact_time = t;

		t0 = BenchNow();
		for (int j = 0; j < K; j++)
			RabitqQueryPrepare(rotation, q, centroids + (size_t) j * DIMS,
							   (RabitqQuery *) ((char *) prepared + j * qsize));
		t = BenchNow() - t0;
		if (t < prepare_time)
			prepare_time = t;

		t0 = BenchNow();
		RabitqRotate(rotation, q, rotated_query);
		for (int j = 0; j < K; j++)
			RabitqQueryPrepareRotated(rotation, rotated_query,
									  rotated_centroids + (size_t) j * RabitqPaddedDims(rotation),
									  (RabitqQuery *) ((char *) prepared + j * qsize));
		t = BenchNow() - t0;
		if (t < rotated_time)
			rotated_time = t;

		for (int k = 0; k < RABITQ_KERNEL_COUNT; k++)
		{
			if (!RabitqKernelAvailable((RabitqKernel) k))
				continue;
			for (int j = 0; j < K; j++)
				RabitqQuerySetKernel((RabitqQuery *) ((char *) prepared + j * qsize),
									 (RabitqKernel) k);
			t0 = BenchNow();
			for (int j = 0; j < K; j++)
				RabitqEstimate((RabitqQuery *) ((char *) prepared + j * qsize),
							   codes + list_start[j] * cb, factors + list_start[j],
							   list_start[j + 1] - list_start[j], out + list_start[j],
							   err + list_start[j]);
			t = BenchNow() - t0;
			if (t < estimate_time[k])
				estimate_time[k] = t;
		}
	}
	printf("\nscan of all %d vectors in %d lists, one query (best of %d):\n", N, K, REPS);
	printf("  exact l2_squared_batch (%s)  %10.0f vectors/s  %6.2f ms  1.00x\n",
		   kernels->name, N / exact_time, exact_time * 1e3);
	printf("  RabitqQueryPrepare x %d       %10.0f preps/s    %6.2f ms\n",
		   K, K / prepare_time, prepare_time * 1e3);
	printf("  RabitqQueryPrepareRotated x %d %9.0f preps/s    %6.2f ms (one RabitqRotate included)\n",
		   K, K / rotated_time, rotated_time * 1e3);
	for (int k = 0; k < RABITQ_KERNEL_COUNT; k++)
	{
		if (!RabitqKernelAvailable((RabitqKernel) k))
			continue;
		printf("  RabitqEstimate %-8s         %10.0f codes/s    %6.2f ms  %5.2fx "
			   "(with preparation: %5.2fx, rotated %5.2fx)\n",
			   RabitqKernelName((RabitqKernel) k), N / estimate_time[k], estimate_time[k] * 1e3,
			   exact_time / estimate_time[k], exact_time / (estimate_time[k] + prepare_time),
			   exact_time / (estimate_time[k] + rotated_time));
	}
	printf("  bytes read per vector: exact %d, RaBitQ %zu (code) + %zu (factors)\n",
		   DIMS * 4, cb, sizeof(RabitqFactors));

	/* ---- ordering the lists: exact keys of all K centroids against their int8 bounds ---- */
	{
		IvfCoarse  *coarse = IvfCoarseCreate(centroids, K, DIMS);
		void	   *scratch = Alloc(IvfCoarseScratchSize(coarse));
		float	   *keys = Alloc(sizeof(float) * K);
		double		keys_time = 1e30;
		double		bounds_time[2] = {1e30, 1e30};

		for (int rep = 0; rep < REPS; rep++)
		{
			double		t0 = BenchNow();
			double		t;

			for (int qi = 0; qi < QUERIES; qi++)
				for (int j = 0; j < K; j++)
					keys[j] = kernels->l2_squared(queries + (size_t) qi * DIMS,
												  centroids + (size_t) j * DIMS, DIMS);
			t = BenchNow() - t0;
			keys_time = t < keys_time ? t : keys_time;
			for (int fast = 0; fast < 2; fast++)
			{
				if (fast && !IvfCoarseFast())
					continue;
				t0 = BenchNow();
				for (int qi = 0; qi < QUERIES; qi++)
					IvfCoarseBounds(coarse, queries + (size_t) qi * DIMS, false, fast, scratch, keys);
				t = BenchNow() - t0;
				bounds_time[fast] = t < bounds_time[fast] ? t : bounds_time[fast];
			}
		}
		printf("\nlist order of one query, %d centroids (best of %d x %d queries):\n", K, REPS, QUERIES);
		printf("  exact keys (%s)   %7.2f us  1.00x\n", kernels->name, keys_time / QUERIES * 1e6);
		printf("  IvfCoarseBounds portable %7.2f us  %5.2fx\n", bounds_time[0] / QUERIES * 1e6,
			   keys_time / bounds_time[0]);
		if (IvfCoarseFast())
			printf("  IvfCoarseBounds VNNI     %7.2f us  %5.2fx\n", bounds_time[1] / QUERIES * 1e6,
				   keys_time / bounds_time[1]);
		IvfCoarseFree(coarse);
		free(scratch);
		free(keys);
	}

	/* ---- recall of re-ranking the estimate's top 100 ---- */
	for (int j = 0; j < K; j++)
		RabitqQuerySetKernel((RabitqQuery *) ((char *) prepared + j * qsize), RabitqKernelBest());
	for (int lists = NEAREST_LISTS; lists <= K; lists += K - NEAREST_LISTS)
	{
		float	   *keys = Alloc(sizeof(float) * K);
		int32_t    *nearest = Alloc(sizeof(int32_t) * K);
		int			found = 0;

		for (int qi = 0; qi < QUERIES; qi++)
		{
			const float *q = queries + (size_t) qi * DIMS;
			float	   *approx = out;

			/* rows of the lists not probed rank last */
			for (int j = 0; j < K; j++)
			{
				keys[j] = kernels->l2_squared(q, centroids + (size_t) j * DIMS, DIMS);
				nearest[j] = j;
			}
			sort_key = keys;
			qsort(nearest, K, sizeof(int32_t), ByKey);
			for (int p = 0; p < N; p++)
				approx[p] = INFINITY;
			for (int n = 0; n < lists; n++)
			{
				int			j = nearest[n];
				RabitqQuery *pq = (RabitqQuery *) ((char *) prepared + j * qsize);

				RabitqQueryPrepare(rotation, q, centroids + (size_t) j * DIMS, pq);
				RabitqEstimate(pq, codes + list_start[j] * cb, factors + list_start[j],
							   list_start[j + 1] - list_start[j], approx + list_start[j],
							   err + list_start[j]);
				for (size_t p = list_start[j]; p < list_start[j + 1]; p++)
					approx[p] = factors[p].residual_norm * factors[p].residual_norm +
						RabitqQueryResidualNormSquared(pq) - 2.0f * approx[p];
			}
			for (int j = 0; j < K; j++)
				kernels->l2_squared_batch(q, listed + list_start[j] * DIMS, DIMS,
										  list_start[j + 1] - list_start[j], exact + list_start[j]);
			for (int p = 0; p < N; p++)
				order[p] = truth[p] = p;
			sort_key = approx;
			qsort(order, N, sizeof(int32_t), ByKey);
			sort_key = exact;
			qsort(truth, N, sizeof(int32_t), ByKey);
			qsort(order, RERANK, sizeof(int32_t), ByKey);
			for (int a = 0; a < TOP; a++)
				for (int b = 0; b < TOP; b++)
					found += order[a] == truth[b];
		}
		printf("%srecall@%d, exact re-ranking of the top %d by estimate, %d nearest lists of %d, %d queries: %.3f\n",
			   lists == NEAREST_LISTS ? "\n" : "", TOP, RERANK, lists, K, QUERIES,
			   (double) found / (QUERIES * TOP));
		free(keys);
		free(nearest);
	}

	RabitqRotationFree(rotation);
	free(rotated_centroids);
	free(rotated_query);
	free(data);
	free(queries);
	free(sample);
	free(centroids);
	free(centroids2);
	free(balanced);
	free(assignment);
	free(by_list);
	free(listed);
	free(out);
	free(err);
	free(exact);
	free(order);
	free(truth);
	free(codes);
	free(factors);
	free(prepared);
	return 0;
}
