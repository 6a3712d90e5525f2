/*
 * test_ivf_math.c
 *	  Unit tests of the index math (src/ivf/kmeans.c, src/ivf/rabitq.c,
 *	  src/ivf/rabitq_ex.c, src/ivf/assign.c).
 *
 * k-means: planted clusters are found, a seed fixes the result whatever the
 * thread count, the balance penalty shrinks the largest list, empty clusters
 * are repaired, KMeansNearest orders by (distance, id), KMeansAssign is the
 * plain argmin of the kernel's distance, bad input is EINVAL.
 *
 * RaBitQ: the rotation is orthogonal (norms, inner products, a Gram matrix),
 * deterministic, and spreads a one-hot vector over all padded dimensions;
 * the estimator is unbiased, its error bound holds for >= 99% of pairs, it
 * ranks well enough that re-ranking the top 100 by estimate finds >= 90% of
 * the true 10 nearest neighbours, and every kernel gives identical results.
 *
 * Extended RaBitQ: the scale search comes within 0.1% of a brute force and
 * does not depend on the CPU, the levels' top bits are the signs, the estimate is unbiased with a bound that
 * holds as often as the 1-bit one and is several times smaller, both kernels
 * agree bit for bit, and ranking by B-bit estimates alone gives recall that
 * grows with the bits.
 *
 * Assign and encode: IvfAssignEncode gives what KMeansAssign and
 * RabitqEncodeBits give one vector at a time, bit for bit, with any number
 * of threads.
 *
 * All data come from fixed seeds; no test depends on timing.
 */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivf/ivf_math.h"
#include "ivf/ivf_math_internal.h"
#include "tap.h"
#include "vector/distance.h"

/* ---- data ---- */

static uint64_t rng;

static double
Uniform01(void)
{
	return IvfRandomUniform(&rng);
}

/* Standard normal (Box-Muller; only the tests need it) */
static double
Gaussian(void)
{
	double		u = Uniform01();
	double		v = Uniform01();

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static void *
Alloc(size_t bytes)
{
	void	   *p = malloc(bytes == 0 ? 1 : bytes);

	if (p == NULL)
		abort();
	return p;
}

static float *
Floats(size_t n)
{
	return Alloc(sizeof(float) * n);
}

/*
 * n points around 'clusters' centres drawn from N(0, spread^2) per
 * coordinate, each point its centre plus N(0, noise^2); label[i] its centre
 * (label may be NULL), centres written to 'centres' when not NULL.
 */
static float *
Clustered(size_t n, int dims, int clusters, double spread, double noise,
		  int32_t *label, float *centres_out)
{
	float	   *data = Floats(n * (size_t) dims);
	float	   *centres = Floats((size_t) clusters * dims);

	for (size_t i = 0; i < (size_t) clusters * dims; i++)
		centres[i] = (float) (spread * Gaussian());
	for (size_t i = 0; i < n; i++)
	{
		int			c = (int) (i % (size_t) clusters);

		if (label != NULL)
			label[i] = c;
		for (int d = 0; d < dims; d++)
			data[i * dims + d] = centres[(size_t) c * dims + d] + (float) (noise * Gaussian());
	}
	if (centres_out != NULL)
		memcpy(centres_out, centres, sizeof(float) * (size_t) clusters * dims);
	free(centres);
	return data;
}

static double
Dot(const float *a, const float *b, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
		s += (double) a[i] * b[i];
	return s;
}

static double
L2Sq(const float *a, const float *b, int n)
{
	double		s = 0.0;

	for (int i = 0; i < n; i++)
	{
		double		d = (double) a[i] - b[i];

		s += d * d;
	}
	return s;
}

static KMeansOptions
Options(int k, int iterations, uint64_t seed)
{
	KMeansOptions o = {
		.k = k,
		.max_iterations = iterations,
		.seed = seed,
		.balance = 0.0f,
		.threads = 1,
	};

	return o;
}

static size_t
LargestList(const float *centroids, int k, int dims, const float *data, size_t n)
{
	int32_t    *assignment = Alloc(sizeof(int32_t) * n);
	size_t	   *counts = calloc((size_t) k, sizeof(size_t));
	size_t		largest = 0;

	KMeansAssign(centroids, k, dims, data, n, assignment);
	for (size_t i = 0; i < n; i++)
		counts[assignment[i]]++;
	for (int j = 0; j < k; j++)
		if (counts[j] > largest)
			largest = counts[j];
	free(assignment);
	free(counts);
	return largest;
}

/* ---- k-means ---- */

static void
TestPlanted(void)
{
	enum
	{
		DIMS = 16, K = 8, PER = 300
	};
	size_t		n = (size_t) K * PER;
	int32_t    *label = Alloc(sizeof(int32_t) * n);
	int32_t    *assignment = Alloc(sizeof(int32_t) * n);
	float		planted[K * DIMS];
	float		centroids[K * DIMS];
	float	   *data;
	KMeansOptions o = Options(K, 25, 1);
	char		error[IVF_MATH_ERROR_SIZE];
	int			match[K];
	bool		bijective = true;
	double		worst = 0.0;
	bool		pure = true;

	rng = 11;
	data = Clustered(n, DIMS, K, 30.0, 1.0, label, planted);
	tap_ok(KMeansTrain(data, n, DIMS, &o, centroids, error) == 0,
		   "planted: KMeansTrain succeeds");

	/* Each planted centre has its own centroid, within the mean's noise */
	for (int c = 0; c < K; c++)
	{
		int			best = 0;

		for (int j = 1; j < K; j++)
			if (L2Sq(planted + c * DIMS, centroids + j * DIMS, DIMS) <
				L2Sq(planted + c * DIMS, centroids + best * DIMS, DIMS))
				best = j;
		match[c] = best;
		if (L2Sq(planted + c * DIMS, centroids + best * DIMS, DIMS) > worst)
			worst = L2Sq(planted + c * DIMS, centroids + best * DIMS, DIMS);
		for (int e = 0; e < c; e++)
			if (match[e] == best)
				bijective = false;
	}
	tap_ok(bijective, "planted: one centroid per planted cluster");
	/* E|mean - centre|^2 = DIMS / PER = 0.05 */
	tap_ok(worst < 0.5, "planted: every centroid within 0.5 (squared) of its centre (worst %.3f)",
		   worst);

	KMeansAssign(centroids, K, DIMS, data, n, assignment);
	for (size_t i = 0; i < n; i++)
		if (assignment[i] != match[label[i]])
			pure = false;
	tap_ok(pure, "planted: KMeansAssign puts every point in its planted cluster");

	free(label);
	free(assignment);
	free(data);
}

static void
TestDeterminism(void)
{
	enum
	{
		DIMS = 32, K = 40
	};
	size_t		n = 6000;
	float	   *data;
	float	   *a = Floats(K * DIMS);
	float	   *b = Floats(K * DIMS);
	KMeansOptions o = Options(K, 12, 77);
	char		error[IVF_MATH_ERROR_SIZE];
	bool		ok = true;

	rng = 12;
	data = Clustered(n, DIMS, 60, 3.0, 1.0, NULL, NULL);

	ok &= KMeansTrain(data, n, DIMS, &o, a, error) == 0;
	ok &= KMeansTrain(data, n, DIMS, &o, b, error) == 0;
	tap_ok(ok && memcmp(a, b, sizeof(float) * K * DIMS) == 0,
		   "determinism: same seed, same centroids");

	for (int threads = 2; threads <= 3; threads++)
	{
		o.threads = threads;
		ok = KMeansTrain(data, n, DIMS, &o, b, error) == 0;
		tap_ok(ok && memcmp(a, b, sizeof(float) * K * DIMS) == 0,
			   "determinism: threads = %d gives the centroids of threads = 1", threads);
	}

	o.balance = 0.5f;
	o.threads = 1;
	ok = KMeansTrain(data, n, DIMS, &o, a, error) == 0;
	o.threads = 2;
	ok &= KMeansTrain(data, n, DIMS, &o, b, error) == 0;
	tap_ok(ok && memcmp(a, b, sizeof(float) * K * DIMS) == 0,
		   "determinism: with balance too, threads = 2 as threads = 1");

	o = Options(K, 12, 78);
	ok = KMeansTrain(data, n, DIMS, &o, b, error) == 0;
	o.seed = 77;
	ok &= KMeansTrain(data, n, DIMS, &o, a, error) == 0;
	tap_ok(ok && memcmp(a, b, sizeof(float) * K * DIMS) != 0,
		   "determinism: another seed, other centroids");

	/* No iterations: the seeds, which are data points */
	o.max_iterations = 0;
	ok = KMeansTrain(data, n, DIMS, &o, a, error) == 0;
	for (int j = 0; j < K && ok; j++)
	{
		bool		found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = memcmp(a + j * DIMS, data + i * DIMS, sizeof(float) * DIMS) == 0;
		ok = found;
	}
	tap_ok(ok, "max_iterations = 0: every centroid is a data point");

	free(data);
	free(a);
	free(b);
}

/*
 * A dense core and a sparse halo with the same centre: plain k-means gives
 * the halo's big, empty-looking cells; a rising penalty on large lists
 * must shrink the largest one.
 */
static void
TestBalance(void)
{
	enum
	{
		DIMS = 8, K = 32
	};
	size_t		n = 20000;
	float	   *data = Floats(n * DIMS);
	float	   *centroids = Floats(K * DIMS);
	KMeansOptions o = Options(K, 20, 5);
	char		error[IVF_MATH_ERROR_SIZE];
	size_t		plain;
	size_t		balanced;
	bool		ok;

	rng = 13;
	for (size_t i = 0; i < n; i++)
	{
		/* 1 point in 10 in a wide halo, the rest in a tight skewed core */
		double		s = (i % 10 == 0) ? 6.0 : 1.0;

		for (int d = 0; d < DIMS; d++)
			data[i * DIMS + d] = (float) (s * Gaussian() * (d == 0 ? 4.0 : 1.0));
	}

	ok = KMeansTrain(data, n, DIMS, &o, centroids, error) == 0;
	plain = LargestList(centroids, K, DIMS, data, n);
	o.balance = 1.0f;
	ok &= KMeansTrain(data, n, DIMS, &o, centroids, error) == 0;
	balanced = LargestList(centroids, K, DIMS, data, n);
	tap_diag("balance: largest list %zu plain, %zu with balance 1 (fair share %zu)",
			 plain, balanced, n / K);
	tap_ok(ok && balanced < plain, "balance: the largest list shrinks (%zu < %zu)",
		   balanced, plain);

	free(data);
	free(centroids);
}

/* Fewer distinct points than clusters: empty clusters are repaired, nothing breaks */
static void
TestDuplicates(void)
{
	enum
	{
		DIMS = 4, K = 6, DISTINCT = 3
	};
	size_t		n = 300;
	float	   *data = Floats(n * DIMS);
	float		centroids[K * DIMS];
	KMeansOptions o = Options(K, 10, 3);
	char		error[IVF_MATH_ERROR_SIZE];
	bool		finite = true;
	bool		covered = true;

	for (size_t i = 0; i < n; i++)
		for (int d = 0; d < DIMS; d++)
			data[i * DIMS + d] = (float) ((int) (i % DISTINCT) * 10 + d);

	tap_ok(KMeansTrain(data, n, DIMS, &o, centroids, error) == 0,
		   "duplicates: k = %d on %d distinct points succeeds", K, DISTINCT);
	for (int i = 0; i < K * DIMS; i++)
		finite &= isfinite(centroids[i]) != 0;
	tap_ok(finite, "duplicates: all centroids finite");
	for (int p = 0; p < DISTINCT; p++)
	{
		bool		near = false;

		for (int j = 0; j < K; j++)
			near |= L2Sq(data + p * DIMS, centroids + j * DIMS, DIMS) < 1e-6;
		covered &= near;
	}
	tap_ok(covered, "duplicates: every distinct point has a centroid on it");

	/* n == k: every point its own cluster */
	o = Options(DISTINCT, 5, 4);
	tap_ok(KMeansTrain(data, DISTINCT, DIMS, &o, centroids, error) == 0 &&
		   LargestList(centroids, DISTINCT, DIMS, data, DISTINCT) == 1,
		   "n == k: one point per cluster");
	free(data);
}

/*
 * Lloyd can empty a cluster: three far groups, and the data built so that
 * the seeds can land two in one group.  Whatever the seeds, the result must
 * give every group a centroid once the repair has split the largest.
 */
static void
TestRepair(void)
{
	enum
	{
		DIMS = 2, K = 12
	};
	size_t		n = 3000;
	float	   *data = Floats(n * DIMS);
	float	   *centroids = Floats(K * DIMS);
	int32_t    *assignment = Alloc(sizeof(int32_t) * n);
	size_t		counts[K] = {0};
	char		error[IVF_MATH_ERROR_SIZE];
	int			nonempty = 0;
	bool		ok = true;

	rng = 14;
	/* A line of points: k-means++ seeds, Lloyd moves them, none ends empty */
	for (size_t i = 0; i < n; i++)
	{
		data[i * DIMS] = (float) Uniform01();
		data[i * DIMS + 1] = (float) (0.01 * Uniform01());
	}
	for (uint64_t seed = 1; seed <= 20 && ok; seed++)
	{
		KMeansOptions o = Options(K, 30, seed);

		o.balance = 2.0f;		/* a strong penalty empties clusters now and then */
		ok = KMeansTrain(data, n, DIMS, &o, centroids, error) == 0;
		KMeansAssign(centroids, K, DIMS, data, n, assignment);
		memset(counts, 0, sizeof(counts));
		for (size_t i = 0; i < n; i++)
			counts[assignment[i]]++;
		nonempty = 0;
		for (int j = 0; j < K; j++)
			nonempty += counts[j] > 0;
		if (nonempty != K)
			ok = false;
	}
	tap_ok(ok, "repair: every cluster non-empty on spread data, 20 seeds with balance 2");

	free(data);
	free(centroids);
	free(assignment);
}

static void
TestNearest(void)
{
	enum
	{
		DIMS = 24, K = 600
	};
	const VectorKernels *kernels = VectorKernelsBest();
	float	   *centroids = Floats(K * DIMS);
	float		query[DIMS];
	int32_t		ids[K];
	float		distances[K];
	float		exact[K];
	int32_t		assignment[1];
	bool		ordered = true;
	bool		complete = true;
	bool		ties = true;

	rng = 15;
	for (int i = 0; i < K * DIMS; i++)
		centroids[i] = (float) Gaussian();
	/* Copies: 7 equals 300 and 599, so ties must come out 7, 300, 599 */
	memcpy(centroids + 300 * DIMS, centroids + 7 * DIMS, sizeof(float) * DIMS);
	memcpy(centroids + 599 * DIMS, centroids + 7 * DIMS, sizeof(float) * DIMS);

	for (int trial = 0; trial < 20; trial++)
	{
		int			count = trial == 0 ? K : trial == 1 ? 1 : 1 + (int) (Uniform01() * 40);

		for (int d = 0; d < DIMS; d++)
			query[d] = trial == 2 ? centroids[7 * DIMS + d] : (float) Gaussian();
		for (int j = 0; j < K; j++)
			exact[j] = kernels->l2_squared(query, centroids + j * DIMS, DIMS);

		KMeansNearest(centroids, K, DIMS, query, count, ids, distances);
		for (int r = 0; r < count; r++)
		{
			int			rank = 0;

			/* the r-th must have exactly r centroids before it in (distance, id) order */
			if (distances[r] != exact[ids[r]])
				complete = false;
			for (int j = 0; j < K; j++)
				if (exact[j] < exact[ids[r]] || (exact[j] == exact[ids[r]] && j < ids[r]))
					rank++;
			if (rank != r)
				ordered = false;
		}
		if (trial == 2)
			ties = ids[0] == 7 && ids[1] == 300 && ids[2] == 599 && distances[0] == 0.0f;
		KMeansAssign(centroids, K, DIMS, query, 1, assignment);
		if (assignment[0] != ids[0])
			ordered = false;
	}
	tap_ok(complete, "nearest: distances are the kernel's squared L2");
	tap_ok(ordered, "nearest: nearest first, ties by id, KMeansAssign agrees (k = %d)", K);
	tap_ok(ties, "nearest: equal centroids come out 7, 300, 599");
	free(centroids);
}

/*
 * KMeansAssign is the plain argmin of the kernel's squared L2 (ties to the
 * lower number), whatever blocks it computes the distances in: point counts
 * and centroid counts that are no multiple of its blocks or tiles, a width
 * that is no multiple of 8, and centroids repeated so that ties occur (some
 * points sit exactly on a repeated centroid).
 */
static void
TestAssign(void)
{
	static const struct
	{
		int			dims;
		int			k;
		size_t		n;
	}			shapes[] = {{37, 131, 101}, {1, 5, 50}, {784, 70, 97}, {9, 1, 4}};
	const VectorKernels *kernels = VectorKernelsBest();
	bool		plain = true;
	bool		threaded = true;

	rng = 16;
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
	{
		int			dims = shapes[s].dims;
		int			k = shapes[s].k;
		size_t		n = shapes[s].n;
		float	   *data = Clustered(n, dims, 7, 3.0, 1.0, NULL, NULL);
		float	   *centroids = Floats((size_t) k * dims);
		int32_t    *got = Alloc(sizeof(int32_t) * n);
		int32_t    *want = Alloc(sizeof(int32_t) * n);

		for (size_t i = 0; i < (size_t) k * dims; i++)
			centroids[i] = (float) (3.0 * Gaussian());
		/* centroid j >= k / 2 repeats centroid j - k / 2; some are points */
		for (int j = k / 2; j < k; j++)
			memcpy(centroids + (size_t) j * dims, centroids + (size_t) (j - k / 2) * dims,
				   sizeof(float) * dims);
		for (int j = 0; j < k / 2 && (size_t) j < n; j += 3)
			memcpy(centroids + (size_t) j * dims, data + (size_t) j * dims, sizeof(float) * dims);

		for (size_t i = 0; i < n; i++)
		{
			float		best = kernels->l2_squared(data + i * dims, centroids, dims);

			want[i] = 0;
			for (int j = 1; j < k; j++)
			{
				float		d = kernels->l2_squared(data + i * dims, centroids + (size_t) j * dims,
													dims);

				if (d < best)
				{
					best = d;
					want[i] = j;
				}
			}
		}
		KMeansAssign(centroids, k, dims, data, n, got);
		if (memcmp(got, want, sizeof(int32_t) * n) != 0)
		{
			plain = false;
			tap_diag("assign: dims %d, k %d, n %zu differs from the plain argmin", dims, k, n);
		}
		memset(got, 0xff, sizeof(int32_t) * n);
		KMeansAssignParallel(centroids, k, dims, data, n, got, 3);
		threaded &= memcmp(got, want, sizeof(int32_t) * n) == 0;

		free(data);
		free(centroids);
		free(got);
		free(want);
	}
	tap_ok(plain, "assign: KMeansAssign is the argmin of l2_squared, ties to the lower number");
	tap_ok(threaded, "assign: KMeansAssignParallel with 3 threads gives the same");
}

static void
TestErrors(void)
{
	float		data[8 * 2] = {0};
	float		centroids[8 * 2];
	char		error[IVF_MATH_ERROR_SIZE];
	KMeansOptions o = Options(2, 5, 1);

	o.k = 0;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, error) == EINVAL && error[0] != '\0',
		   "errors: k = 0 is EINVAL (%s)", error);
	o.k = 9;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, error) == EINVAL,
		   "errors: k > n is EINVAL (%s)", error);
	o.k = 2;
	tap_ok(KMeansTrain(data, 8, 0, &o, centroids, error) == EINVAL,
		   "errors: dims = 0 is EINVAL (%s)", error);
	o.max_iterations = -1;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, error) == EINVAL,
		   "errors: negative iterations is EINVAL (%s)", error);
	o.max_iterations = 5;
	o.balance = NAN;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, error) == EINVAL,
		   "errors: NaN balance is EINVAL (%s)", error);
	o.balance = 0.0f;
	data[5] = INFINITY;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, error) == EINVAL,
		   "errors: an infinite value is EINVAL (%s)", error);
	data[5] = NAN;
	tap_ok(KMeansTrain(data, 8, 2, &o, centroids, NULL) == EINVAL,
		   "errors: NaN is EINVAL, NULL error buffer allowed");
}

/* ---- the rotation ---- */

static const int test_dims[] = {1, 63, 64, 65, 129, 784, 1536, 16000};
#define NUM_TEST_DIMS ((int) (sizeof(test_dims) / sizeof(test_dims[0])))

static void
TestRotation(void)
{
	bool		sizes = true;

	tap_ok(RabitqRotationCreate(0, 1) == NULL && RabitqRotationCreate(16001, 1) == NULL,
		   "rotation: dims 0 and 16001 are refused");

	for (int t = 0; t < NUM_TEST_DIMS; t++)
	{
		int			dims = test_dims[t];
		RabitqRotation *r = RabitqRotationCreate(dims, 42);
		RabitqRotation *same = RabitqRotationCreate(dims, 42);
		RabitqRotation *other = RabitqRotationCreate(dims, 43);
		int			d = RabitqPaddedDims(r);
		float	   *x = Floats(dims);
		float	   *y = Floats(dims);
		float	   *rx = Floats(d);
		float	   *ry = Floats(d);
		float	   *rx2 = Floats(d);
		double		worst_norm = 0.0;
		double		worst_dot = 0.0;
		double		max_coord = 0.0;
		double		first_half = 0.0;
		bool		deterministic = true;

		sizes &= d % 64 == 0 && d >= dims && d < dims + 64 &&
			RabitqCodeBytes(r) == (size_t) d / 8;

		rng = 16 + (uint64_t) dims;
		for (int trial = 0; trial < 8; trial++)
		{
			double		nx,
						ny,
						dot;

			for (int i = 0; i < dims; i++)
			{
				x[i] = (float) Gaussian();
				/* correlated with x, so the inner product is not ~0 */
				y[i] = (float) (0.6 * x[i] + Gaussian());
			}
			RabitqRotate(r, x, rx);
			RabitqRotate(r, y, ry);
			nx = Dot(x, x, dims);
			ny = Dot(y, y, dims);
			dot = Dot(x, y, dims);
			worst_norm = fmax(worst_norm, fabs(Dot(rx, rx, d) - nx) / nx);
			worst_dot = fmax(worst_dot, fabs(Dot(rx, ry, d) - dot) / sqrt(nx * ny));

			RabitqRotate(same, x, rx2);
			deterministic &= memcmp(rx, rx2, sizeof(float) * d) == 0;
			RabitqRotate(other, x, rx2);
			deterministic &= memcmp(rx, rx2, sizeof(float) * d) != 0 || dims == 0;
		}
		/* 20 roundings deep at most per coordinate: 1e-5 is ~100 ulps of slack */
		tap_ok(worst_norm < 1e-5 && worst_dot < 1e-5,
			   "rotation: dims %d (padded %d) keeps norms (%.2g) and inner products (%.2g)",
			   dims, d, worst_norm, worst_dot);
		tap_ok(deterministic, "rotation: dims %d: same seed same result, other seed other",
			   dims);

		/* The portable code and the AVX2 code rotate bit for bit alike */
		if (RabitqRotationSetAvx2(r, false))
		{
			RabitqRotate(r, x, rx2);
			RabitqRotationSetAvx2(r, true);
			RabitqRotate(r, x, rx);
			tap_ok(memcmp(rx, rx2, sizeof(float) * d) == 0,
				   "rotation: dims %d: portable and AVX2 code agree bit for bit", dims);
		}
		else
			tap_skip("no AVX2 on this CPU", "rotation: dims %d: portable and AVX2 code agree",
					 dims);

		/* A one-hot vector ends up spread over all of D */
		memset(x, 0, sizeof(float) * dims);
		x[0] = 1.0f;
		RabitqRotate(r, x, rx);
		for (int i = 0; i < d; i++)
		{
			max_coord = fmax(max_coord, fabs(rx[i]) * sqrt((double) d));
			if (i < d / 2)
				first_half += (double) rx[i] * rx[i];
		}
		tap_ok(max_coord < 6.0 && first_half > 0.3 && first_half < 0.7,
			   "rotation: dims %d spreads e_0: max |y_i| sqrt(D) = %.2f, first half %.2f",
			   dims, max_coord, first_half);

		RabitqRotationFree(r);
		RabitqRotationFree(same);
		RabitqRotationFree(other);
		free(x);
		free(y);
		free(rx);
		free(ry);
		free(rx2);
	}
	tap_ok(sizes, "rotation: padded dims the next multiple of 64, codes padded / 8 bytes");

	/* The Gram matrix of rotated basis vectors, a non-power-of-two D */
	{
		int			dims = 129;
		RabitqRotation *r = RabitqRotationCreate(dims, 9);
		int			d = RabitqPaddedDims(r);
		float	   *basis = Floats((size_t) dims * d);
		float	   *e = Floats(dims);
		double		worst = 0.0;

		for (int i = 0; i < dims; i++)
		{
			memset(e, 0, sizeof(float) * dims);
			e[i] = 1.0f;
			RabitqRotate(r, e, basis + (size_t) i * d);
		}
		for (int i = 0; i < dims; i++)
			for (int j = 0; j <= i; j++)
				worst = fmax(worst, fabs(Dot(basis + (size_t) i * d, basis + (size_t) j * d, d) -
										 (i == j ? 1.0 : 0.0)));
		tap_ok(worst < 1e-6, "rotation: Gram matrix of the rotated basis (dims 129, D %d) "
			   "is the identity to %.2g", d, worst);
		RabitqRotationFree(r);
		free(basis);
		free(e);
	}
}

/* ---- RaBitQ ---- */

typedef struct Encoded
{
	RabitqRotation *rotation;
	size_t		code_bytes;
	uint8_t    *codes;
	RabitqFactors *factors;
} Encoded;

static void
Encode(Encoded *e, int dims, const float *data, size_t n, const float *centroid,
	   uint64_t seed)
{
	e->rotation = RabitqRotationCreate(dims, seed);
	e->code_bytes = RabitqCodeBytes(e->rotation);
	e->codes = Alloc(e->code_bytes * n);
	e->factors = Alloc(sizeof(RabitqFactors) * n);
	for (size_t i = 0; i < n; i++)
		RabitqEncode(e->rotation, data + i * dims, centroid, e->codes + i * e->code_bytes,
					 &e->factors[i]);
}

static void
EncodedFree(Encoded *e)
{
	RabitqRotationFree(e->rotation);
	free(e->codes);
	free(e->factors);
}

/*
 * Unbiasedness and the bound, on n vectors around one centroid and nq
 * queries, half of them near a data vector (so the inner products cover
 * more than ~0), under ROTATIONS rotations (seeds).  Errors are relative to
 * |o - c| |q - c|.
 *
 * Unbiased means: averaged over rotations.  Under one rotation the pairs
 * share the rotation's error (at dims 1 every residual is +-e_0, so every
 * pair has the same relative error), so the test compares the mean of the
 * per-rotation means with their standard error.
 *
 * The bound is epsilon_0 = 1.9 standard deviations of a nearly normal error,
 * so it must hold for about 94% of pairs (P(|Z| <= 1.9) = 94.3%); scaled to
 * RABITQ_EPSILON_99 = 2.7 it must hold for 99% (P(|Z| <= 2.7) = 99.3%).
 */
#define ROTATIONS 8

/*
 * The three checks both estimators share, from each rotation's mean relative
 * error, the sum of squared relative errors, and how many of the pairs the
 * bound (and the bound scaled to 2.7) covered; 'what' names the case.
 */
static void
CheckEstimator(const char *what, const double rotation_mean[ROTATIONS], double sum_sq,
			   size_t pairs, size_t within, size_t within99)
{
	double		mean = 0.0,
				spread = 0.0,
				se;
	double		sd = sqrt(sum_sq / pairs);

	for (int r = 0; r < ROTATIONS; r++)
		mean += rotation_mean[r] / ROTATIONS;
	for (int r = 0; r < ROTATIONS; r++)
		spread += (rotation_mean[r] - mean) * (rotation_mean[r] - mean);
	se = sqrt(spread / (ROTATIONS - 1) / ROTATIONS);

	/* 4 standard errors, plus 1% of the spread for the few rotations */
	tap_ok(fabs(mean) <= 4.0 * se + 0.01 * sd,
		   "%s: unbiased over %d rotations, mean relative error %.2g "
		   "(standard error %.2g; one pair's rms %.2g)", what, ROTATIONS, mean, se, sd);
	tap_ok((double) within / pairs >= 0.93,
		   "%s: the epsilon_0 = 1.9 bound holds for %.2f%% of %zu pairs (>= 93%%)",
		   what, 100.0 * within / pairs, pairs);
	tap_ok((double) within99 / pairs >= 0.99,
		   "%s: scaled to epsilon 2.7 it holds for %.2f%% (>= 99%%)", what,
		   100.0 * within99 / pairs);
}

/*
 * Whether RabitqEstimateBounds on 'prepared' (its kernel as set) gives, bit
 * for bit, its documented formula applied to the estimates and errors of
 * RabitqEstimate; lower and upper are scratch of n floats.
 */
static bool
BoundsAsFormula(const RabitqQuery *prepared, const Encoded *e, size_t n, const float *estimate,
				const float *error, float *lower, float *upper)
{
	const float multiple = 1.7368421f;
	float		qc_norm2 = RabitqQueryResidualNormSquared(prepared);
	float		qc_dot = RabitqQueryCentroidDot(prepared);
	bool		ok = true;

	for (int inner_product = 0; inner_product <= 1; inner_product++)
	{
		RabitqEstimateBounds(prepared, e->codes, e->factors, n, multiple, inner_product,
							 lower, upper);
		for (size_t i = 0; i < n; i++)
		{
			const RabitqFactors *f = &e->factors[i];
			float		want_lower;
			float		want_upper;

			if (inner_product)
			{
				float		base = f->centroid_dot + qc_dot + estimate[i];

				want_lower = -(base + multiple * error[i]);
				want_upper = -(base - multiple * error[i]);
			}
			else
			{
				float		rn = f->residual_norm;
				float		base = rn * rn + qc_norm2 - 2 * estimate[i];

				want_lower = base - 2 * multiple * error[i];
				want_upper = base + 2 * multiple * error[i];
			}
			ok &= memcmp(&lower[i], &want_lower, sizeof(float)) == 0 &&
				memcmp(&upper[i], &want_upper, sizeof(float)) == 0;
		}
	}
	return ok;
}

static void
TestEstimates(int dims, size_t n, int nq)
{
	float	   *centroid = Floats(dims);
	float	   *data = Floats(n * dims);
	float	   *query = Floats(dims);
	float	   *estimate = Floats(n);
	float	   *error = Floats(n);
	float	   *other_estimate = Floats(n);
	float	   *other_error = Floats(n);
	double		rotation_mean[ROTATIONS];
	double		sum_sq = 0.0;
	size_t		pairs = 0,
				within = 0,
				within99 = 0;
	bool		factors_ok = true;
	bool		kernels_agree = true;
	bool		bounds_agree = true;
	bool		accessors = true;
	bool		rotated_agree = true;
	bool		prepared_agree = true;
	bool		prepared_compared = false;
	float	   *rotated_query = Floats(RABITQ_MAX_PADDED);
	float	   *rotated_centroid = Floats(RABITQ_MAX_PADDED);

	rng = 17 + (uint64_t) dims;
	for (int d = 0; d < dims; d++)
		centroid[d] = (float) Gaussian();
	for (size_t i = 0; i < n * dims; i++)
		data[i] = centroid[i % dims] + (float) (0.5 * Gaussian());

	for (int rot = 0; rot < ROTATIONS; rot++)
	{
		Encoded		e;
		RabitqQuery *prepared;
		RabitqQuery *portable;
		RabitqQuery *other_prepared;
		double		sum = 0.0;
		size_t		rotation_pairs = 0;

		Encode(&e, dims, data, n, centroid, 1000 * (uint64_t) dims + (uint64_t) rot);
		prepared = Alloc(RabitqQuerySize(e.rotation));
		portable = Alloc(RabitqQuerySize(e.rotation));
		other_prepared = Alloc(RabitqQuerySize(e.rotation));
		/* compared whole: the padding after the header must match too */
		memset(prepared, 0, RabitqQuerySize(e.rotation));
		memset(portable, 0, RabitqQuerySize(e.rotation));
		memset(other_prepared, 0, RabitqQuerySize(e.rotation));

		for (size_t i = 0; i < n && rot == 0; i++)
		{
			double		norm = sqrt(L2Sq(data + i * dims, centroid, dims));
			double		cdot = 0.0;

			for (int d = 0; d < dims; d++)
				cdot += ((double) data[i * dims + d] - centroid[d]) * centroid[d];
			factors_ok &= fabs(e.factors[i].residual_norm - norm) <= 1e-5 * norm &&
				fabs(e.factors[i].centroid_dot - cdot) <=
				1e-4 * (norm * sqrt(Dot(centroid, centroid, dims))) &&
				e.factors[i].code_dot > 0.0f && e.factors[i].code_dot <= 1.0f + 1e-6f;
		}

		for (int j = 0; j < nq; j++)
		{
			const float *near = data + (size_t) (j % n) * dims;

			for (int d = 0; d < dims; d++)
				query[d] = (j % 2 == 0) ? near[d] + (float) (0.2 * Gaussian())
					: centroid[d] + (float) (0.5 * Gaussian());
			RabitqQueryPrepare(e.rotation, query, centroid, prepared);
			accessors &= fabs(RabitqQueryResidualNormSquared(prepared) -
							  L2Sq(query, centroid, dims)) <= 1e-5 * L2Sq(query, centroid, dims) &&
				fabs(RabitqQueryCentroidDot(prepared) - Dot(query, centroid, dims)) <=
				1e-5 * sqrt(Dot(query, query, dims) * Dot(centroid, centroid, dims));
			/* Prepared from rotated vectors: the same up to float rounding */
			RabitqRotate(e.rotation, query, rotated_query);
			RabitqRotate(e.rotation, centroid, rotated_centroid);
			RabitqQueryPrepareRotated(e.rotation, rotated_query, rotated_centroid, prepared);
			/* The portable and AVX2 code prepare the same bytes, from either start */
			if (RabitqRotationSetAvx2(e.rotation, false))
			{
				RabitqQueryPrepareRotated(e.rotation, rotated_query, rotated_centroid,
										  portable);
				prepared_agree &= memcmp(prepared, portable, RabitqQuerySize(e.rotation)) == 0;
				RabitqQueryPrepare(e.rotation, query, centroid, portable);
				RabitqRotationSetAvx2(e.rotation, true);
				RabitqQueryPrepare(e.rotation, query, centroid, other_prepared);
				prepared_agree &= memcmp(other_prepared, portable,
										 RabitqQuerySize(e.rotation)) == 0;
				prepared_compared = true;
			}
			RabitqEstimate(prepared, e.codes, e.factors, n, other_estimate, other_error);
			RabitqQueryPrepare(e.rotation, query, centroid, prepared);
			RabitqEstimate(prepared, e.codes, e.factors, n, estimate, error);
			for (size_t i = 0; i < n; i++)
				rotated_agree &= fabs(other_estimate[i] - estimate[i]) <= 0.02 * error[i] + 1e-6 &&
					fabs(other_error[i] - error[i]) <= 1e-3 * error[i] + 1e-6;

			for (int k = 0; k < RABITQ_KERNEL_COUNT; k++)
			{
				if (!RabitqKernelAvailable((RabitqKernel) k))
					continue;
				RabitqQuerySetKernel(prepared, (RabitqKernel) k);
				RabitqEstimate(prepared, e.codes, e.factors, n, other_estimate, other_error);
				kernels_agree &= memcmp(estimate, other_estimate, sizeof(float) * n) == 0 &&
					memcmp(error, other_error, sizeof(float) * n) == 0;
				bounds_agree &= BoundsAsFormula(prepared, &e, n, estimate, error,
												other_estimate, other_error);
			}

			for (size_t i = 0; i < n; i++)
			{
				const float *o = data + i * dims;
				double		truth = 0.0;
				double		scale = sqrt(L2Sq(o, centroid, dims) * L2Sq(query, centroid, dims));
				double		miss = estimate[i] - truth;

				for (int d = 0; d < dims; d++)
					truth += ((double) o[d] - centroid[d]) * ((double) query[d] - centroid[d]);
				miss = estimate[i] - truth;
				sum += miss / scale;
				sum_sq += (miss / scale) * (miss / scale);
				within += fabs(miss) <= error[i];
				within99 += fabs(miss) <= error[i] * (RABITQ_EPSILON_99 / RABITQ_EPSILON0);
				rotation_pairs++;
			}
		}
		rotation_mean[rot] = sum / rotation_pairs;
		pairs += rotation_pairs;
		EncodedFree(&e);
		free(prepared);
		free(portable);
		free(other_prepared);
	}

	{
		char		what[64];

		snprintf(what, sizeof(what), "rabitq dims %d", dims);
		tap_ok(factors_ok, "rabitq dims %d: factors (|o - c|, <o - c, c>, code_dot in (0, 1])",
			   dims);
		tap_ok(accessors, "rabitq dims %d: |q - c|^2 and <q, c> of the prepared query", dims);
		CheckEstimator(what, rotation_mean, sum_sq, pairs, within, within99);
		tap_ok(kernels_agree, "rabitq dims %d: every available kernel gives identical results",
			   dims);
		tap_ok(bounds_agree, "rabitq dims %d: RabitqEstimateBounds gives its formula's floats "
			   "on every kernel, for L2 and inner products", dims);
		tap_ok(rotated_agree, "rabitq dims %d: RabitqQueryPrepareRotated estimates as "
			   "RabitqQueryPrepare (within 2%% of the bound)", dims);
		if (prepared_compared)
			tap_ok(prepared_agree, "rabitq dims %d: portable and AVX2 code prepare queries "
				   "bit for bit alike", dims);
		else
			tap_skip("no AVX2 on this CPU", "rabitq dims %d: portable and AVX2 code prepare "
					 "queries alike", dims);
	}
	free(rotated_query);
	free(rotated_centroid);

	free(centroid);
	free(data);
	free(query);
	free(estimate);
	free(error);
	free(other_estimate);
	free(other_error);
}

/* o == c and q == c: zero estimates and bounds, nothing NaN */
static void
TestDegenerate(void)
{
	int			dims = 65;
	float		c[65],
				o[65],
				q[65];
	RabitqRotation *r = RabitqRotationCreate(dims, 5);
	uint8_t		codes[2 * 16];
	RabitqFactors f[2];
	RabitqQuery *prepared = Alloc(RabitqQuerySize(r));
	float		estimate[2],
				error[2];

	rng = 18;
	for (int d = 0; d < dims; d++)
	{
		c[d] = (float) Gaussian();
		o[d] = (float) Gaussian();
		q[d] = (float) Gaussian();
	}
	RabitqEncode(r, c, c, codes, &f[0]);
	RabitqEncode(r, o, c, codes + 16, &f[1]);
	RabitqQueryPrepare(r, q, c, prepared);
	RabitqEstimate(prepared, codes, f, 2, estimate, error);
	tap_ok(f[0].residual_norm == 0.0f && estimate[0] == 0.0f && error[0] == 0.0f,
		   "degenerate: o == c estimates 0 with bound 0");
	RabitqQueryPrepare(r, c, c, prepared);
	RabitqEstimate(prepared, codes, f, 2, estimate, error);
	tap_ok(estimate[0] == 0.0f && estimate[1] == 0.0f && error[1] == 0.0f &&
		   RabitqQueryResidualNormSquared(prepared) == 0.0f,
		   "degenerate: q == c estimates 0 with bound 0");
	RabitqRotationFree(r);
	free(prepared);
}

static const float *sort_key;	/* what CompareByDistance orders by */

static int
CompareByDistance(const void *a, const void *b)
{
	const float *dist = sort_key;
	int32_t		x = *(const int32_t *) a;
	int32_t		y = *(const int32_t *) b;

	if (dist[x] != dist[y])
		return dist[x] < dist[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

/*
 * How many of the 'top' rows by 'approx' (its best 'rerank' re-ranked by
 * 'exact' first, when rerank > 0) are among the 'top' by 'exact', of n
 * rows; order and truth are scratch of n ints.
 */
static int
TopOverlap(const float *approx, const float *exact, int n, int rerank, int top,
		   int32_t *order, int32_t *truth)
{
	int			found = 0;

	for (int i = 0; i < n; i++)
		order[i] = truth[i] = i;
	sort_key = approx;
	qsort(order, n, sizeof(int32_t), CompareByDistance);
	sort_key = exact;
	qsort(truth, n, sizeof(int32_t), CompareByDistance);
	if (rerank > 0)
		qsort(order, rerank, sizeof(int32_t), CompareByDistance);
	for (int a = 0; a < top; a++)
		for (int b = 0; b < top; b++)
			found += order[a] == truth[b];
	return found;
}

/*
 * The index's use: clustered data in IVF lists, each vector encoded against
 * its list's centroid; per query, estimate the distance to every vector
 * (every list), re-rank the 100 best estimates exactly, and compare the top
 * 10 with the exact top 10.
 */
static void
TestRecall(int dims)
{
	enum
	{
		N = 8000, LISTS = 24, QUERIES = 40, RERANK = 100, TOP = 10
	};
	const VectorKernels *kernels = VectorKernelsBest();
	float	   *data;
	float	   *centroids = Floats((size_t) LISTS * dims);
	int32_t    *list = Alloc(sizeof(int32_t) * N);
	int32_t    *order = Alloc(sizeof(int32_t) * N);
	int32_t    *truth = Alloc(sizeof(int32_t) * N);
	float	   *approx = Floats(N);
	float	   *exact = Floats(N);
	float	   *query = Floats(dims);
	float		estimate[1],
				error[1];
	RabitqRotation *r = RabitqRotationCreate(dims, 99);
	size_t		cb = RabitqCodeBytes(r);
	uint8_t    *codes = Alloc(cb * N);
	RabitqFactors *factors = Alloc(sizeof(RabitqFactors) * N);
	RabitqQuery *prepared = Alloc(RabitqQuerySize(r) * LISTS);
	size_t		qsize = RabitqQuerySize(r);
	KMeansOptions o = Options(LISTS, 10, 1);
	char		msg[IVF_MATH_ERROR_SIZE];
	int			found = 0;

	rng = 19 + (uint64_t) dims;
	data = Clustered(N, dims, 100, 1.0, 0.5, NULL, NULL);
	tap_ok(KMeansTrain(data, N, dims, &o, centroids, msg) == 0,
		   "recall dims %d: k-means of the lists", dims);
	KMeansAssign(centroids, LISTS, dims, data, N, list);
	for (int i = 0; i < N; i++)
		RabitqEncode(r, data + (size_t) i * dims, centroids + (size_t) list[i] * dims,
					 codes + i * cb, &factors[i]);

	for (int j = 0; j < QUERIES; j++)
	{
		const float *base = data + (size_t) ((j * 7919) % N) * dims;

		for (int d = 0; d < dims; d++)
			query[d] = base[d] + (float) (0.5 * Gaussian());
		for (int l = 0; l < LISTS; l++)
			RabitqQueryPrepare(r, query, centroids + (size_t) l * dims,
							   (RabitqQuery *) ((char *) prepared + l * qsize));
		for (int i = 0; i < N; i++)
		{
			RabitqQuery *pq = (RabitqQuery *) ((char *) prepared + list[i] * qsize);

			RabitqEstimate(pq, codes + i * cb, &factors[i], 1, estimate, error);
			approx[i] = factors[i].residual_norm * factors[i].residual_norm +
				RabitqQueryResidualNormSquared(pq) - 2.0f * estimate[0];
			exact[i] = kernels->l2_squared(query, data + (size_t) i * dims, dims);
		}
		found += TopOverlap(approx, exact, N, RERANK, TOP, order, truth);
	}
	{
		double		recall = (double) found / (QUERIES * TOP);

		tap_ok(recall >= 0.9, "recall dims %d: recall@%d after re-ranking %d by estimate = %.3f",
			   dims, TOP, RERANK, recall);
	}

	RabitqRotationFree(r);
	free(data);
	free(centroids);
	free(list);
	free(order);
	free(truth);
	free(approx);
	free(exact);
	free(query);
	free(codes);
	free(factors);
	free(prepared);
}

/* ---- extended RaBitQ ---- */

/* Dimension i's level in a B-bit code */
static int
ExLevel(const uint8_t *code, int bits, int i)
{
	return (code[(i * bits) / 8] >> ((i * bits) % 8)) & ((1 << bits) - 1);
}

/*
 * The quantizer against a brute force: every scale at which some t |y_i|
 * crosses an integer (dims 64: D (2^(B-1) - 1) points) gives the best
 * cos(x, y) there is; the search must come within 0.1% of it.  Also: the
 * level's top bit is the 1-bit code's bit, and tan(angle) shrinks with bits
 * (printed for the comment in rabitq_ex.c).
 */
static void
TestExQuantizer(void)
{
	enum
	{
		D = 64, VECTORS = 20
	};
	static const int all_bits[] = {2, 4, 8};
	double		tangent[9] = {0};

	rng = 31;
	for (size_t b = 0; b < sizeof(all_bits) / sizeof(all_bits[0]); b++)
	{
		int			bits = all_bits[b];
		int			half = 1 << (bits - 1);
		double		worst = 1.0;
		bool		signs = true;
		bool		plain_same = true;

		for (int v = 0; v < VECTORS; v++)
		{
			float		y[D];
			uint8_t		code[D];
			RabitqExFactors f;
			double		got_dot = 0.0,
						got_sq = 0.0,
						y_sq = 0.0,
						best = 0.0;

			for (int i = 0; i < D; i++)
			{
				y[i] = (float) Gaussian();
				y_sq += (double) y[i] * y[i];
			}
			RabitqExQuantize(y, D, bits, code, &f);
			if (RabitqExSetAvx2(false))
			{
				uint8_t		plain_code[D];
				RabitqExFactors plain_f;

				RabitqExQuantize(y, D, bits, plain_code, &plain_f);
				plain_same &= memcmp(plain_code, code, (size_t) D * bits / 8) == 0 &&
					memcmp(&plain_f, &f, sizeof(f)) == 0;
				RabitqExSetAvx2(true);
			}
			for (int i = 0; i < D; i++)
			{
				double		x = ExLevel(code, bits, i) - (half - 0.5);

				signs &= (ExLevel(code, bits, i) >= half) == (y[i] > 0.0f);
				got_dot += x * y[i];
				got_sq += x * x;
			}
			/* brute force over the critical scales k / |y_i| (and just past them) */
			for (int i = 0; i < D; i++)
			{
				for (int k = 1; k < half + 1; k++)
				{
					double		t = k / fabs((double) y[i]) * (1 + 1e-9);
					double		dot = 0.0,
								sq = 0.0;

					for (int j = 0; j < D; j++)
					{
						double		m = fmin(floor(t * fabs((double) y[j])), half - 1) + 0.5;

						dot += m * fabs((double) y[j]);
						sq += m * m;
					}
					best = fmax(best, dot / sqrt(sq * y_sq));
				}
			}
			{
				double		cosine = got_dot / sqrt(got_sq * y_sq);

				worst = fmin(worst, cosine / best);
				tangent[bits] += sqrt(1 - cosine * cosine) / cosine / VECTORS;
			}
		}
		tap_ok(signs, "rabitq_ex %d bits: a level's top bit is the sign of y", bits);
		tap_ok(worst >= 0.999, "rabitq_ex %d bits: cos(x, y) within 0.1%% of the brute-force "
			   "best (worst %.5f of it)", bits, worst);
		tap_ok(plain_same, "rabitq_ex %d bits: the portable search picks the codes the AVX2 "
			   "one does (or there is no AVX2)", bits);
	}
	tap_diag("rabitq_ex: mean tan(angle of x to y) at D 64: 2 bits %.4f, 4 bits %.4f, 8 bits %.5f",
			 tangent[2], tangent[4], tangent[8]);
	tap_ok(tangent[2] > tangent[4] && tangent[4] > tangent[8] && tangent[8] > 0,
		   "rabitq_ex: the angle shrinks with more bits");
}

/*
 * As TestEstimates for the B-bit estimate: unbiased over rotations, the
 * bound's coverage, a bound smaller than the 1-bit one by about tan(angle),
 * the plain and AVX2 code bit for bit, and the 1-bit code and factors of
 * RabitqEncodeBits those of RabitqEncode.
 */
static void
TestExEstimates(int dims, int bits, size_t n, int nq)
{
	float	   *centroid = Floats(dims);
	float	   *data = Floats(n * dims);
	float	   *query = Floats(dims);
	float	   *estimate1 = Floats(n);
	float	   *error1 = Floats(n);
	double		rotation_mean[ROTATIONS];
	double		sum_sq = 0.0,
				bound_ratio = 0.0;
	size_t		pairs = 0,
				within = 0,
				within99 = 0;
	bool		plain_agrees = true;
	bool		one_bit_same = true;

	rng = 23 + (uint64_t) dims * 9 + (uint64_t) bits;
	for (int d = 0; d < dims; d++)
		centroid[d] = (float) Gaussian();
	for (size_t i = 0; i < n * dims; i++)
		data[i] = centroid[i % dims] + (float) (0.5 * Gaussian());

	for (int rot = 0; rot < ROTATIONS; rot++)
	{
		RabitqRotation *r = RabitqRotationCreate(dims, 7000 * (uint64_t) dims + (uint64_t) rot);
		size_t		cb = RabitqCodeBytes(r);
		size_t		xb = RabitqExCodeBytes(r, bits);
		uint8_t    *codes = Alloc(cb * n);
		uint8_t    *code1 = Alloc(cb);
		uint8_t    *ex_codes = Alloc(xb * n);
		RabitqFactors *factors = Alloc(sizeof(RabitqFactors) * n);
		RabitqExFactors *ex_factors = Alloc(sizeof(RabitqExFactors) * n);
		RabitqQuery *prepared = Alloc(RabitqQuerySize(r));
		double		sum = 0.0;
		size_t		rotation_pairs = 0;

		for (size_t i = 0; i < n; i++)
		{
			RabitqFactors f1;

			RabitqEncodeBits(r, bits, data + i * dims, centroid, codes + i * cb, &factors[i],
							 ex_codes + i * xb, &ex_factors[i]);
			RabitqEncode(r, data + i * dims, centroid, code1, &f1);
			one_bit_same &= memcmp(code1, codes + i * cb, cb) == 0 &&
				memcmp(&f1, &factors[i], sizeof(f1)) == 0;
		}
		for (int j = 0; j < nq; j++)
		{
			const float *near = data + (size_t) (j % n) * dims;

			for (int d = 0; d < dims; d++)
				query[d] = (j % 2 == 0) ? near[d] + (float) (0.2 * Gaussian())
					: centroid[d] + (float) (0.5 * Gaussian());
			RabitqQueryPrepare(r, query, centroid, prepared);
			RabitqEstimate(prepared, codes, factors, n, estimate1, error1);
			for (size_t i = 0; i < n; i++)
			{
				const float *o = data + i * dims;
				float		error,
							other_error;
				float		estimate = RabitqExEstimate(prepared, bits, ex_codes + i * xb,
														&ex_factors[i], &error);
				double		truth = 0.0;
				double		scale = sqrt(L2Sq(o, centroid, dims) * L2Sq(query, centroid, dims));
				double		miss;

				if (RabitqExSetAvx2(false))
				{
					float		other = RabitqExEstimate(prepared, bits, ex_codes + i * xb,
														 &ex_factors[i], &other_error);

					plain_agrees &= memcmp(&other, &estimate, sizeof(float)) == 0 &&
						memcmp(&other_error, &error, sizeof(float)) == 0;
					RabitqExSetAvx2(true);
				}
				for (int d = 0; d < dims; d++)
					truth += ((double) o[d] - centroid[d]) * ((double) query[d] - centroid[d]);
				miss = estimate - truth;
				sum += miss / scale;
				sum_sq += (miss / scale) * (miss / scale);
				within += fabs(miss) <= error;
				within99 += fabs(miss) <= error * (RABITQ_EPSILON_99 / RABITQ_EPSILON0);
				bound_ratio += error1[i] > 0 ? error / error1[i] : 0;
				rotation_pairs++;
			}
		}
		rotation_mean[rot] = sum / rotation_pairs;
		pairs += rotation_pairs;
		RabitqRotationFree(r);
		free(codes);
		free(code1);
		free(ex_codes);
		free(factors);
		free(ex_factors);
		free(prepared);
	}

	{
		char		what[64];

		snprintf(what, sizeof(what), "rabitq_ex dims %d, %d bits", dims, bits);
		bound_ratio /= pairs;
		tap_ok(one_bit_same, "rabitq_ex dims %d, %d bits: the 1-bit code and factors are "
			   "RabitqEncode's", dims, bits);
		CheckEstimator(what, rotation_mean, sum_sq, pairs, within, within99);
		tap_ok(bound_ratio < (bits == 2 ? 0.7 : bits == 4 ? 0.25 : 0.03),
			   "rabitq_ex dims %d, %d bits: the bound is %.4f of the 1-bit bound", dims, bits,
			   bound_ratio);
		tap_ok(plain_agrees, "rabitq_ex dims %d, %d bits: the portable code gives the same "
			   "bits as the AVX2 code (or there is no AVX2)", dims, bits);
	}
	free(centroid);
	free(data);
	free(query);
	free(estimate1);
	free(error1);
}

/* o == c: estimate 0 with bound 0 */
static void
TestExDegenerate(void)
{
	int			dims = 65;
	float		c[65],
				q[65];
	RabitqRotation *r = RabitqRotationCreate(dims, 5);
	uint8_t		code[16];
	uint8_t		ex_code[128];
	RabitqFactors f;
	RabitqExFactors ef;
	RabitqQuery *prepared = Alloc(RabitqQuerySize(r));
	float		error;
	float		estimate;

	rng = 33;
	for (int d = 0; d < dims; d++)
	{
		c[d] = (float) Gaussian();
		q[d] = (float) Gaussian();
	}
	RabitqEncodeBits(r, 8, c, c, code, &f, ex_code, &ef);
	RabitqQueryPrepare(r, q, c, prepared);
	estimate = RabitqExEstimate(prepared, 8, ex_code, &ef, &error);
	tap_ok(estimate == 0.0f && error == 0.0f, "rabitq_ex degenerate: o == c estimates 0 "
		   "with bound 0");
	tap_ok(RabitqBitsSupported(1) && RabitqBitsSupported(2) && RabitqBitsSupported(4) &&
		   RabitqBitsSupported(8) && !RabitqBitsSupported(0) && !RabitqBitsSupported(3) &&
		   !RabitqBitsSupported(16) && RabitqExCodeBytes(r, 1) == 0 &&
		   RabitqExCodeBytes(r, 4) == 64, "rabitq_ex: supported bits and code sizes");
	free(prepared);
	RabitqRotationFree(r);
}

/*
 * The index's use without re-ranking: as TestRecall, but the rows are ranked
 * by their B-bit estimates alone (exact search within the B-bit estimates of
 * every list, no exact distance at all); recall@10 grows with the bits.
 */
static double
ExRecall(int dims, int bits, bool *residual_kept)
{
	enum
	{
		N = 4000, LISTS = 16, QUERIES = 30, TOP = 10
	};
	const VectorKernels *kernels = VectorKernelsBest();
	float	   *data;
	float	   *centroids = Floats((size_t) LISTS * dims);
	int32_t    *list = Alloc(sizeof(int32_t) * N);
	int32_t    *order = Alloc(sizeof(int32_t) * N);
	int32_t    *truth = Alloc(sizeof(int32_t) * N);
	float	   *approx = Floats(N);
	float	   *exact = Floats(N);
	float	   *query = Floats(dims);
	RabitqRotation *r = RabitqRotationCreate(dims, 99);
	int			d = RabitqPaddedDims(r);
	size_t		cb = RabitqCodeBytes(r);
	size_t		xb = RabitqExCodeBytes(r, bits);
	uint8_t    *codes = Alloc(cb * N);
	uint8_t    *ex_codes = Alloc(xb * N + 1);
	RabitqFactors *factors = Alloc(sizeof(RabitqFactors) * N);
	RabitqExFactors *ex_factors = Alloc(sizeof(RabitqExFactors) * N);
	size_t		qsize = RabitqQuerySize(r);
	RabitqQuery *prepared = Alloc(qsize * LISTS);
	float	   *rc = Floats((size_t) LISTS * d);
	float	   *rq = Floats(d);
	KMeansOptions o = Options(LISTS, 10, 1);
	char		msg[IVF_MATH_ERROR_SIZE];
	int			found = 0;

	rng = 41 + (uint64_t) dims;
	data = Clustered(N, dims, 100, 1.0, 0.5, NULL, NULL);
	if (KMeansTrain(data, N, dims, &o, centroids, msg) != 0)
		abort();
	KMeansAssign(centroids, LISTS, dims, data, N, list);
	IvfAssignEncode(centroids, LISTS, dims, r, data, N, list, codes, factors, bits, ex_codes,
					ex_factors, 2);
	for (int l = 0; l < LISTS; l++)
		RabitqRotate(r, centroids + (size_t) l * dims, rc + (size_t) l * d);
	for (int j = 0; j < QUERIES; j++)
	{
		const float *base = data + (size_t) ((j * 7919) % N) * dims;

		for (int k = 0; k < dims; k++)
			query[k] = base[k] + (float) (0.5 * Gaussian());
		RabitqRotate(r, query, rq);
		/* as a scan does: rotated once, prepared per list from its rotated centroid */
		for (int l = 0; l < LISTS; l++)
		{
			RabitqQuery *pq = (RabitqQuery *) ((char *) prepared + l * qsize);
			const float *residual;

			RabitqQueryPrepareRotated(r, rq, rc + (size_t) l * d, pq);
			residual = RabitqQueryRotatedResidual(pq);
			for (int k = 0; k < d; k++)
				*residual_kept &= residual[k] == rq[k] - rc[(size_t) l * d + k];
		}
		for (int i = 0; i < N; i++)
		{
			RabitqQuery *pq = (RabitqQuery *) ((char *) prepared + list[i] * qsize);
			float		qc = RabitqQueryResidualNormSquared(pq);
			float		estimate,
						error;

			if (bits == 1)
				RabitqEstimate(pq, codes + i * cb, &factors[i], 1, &estimate, &error);
			else
				estimate = RabitqExEstimate(pq, bits, ex_codes + i * xb, &ex_factors[i], &error);
			approx[i] = factors[i].residual_norm * factors[i].residual_norm + qc - 2.0f * estimate;
			exact[i] = kernels->l2_squared(query, data + (size_t) i * dims, dims);
		}
		found += TopOverlap(approx, exact, N, 0, TOP, order, truth);
	}
	RabitqRotationFree(r);
	free(data);
	free(centroids);
	free(list);
	free(order);
	free(truth);
	free(approx);
	free(exact);
	free(query);
	free(codes);
	free(ex_codes);
	free(factors);
	free(ex_factors);
	free(prepared);
	free(rc);
	free(rq);
	return (double) found / (QUERIES * TOP);
}

static void
TestExRecall(int dims)
{
	bool		residual_kept = true;
	double		r1 = ExRecall(dims, 1, &residual_kept);
	double		r2 = ExRecall(dims, 2, &residual_kept);
	double		r4 = ExRecall(dims, 4, &residual_kept);
	double		r8 = ExRecall(dims, 8, &residual_kept);

	tap_diag("rabitq_ex dims %d: recall@10 without re-ranking: 1 bit %.3f, 2 bits %.3f, "
			 "4 bits %.3f, 8 bits %.3f", dims, r1, r2, r4, r8);
	tap_ok(residual_kept, "rabitq_ex dims %d: a prepared query keeps P(q - c), bit for bit the "
		   "rotated query minus the rotated centroid", dims);
	tap_ok(r2 > r1 && r4 > r2 && r8 >= r4,
		   "rabitq_ex dims %d: recall without re-ranking grows with the bits", dims);
	tap_ok(r4 >= 0.85 && r8 >= 0.97,
		   "rabitq_ex dims %d: recall@10 without re-ranking >= 0.85 at 4 bits (%.3f), "
		   ">= 0.97 at 8 (%.3f)", dims, r4, r8);
}

/* ---- assign and encode ---- */

static void
TestAssignEncode(int bits)
{
	const int	dims = 100;
	const int	k = 37;
	const size_t n = 1001;		/* not a multiple of any thread count */
	float	   *data = Clustered(n, dims, k, 5.0, 1.0, NULL, NULL);
	float	   *centroids = Floats((size_t) k * dims);
	RabitqRotation *rotation = RabitqRotationCreate(dims, 7);
	size_t		code_bytes = RabitqCodeBytes(rotation);
	size_t		ex_bytes = RabitqExCodeBytes(rotation, bits);
	int32_t    *want_lists = Alloc(sizeof(int32_t) * n);
	uint8_t    *want_codes = Alloc(code_bytes * n);
	RabitqFactors *want_factors = Alloc(sizeof(RabitqFactors) * n);
	uint8_t    *want_ex_codes = Alloc(ex_bytes * n);
	RabitqExFactors *want_ex_factors = Alloc(sizeof(RabitqExFactors) * n);
	int32_t    *lists = Alloc(sizeof(int32_t) * n);
	uint8_t    *codes = Alloc(code_bytes * n);
	RabitqFactors *factors = Alloc(sizeof(RabitqFactors) * n);
	uint8_t    *ex_codes = Alloc(ex_bytes * n);
	RabitqExFactors *ex_factors = Alloc(sizeof(RabitqExFactors) * n);
	static const int threads[] = {1, 2, 3, 8, 20};

	/* centroids: k of the points, so some vectors sit exactly on theirs */
	for (int j = 0; j < k; j++)
		memcpy(centroids + (size_t) j * dims, data + (size_t) (j * 7) * dims, sizeof(float) * dims);
	KMeansAssign(centroids, k, dims, data, n, want_lists);
	memset(want_ex_codes, 0, ex_bytes * n);
	memset(want_ex_factors, 0, sizeof(RabitqExFactors) * n);
	for (size_t i = 0; i < n; i++)
		RabitqEncodeBits(rotation, bits, data + i * dims,
						 centroids + (size_t) want_lists[i] * dims,
						 want_codes + i * code_bytes, &want_factors[i],
						 want_ex_codes + i * ex_bytes, &want_ex_factors[i]);
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++)
	{
		memset(lists, 0xff, sizeof(int32_t) * n);
		memset(codes, 0xff, code_bytes * n);
		memset(factors, 0xff, sizeof(RabitqFactors) * n);
		memset(ex_codes, 0, ex_bytes * n);
		memset(ex_factors, 0, sizeof(RabitqExFactors) * n);
		IvfAssignEncode(centroids, k, dims, rotation, data, n, lists, codes, factors, bits,
						ex_codes, ex_factors, threads[t]);
		tap_ok(memcmp(lists, want_lists, sizeof(int32_t) * n) == 0 &&
			   memcmp(codes, want_codes, code_bytes * n) == 0 &&
			   memcmp(factors, want_factors, sizeof(RabitqFactors) * n) == 0 &&
			   memcmp(ex_codes, want_ex_codes, ex_bytes * n) == 0 &&
			   memcmp(ex_factors, want_ex_factors, sizeof(RabitqExFactors) * n) == 0,
			   "IvfAssignEncode, %d bits, %d threads: the lists and codes of KMeansAssign + "
			   "RabitqEncodeBits", bits, threads[t]);
	}
	IvfAssignEncode(centroids, k, dims, rotation, data, 0, lists, codes, factors, bits,
					ex_codes, ex_factors, 2);
	tap_ok(true, "IvfAssignEncode of no vectors returns");
	RabitqRotationFree(rotation);
	free(data);
	free(centroids);
	free(want_lists);
	free(want_codes);
	free(want_factors);
	free(want_ex_codes);
	free(want_ex_factors);
	free(lists);
	free(codes);
	free(factors);
	free(ex_codes);
	free(ex_factors);
}


/* ---- lower bounds of list keys (coarse.c) ---- */

/*
 * Every bound is at most the key the float kernels give, for L2 and for
 * inner product, on data of several shapes and scales (clustered, offset far
 * from the origin, pixel-like non-negative integers, zero vectors); the VNNI
 * sums, where the CPU has them, give the same bounds bit for bit; and on
 * clustered data of up to IVF_COARSE_MAX_DIMS dimensions the bounds are
 * close enough to be worth having (the gap is a small part of the spread of
 * the keys).
 */
static void
TestCoarseBounds(int dims, int k, int shape, double scale)
{
	static const char *const shapes[] = {"clustered", "offset", "pixels", "zeros"};
	const VectorKernels *kernels = VectorKernelsBest();
	int			queries = 20;
	float	   *centroids = Clustered((size_t) k, dims, 3, 1.0, 0.3, NULL, NULL);
	float	   *query_set = Clustered((size_t) queries, dims, 3, 1.0, 0.5, NULL, NULL);
	IvfCoarse  *coarse;
	void	   *scratch;
	float	   *bounds = Floats((size_t) k);
	float	   *fast_bounds = Floats((size_t) k);
	bool		below = true;
	bool		same = true;
	double		gap = 0;
	double		spread = 0;

	for (size_t i = 0; i < (size_t) k * dims; i++)
		centroids[i] = (float) (scale * (shape == 1 ? centroids[i] + 50.0 :
										 shape == 2 ? floor(fabs(centroids[i]) * 100) :
										 shape == 3 && i % 2 == 0 ? 0.0 : centroids[i]));
	for (size_t i = 0; i < (size_t) queries * dims; i++)
		query_set[i] = (float) (scale * (shape == 1 ? query_set[i] + 50.0 :
										 shape == 2 ? floor(fabs(query_set[i]) * 100) :
										 shape == 3 ? 0.0 : query_set[i]));
	coarse = IvfCoarseCreate(centroids, k, dims);
	scratch = Alloc(IvfCoarseScratchSize(coarse));
	for (int q = 0; q < queries; q++)
	{
		const float *query = query_set + (size_t) q * dims;

		for (int ip = 0; ip <= 1; ip++)
		{
			double		least = INFINITY;
			double		most = -INFINITY;

			IvfCoarseBounds(coarse, query, ip, false, scratch, bounds);
			if (IvfCoarseFast())
			{
				IvfCoarseBounds(coarse, query, ip, true, scratch, fast_bounds);
				same &= memcmp(bounds, fast_bounds, sizeof(float) * k) == 0;
			}
			for (int j = 0; j < k; j++)
			{
				const float *c = centroids + (size_t) j * dims;
				float		key = ip ? -kernels->inner_product(query, c, dims) :
					kernels->l2_squared(query, c, dims);

				below &= bounds[j] <= key;
				gap += key - bounds[j];
				least = fmin(least, key);
				most = fmax(most, key);
			}
			spread += (most - least) * k;
		}
	}
	if (shape == 0 && k > 1 && dims <= IVF_COARSE_MAX_DIMS)
		tap_ok(below && same && gap < 0.5 * spread,
			   "coarse bounds, %s data x %g, %d dims, %d centroids: below every key, the same with VNNI%s, "
			   "gap %.3f of the keys' spread", shapes[shape], scale, dims, k,
			   IvfCoarseFast() ? "" : " (not on this CPU)", spread > 0 ? gap / spread : 0.0);
	else
		tap_ok(below && same,
			   "coarse bounds, %s data x %g, %d dims, %d centroids: below every key, the same with VNNI%s",
			   shapes[shape], scale, dims, k, IvfCoarseFast() ? "" : " (not on this CPU)");
	IvfCoarseFree(coarse);
	free(scratch);
	free(bounds);
	free(fast_bounds);
	free(centroids);
	free(query_set);
}

int
main(void)
{
	tap_diag("distance kernels: %s; rabitq kernel: %s", VectorKernelsBest()->name,
			 RabitqKernelName(RabitqKernelBest()));

	TestPlanted();
	TestDeterminism();
	TestBalance();
	TestDuplicates();
	TestRepair();
	TestNearest();
	TestAssign();
	TestErrors();

	TestRotation();
	for (int t = 0; t < NUM_TEST_DIMS; t++)
	{
		int			dims = test_dims[t];

		TestEstimates(dims, dims >= 10000 ? 40 : 200, dims >= 10000 ? 8 : 25);
	}
	TestDegenerate();
	TestRecall(128);
	TestRecall(784);

	TestExQuantizer();
	TestExEstimates(64, 2, 200, 25);
	TestExEstimates(129, 4, 200, 25);
	TestExEstimates(784, 4, 200, 25);
	TestExEstimates(784, 8, 200, 25);
	TestExEstimates(1536, 2, 100, 20);
	TestExEstimates(16000, 8, 20, 6);
	TestExDegenerate();
	TestExRecall(128);
	TestExRecall(784);

	TestAssignEncode(1);
	TestAssignEncode(4);

	for (int t = 0; t < NUM_TEST_DIMS; t++)
		TestCoarseBounds(test_dims[t], test_dims[t] >= 10000 ? 5 : 50, 0, 1.0);
	TestCoarseBounds(784, 1, 0, 1.0);
	TestCoarseBounds(784, 50, 1, 1.0);
	TestCoarseBounds(784, 50, 2, 1.0);
	TestCoarseBounds(784, 50, 3, 1.0);
	TestCoarseBounds(784, 50, 0, 1e-6);
	TestCoarseBounds(784, 50, 1, 1e6);
	TestCoarseBounds(65, 7, 2, 1e-30);
	TestCoarseBounds(65, 7, 2, 1e-40);	/* subnormal floats */
	TestCoarseBounds(784, 50, 1, 1e-24);	/* products that underflow */
	return tap_done();
}
