/*
 * kernels.c
 *	  Throughput of the distance kernels against one core's read bandwidth.
 *
 * A 60,000 x 784 float32 block (the shape of MNIST; 188 MB, far beyond any
 * cache) is compared with one query by every kernel of every available set,
 * single form in a loop over the vectors and batch form in one call.  Each
 * figure is the best of REPS passes, in GB/s of block bytes (the query stays
 * in L1 and is not counted).  The reference is plain read bandwidth: the best
 * of a uint64 loop and an AVX2 loop that only load and combine the block.
 *
 * The goal checked at the end: with AVX2, l2_squared and inner_product (single
 * and batch) reach at least 70% of read bandwidth, i.e. they are bound by
 * memory, not arithmetic.  The benchmark is informational and exits 0.
 *
 * Re-ranking reads vectors at random instead (lance_ivf: about 33 per query),
 * where one core's latency, not its bandwidth, bounds a kernel that takes
 * them one at a time.  The "random" rows take RANDOM_PICKS vectors of the
 * block per query, the same ones for every row, one by one with the single
 * form or all at once with the gather form; their GB/s count the bytes of
 * the picked vectors, and the last line compares the two.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "vector/distance.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define NVEC 60000
#define DIM 784
#define REPS 11
#define GOAL 0.70
#define RANDOM_QUERIES 2000
#define RANDOM_PICKS 33

_Static_assert(NVEC * DIM % 32 == 0, "the read loops take 32 floats a step");

static const float *block;
static float query[DIM];
static float *out;
static volatile float sink;		/* keeps the passes from being optimised out */
static const float *picks[RANDOM_QUERIES * RANDOM_PICKS];	/* random vectors of block */

/* splitmix64, fixed seed */
static uint64_t rng = 42;

/* Uniform in [-1, 1) */
static float
Uniform(void)
{
	return (float) ((int32_t) (BenchNext(&rng) >> 40) - (1 << 23)) * 0x1p-23f;
}

/* ---- one pass over the block per call ---- */

static float
ReadUint64(const VectorKernels *ks)
{
	const uint64_t *p = (const uint64_t *) block;
	size_t		n = (size_t) NVEC * DIM / 2;
	uint64_t	x0 = 0,
				x1 = 0,
				x2 = 0,
				x3 = 0;

	(void) ks;
	for (size_t i = 0; i < n; i += 4)
	{
		x0 ^= p[i];
		x1 ^= p[i + 1];
		x2 ^= p[i + 2];
		x3 ^= p[i + 3];
	}
	return (float) (x0 ^ x1 ^ x2 ^ x3);
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static float
ReadAvx2(const VectorKernels *ks)
{
	const __m256i *p = (const __m256i *) block;
	size_t		n = (size_t) NVEC * DIM / 8;
	__m256i		x0 = _mm256_setzero_si256(),
				x1 = x0,
				x2 = x0,
				x3 = x0;

	(void) ks;
	for (size_t i = 0; i < n; i += 4)
	{
		x0 = _mm256_xor_si256(x0, _mm256_load_si256(p + i));
		x1 = _mm256_xor_si256(x1, _mm256_load_si256(p + i + 1));
		x2 = _mm256_xor_si256(x2, _mm256_load_si256(p + i + 2));
		x3 = _mm256_xor_si256(x3, _mm256_load_si256(p + i + 3));
	}
	x0 = _mm256_xor_si256(_mm256_xor_si256(x0, x1), _mm256_xor_si256(x2, x3));
	return (float) _mm256_extract_epi32(x0, 0);
}
#endif

static float
L2Single(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t i = 0; i < NVEC; i++)
		s += ks->l2_squared(query, block + i * DIM, DIM);
	return s;
}

static float
IpSingle(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t i = 0; i < NVEC; i++)
		s += ks->inner_product(query, block + i * DIM, DIM);
	return s;
}

static float
L1Single(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t i = 0; i < NVEC; i++)
		s += ks->l1(query, block + i * DIM, DIM);
	return s;
}

static float
CosineSingle(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t i = 0; i < NVEC; i++)
	{
		float		dot,
					na,
					nb;

		ks->cosine_parts(query, block + i * DIM, DIM, &dot, &na, &nb);
		s += dot + na + nb;
	}
	return s;
}

static float
L2Batch(const VectorKernels *ks)
{
	ks->l2_squared_batch(query, block, DIM, NVEC, out);
	return out[0] + out[NVEC - 1];
}

static float
IpBatch(const VectorKernels *ks)
{
	ks->inner_product_batch(query, block, DIM, NVEC, out);
	return out[0] + out[NVEC - 1];
}

static float
L2Random(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t i = 0; i < RANDOM_QUERIES * RANDOM_PICKS; i++)
		s += ks->l2_squared(query, picks[i], DIM);
	return s;
}

static float
L2GatherRandom(const VectorKernels *ks)
{
	float		s = 0.0f;

	for (size_t q = 0; q < RANDOM_QUERIES; q++)
	{
		ks->l2_squared_gather(query, picks + q * RANDOM_PICKS, RANDOM_PICKS, DIM, out);
		s += out[0] + out[RANDOM_PICKS - 1];
	}
	return s;
}

/* ---- measurement ---- */

typedef float (*PassFn) (const VectorKernels *ks);

typedef struct Row
{
	const char *name;
	const VectorKernels *ks;	/* NULL for the read loops */
	PassFn		pass;
	bool		goal;			/* must reach GOAL of read bandwidth */
	bool		random;			/* reads the picked vectors, not the block */
	double		best;			/* shortest pass, seconds */
} Row;

static Row	rows[20];
static int	nrows;

static void
AddRow(const char *name, const VectorKernels *ks, PassFn pass, bool goal)
{
	rows[nrows++] = (Row) {name, ks, pass, goal, false, 1e30};
}

/* The read loops, then every kernel for each available set */
static void
AddRows(bool avx2)
{
	static const struct
	{
		const char *name;
		PassFn		pass;
		bool		goal;
	}			kernels[] = {
		{"l2_squared", L2Single, true},
		{"inner_product", IpSingle, true},
		{"l1", L1Single, false},
		{"cosine_parts", CosineSingle, false},
		{"l2_squared_batch", L2Batch, true},
		{"inner_product_batch", IpBatch, true},
		{"l2_squared, random", L2Random, false},
		{"l2_squared_gather, random", L2GatherRandom, false},
	};

	AddRow("read (uint64 loop)", NULL, ReadUint64, false);
#if defined(__x86_64__)
	if (avx2)
		AddRow("read (avx2 loop)", NULL, ReadAvx2, false);
#endif
	for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++)
	{
		AddRow(kernels[k].name, &VectorKernelsScalar, kernels[k].pass, false);
		if (avx2)
			AddRow(kernels[k].name, &VectorKernelsAvx2, kernels[k].pass,
				   kernels[k].goal);
	}
	for (int i = 0; i < nrows; i++)
		rows[i].random = rows[i].pass == L2Random || rows[i].pass == L2GatherRandom;
}

/*
 * Best of REPS passes for every row, taken round robin rather than row after
 * row: on a shared machine the bandwidth drifts, and this way a slow spell
 * hits every row alike instead of one.
 */
static void
MeasureRows(void)
{
	for (int r = 0; r < REPS; r++)
		for (int i = 0; i < nrows; i++)
		{
			double		t0 = BenchNow();
			double		t;

			sink = rows[i].pass(rows[i].ks);
			t = BenchNow() - t0;
			if (t < rows[i].best)
				rows[i].best = t;
		}
}

static double
GBps(const Row *row)
{
	double		vectors = row->random ? RANDOM_QUERIES * RANDOM_PICKS : NVEC;

	return vectors * DIM * sizeof(float) / row->best / 1e9;
}

static void
PrintRow(const char *name, const char *set, double gbps, double read_bw)
{
	printf("%-26s %-7s %8.2f %7.0f%%", name, set, gbps, 100.0 * gbps / read_bw);
}

static void
PrintResults(bool avx2)
{
	double		read_bw = 0.0;
	int			i;

	for (i = 0; i < nrows && rows[i].ks == NULL; i++)
		if (GBps(&rows[i]) > read_bw)
			read_bw = GBps(&rows[i]);

	printf("%-26s %-7s %8s %8s %10s\n", "kernel", "set", "GB/s", "of read",
		   "vs scalar");
	for (i = 0; i < nrows && rows[i].ks == NULL; i++)
	{
		PrintRow(rows[i].name, "-", GBps(&rows[i]), read_bw);
		printf("\n");
	}
	PrintRow("read bandwidth", "best", read_bw, read_bw);
	printf("\n");
	for (; i < nrows; i++)
	{
		/* the scalar row of a kernel comes right before its avx2 row */
		const Row  *scalar = rows[i].ks == &VectorKernelsScalar ?
			&rows[i] : &rows[i - 1];

		PrintRow(rows[i].name, rows[i].ks->name, GBps(&rows[i]), read_bw);
		printf(" %9.2fx\n", GBps(&rows[i]) / GBps(scalar));
	}

	printf("\n");
	for (i = 0; i < nrows; i++)
		for (int j = 0; j < nrows; j++)
			if (rows[i].pass == L2Random && rows[j].pass == L2GatherRandom &&
				rows[i].ks == rows[j].ks)
				printf("re-ranking (%d random vectors a query), %s: one by one %.1f us, "
					   "gathered %.1f us a query (%.2fx)\n", RANDOM_PICKS, rows[i].ks->name,
					   rows[i].best / RANDOM_QUERIES * 1e6, rows[j].best / RANDOM_QUERIES * 1e6,
					   rows[i].best / rows[j].best);

	printf("\ngoal: avx2 l2_squared and inner_product reach >= %.0f%% of "
		   "one core's read bandwidth\n", 100.0 * GOAL);
	if (!avx2)
		printf("SKIP: CPU lacks AVX2+FMA\n");
	for (i = 0; i < nrows; i++)
		if (rows[i].goal)
			printf("%s %s: %.0f%% of read bandwidth\n",
				   GBps(&rows[i]) >= GOAL * read_bw ? "PASS" : "FAIL",
				   rows[i].name, 100.0 * GBps(&rows[i]) / read_bw);
}

int
main(void)
{
	size_t		nfloats = (size_t) NVEC * DIM;
	float	   *data = aligned_alloc(64, nfloats * sizeof(float));
	bool		avx2 = VectorCpuHasAvx2Fma();

	out = malloc(sizeof(float) * NVEC);
	if (data == NULL || out == NULL)
	{
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < nfloats; i++)
		data[i] = Uniform();
	for (int i = 0; i < DIM; i++)
		query[i] = Uniform();
	block = data;
	for (size_t i = 0; i < RANDOM_QUERIES * RANDOM_PICKS; i++)
		picks[i] = block + BenchNext(&rng) % NVEC * DIM;

	printf("distance kernels: %d x %d float32 (%.0f MB), one query, "
		   "best of %d passes\n", NVEC, DIM, nfloats * sizeof(float) / 1e6, REPS);
	printf("CPU has AVX2+FMA: %s\n\n", avx2 ? "yes" : "no");

	AddRows(avx2);
	MeasureRows();
	PrintResults(avx2);

	free(data);
	free(out);
	return 0;
}
