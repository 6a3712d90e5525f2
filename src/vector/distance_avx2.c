/*
 * distance_avx2.c
 *	  AVX2+FMA distance kernels (VectorKernelsAvx2).
 *
 * The extension is built with plain -O2 and must load on any x86-64, so this
 * file uses no -mavx2: each function carries a target attribute instead, and
 * the kernels run only once VectorCpuHasAvx2Fma() has said yes.  Off x86-64
 * the file compiles to nothing and distance.c supplies VectorKernelsAvx2.
 *
 * Every kernel is one routine, SumPairs, which computes one to three sums
 * over (x, y) vector pairs in a single pass.  Each sum goes through the same
 * fixed sequence:
 *
 *	- four 8-lane accumulators over 32-float blocks (an FMA has a latency of
 *	  four or five cycles, so a single accumulator would stall every step);
 *	- then whole 8-float blocks into the first accumulator;
 *	- then the last 1 to 7 floats through a masked load into the second (the
 *	  masked-off lanes load as 0.0 and add exactly nothing, and a masked load
 *	  never touches memory past the end of the vector);
 *	- then one fixed reduction (SumFinish).
 *
 * The batch forms run that sequence for two vectors at a time against the
 * same query (see SumBatch for which two): one pass over the query serves
 * both, and the result for each vector is bit-identical to the single form.  Two, not
 * four: four vectors times four accumulators would need more than the 16 ymm
 * registers and spill.  cosine_parts is three pairs (a.b, a.a, b.b) over the
 * same two vectors.
 */
#include "vector/distance.h"

#if defined(__x86_64__)

#include <immintrin.h>

/*
 * AVX2_INLINE helpers must be inlined: only then do the op, width and pair
 * count become constants, the branches on them fold away and the
 * accumulators stay in registers.  AVX2_FUNC marks the kernels reached
 * through VectorKernelsAvx2.
 */
#define AVX2_INLINE static inline __attribute__((target("avx2,fma"), always_inline))
#define AVX2_FUNC static __attribute__((target("avx2,fma")))

typedef enum SumOp
{
	SUM_L2,						/* (x - y)^2 */
	SUM_PRODUCT,				/* x * y */
	SUM_L1						/* |x - y| */
} SumOp;

/* acc + op(x, y), lane by lane */
AVX2_INLINE __m256
SumStep(SumOp op, __m256 acc, __m256 x, __m256 y)
{
	__m256		d;

	switch (op)
	{
		case SUM_L2:
			d = _mm256_sub_ps(x, y);
			return _mm256_fmadd_ps(d, d, acc);
		case SUM_PRODUCT:
			return _mm256_fmadd_ps(x, y, acc);
		case SUM_L1:
			/* clearing the sign bit is fabsf for every lane */
			d = _mm256_sub_ps(x, y);
			return _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), d));
	}
	return acc;
}

/* Four 8-lane partial sums of one pair */
typedef struct Sum4
{
	__m256		s[4];
} Sum4;

AVX2_INLINE Sum4
SumZero(void)
{
	Sum4		zero = {{_mm256_setzero_ps(), _mm256_setzero_ps(),
	_mm256_setzero_ps(), _mm256_setzero_ps()}};

	return zero;
}

/*
 * Add op over the next floats of one pair: a 32-float block into all four
 * accumulators (width 32), an 8-float block into the first (width 8), or the
 * lanes of 'tail' into the second (width 0).
 */
AVX2_INLINE void
SumAdd(SumOp op, Sum4 *acc, const float *x, const float *y, int width,
	   __m256i tail)
{
	switch (width)
	{
		case 32:
			/* written out: GCC -O2 leaves a loop over s[] in memory */
			acc->s[0] = SumStep(op, acc->s[0],
								_mm256_loadu_ps(x), _mm256_loadu_ps(y));
			acc->s[1] = SumStep(op, acc->s[1],
								_mm256_loadu_ps(x + 8), _mm256_loadu_ps(y + 8));
			acc->s[2] = SumStep(op, acc->s[2],
								_mm256_loadu_ps(x + 16), _mm256_loadu_ps(y + 16));
			acc->s[3] = SumStep(op, acc->s[3],
								_mm256_loadu_ps(x + 24), _mm256_loadu_ps(y + 24));
			break;
		case 8:
			acc->s[0] = SumStep(op, acc->s[0],
								_mm256_loadu_ps(x), _mm256_loadu_ps(y));
			break;
		default:
			acc->s[1] = SumStep(op, acc->s[1], _mm256_maskload_ps(x, tail),
								_mm256_maskload_ps(y, tail));
			break;
	}
}

/*
 * SumAdd for each pair at offset i.  The pairs advance together, so a vector
 * that several pairs share (the query of a batch, a and b of cosine_parts)
 * is walked once, and its loads are shared where registers allow.
 */
AVX2_INLINE void
SumAddPairs(SumOp op, int npairs, const float *const x[],
			const float *const y[], int i, int width, __m256i tail,
			Sum4 acc[])
{
	SumAdd(op, &acc[0], x[0] + i, y[0] + i, width, tail);
	if (npairs > 1)
		SumAdd(op, &acc[1], x[1] + i, y[1] + i, width, tail);
	if (npairs > 2)
		SumAdd(op, &acc[2], x[2] + i, y[2] + i, width, tail);
}

/* (s0 + s1) + (s2 + s3), then the 8 lanes pairwise: always the same order */
AVX2_INLINE float
SumFinish(const Sum4 *acc)
{
	__m256		s = _mm256_add_ps(_mm256_add_ps(acc->s[0], acc->s[1]),
								  _mm256_add_ps(acc->s[2], acc->s[3]));
	__m128		h = _mm_add_ps(_mm256_castps256_ps128(s),
							   _mm256_extractf128_ps(s, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h);
}

/*
 * out[p] = sum over i < dim of op(x[p][i], y[p][i]), for p < npairs, in one
 * pass.  npairs (1 to 3) and op are constants at every call site, so after
 * inlining the branches fold away and the accumulators live in registers.
 */
AVX2_INLINE void
SumPairs(SumOp op, int npairs, const float *const x[], const float *const y[],
		 int dim, float out[])
{
	const __m256i no_tail = _mm256_setzero_si256();
	/* separate, fully initialised structs: GCC keeps them in registers */
	Sum4		acc[3] = {SumZero(), SumZero(), SumZero()};
	int			i = 0;

	for (; i + 32 <= dim; i += 32)
		SumAddPairs(op, npairs, x, y, i, 32, no_tail, acc);
	for (; i + 8 <= dim; i += 8)
		SumAddPairs(op, npairs, x, y, i, 8, no_tail, acc);
	if (i < dim)
	{
		/* lane j is loaded when j < dim - i */
		__m256i		tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(dim - i),
											  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));

		SumAddPairs(op, npairs, x, y, i, 0, tail, acc);
	}

	out[0] = SumFinish(&acc[0]);
	if (npairs > 1)
		out[1] = SumFinish(&acc[1]);
	if (npairs > 2)
		out[2] = SumFinish(&acc[2]);
}

/*
 * The single form's sum for each of the 'n' vectors of 'block', two vectors
 * per pass over the query: vector i together with vector i + n/2.  Pairing
 * neighbours (i, i + 1) instead halved the throughput on a large block (AMD
 * EPYC): the hardware prefetcher did not follow two interleaved streams
 * through the same pages, while it does follow two distant sequential ones.
 */
AVX2_INLINE void
SumBatch(SumOp op, const float *q, const float *block, int dim, size_t n,
		 float *out)
{
	const float *x[2] = {q, q};
	size_t		half = n / 2;

	for (size_t i = 0; i < half; i++)
	{
		const float *y[2] = {block + i * (size_t) dim,
		block + (i + half) * (size_t) dim};
		float		pair[2];

		SumPairs(op, 2, x, y, dim, pair);
		out[i] = pair[0];
		out[i + half] = pair[1];
	}
	if (n % 2 != 0)
	{
		const float *y[1] = {block + (n - 1) * (size_t) dim};

		SumPairs(op, 1, x, y, dim, out + n - 1);
	}
}

AVX2_FUNC float
l2_squared_avx2(const float *a, const float *b, int dim)
{
	float		out;

	SumPairs(SUM_L2, 1, &a, &b, dim, &out);
	return out;
}

AVX2_FUNC float
inner_product_avx2(const float *a, const float *b, int dim)
{
	float		out;

	SumPairs(SUM_PRODUCT, 1, &a, &b, dim, &out);
	return out;
}

AVX2_FUNC float
l1_avx2(const float *a, const float *b, int dim)
{
	float		out;

	SumPairs(SUM_L1, 1, &a, &b, dim, &out);
	return out;
}

/* a.b, a.a and b.b as three pairs; loads of a and b are shared */
AVX2_FUNC void
cosine_parts_avx2(const float *a, const float *b, int dim,
				  float *dot, float *norm_a, float *norm_b)
{
	const float *x[3] = {a, a, b};
	const float *y[3] = {b, a, b};
	float		out[3];

	SumPairs(SUM_PRODUCT, 3, x, y, dim, out);
	*dot = out[0];
	*norm_a = out[1];
	*norm_b = out[2];
}

AVX2_FUNC void
l2_squared_batch_avx2(const float *q, const float *block, int dim, size_t n,
					  float *out)
{
	SumBatch(SUM_L2, q, block, dim, n, out);
}

AVX2_FUNC void
inner_product_batch_avx2(const float *q, const float *block, int dim, size_t n,
						 float *out)
{
	SumBatch(SUM_PRODUCT, q, block, dim, n, out);
}

/*
 * The matrix form: every (x_i, y_j) pair of two sets of vectors, with the
 * single form's result bit for bit.  It serves k-means, where each of
 * thousands of points meets each of hundreds of centroids: the batch form
 * streams every centroid from L2 or L3 once per point, and that stream, not
 * arithmetic, bounds it.  Here a tile of MATRIX_ROWS x MATRIX_COLS pairs
 * shares its loads: each 8-float load of a vector serves MATRIX_COLS (or
 * MATRIX_ROWS) pairs from a register.
 *
 * Bit-identical to the single form, which keeps four accumulators per pair
 * (SumPairs): a tile of pairs with four accumulators each would need far
 * more than 16 registers, so the tile makes four passes over its vectors,
 * one per accumulator: pass m sums the floats 8m..8m+7 of every 32-float
 * block, pass 0 then the whole 8-float blocks and pass 1 the masked tail,
 * as SumPairs does; SumFinish then adds the four in the single form's order.
 * The passes re-read the tile's vectors, but those are a few KB and stay in
 * L1 between passes.
 *
 * 3 x 3: nine accumulators, three row vectors, one column vector and one
 * difference fill 14 of the 16 ymm registers.
 *
 * The gather forms use the same tile, one query row against GATHER_COLS
 * vectors anywhere in memory (eight accumulators, the query, a vector and a
 * difference: 11 registers).  Re-ranking reads such vectors at random from
 * a large file, each a chain of cache misses; one at a time, the memory
 * system follows a single stream, while a tile walks eight together.  Pass
 * 0 reads the first cache line of every 128 bytes, and asks for the second
 * with a prefetch, so that pass 2 finds it (measured on 33 random
 * 784-float vectors of a mapped file: 9 us against 15 us one at a time).
 */
#define MATRIX_ROWS 3
#define MATRIX_COLS 3
#define GATHER_COLS 8
#define TILE_COLS GATHER_COLS	/* the widest tile */

/*
 * One tile: rows x cols pairs (constants after inlining, at most
 * MATRIX_ROWS x TILE_COLS), x[r] and y[c] the vectors, results to
 * out[r * stride + c].  'stream' (a constant too): y's vectors come from
 * memory, not cache; prefetch their second lines in pass 0.
 */
AVX2_INLINE void
Tile(SumOp op, int rows, int cols, const float *const x[], const float *const y[],
	 int dim, float *out, size_t stride, bool stream)
{
	Sum4		sums[MATRIX_ROWS][TILE_COLS];
	int			blocks32 = dim / 32 * 32;
	int			blocks8 = dim / 8 * 8;

	/*
	 * Unrolled, m is a constant in each pass: the branches on it fold and
	 * sums[][].s[m] is a register move (measured: 1.7x faster than a loop
	 * over m).
	 */
#pragma GCC unroll 4
	for (int m = 0; m < 4; m++)
	{
		__m256		acc[MATRIX_ROWS][TILE_COLS];
		int			i;

#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
			for (int c = 0; c < cols; c++)
				acc[r][c] = _mm256_setzero_ps();

		for (i = 8 * m; i < blocks32; i += 32)
		{
			__m256		xv[MATRIX_ROWS];

#pragma GCC unroll 4
			for (int r = 0; r < rows; r++)
				xv[r] = _mm256_loadu_ps(x[r] + i);
#pragma GCC unroll 8
			for (int c = 0; c < cols; c++)
			{
				__m256		yv = _mm256_loadu_ps(y[c] + i);

				if (stream && m == 0)
					__builtin_prefetch(y[c] + i + 16);
#pragma GCC unroll 4
				for (int r = 0; r < rows; r++)
					acc[r][c] = SumStep(op, acc[r][c], xv[r], yv);
			}
		}
		if (m == 0)
		{
			/* the whole 8-float blocks after the 32-float ones */
			for (i = blocks32; i < blocks8; i += 8)
			{
#pragma GCC unroll 8
				for (int c = 0; c < cols; c++)
				{
					__m256		yv = _mm256_loadu_ps(y[c] + i);

#pragma GCC unroll 4
					for (int r = 0; r < rows; r++)
						acc[r][c] = SumStep(op, acc[r][c],
											_mm256_loadu_ps(x[r] + i), yv);
				}
			}
		}
		else if (m == 1 && blocks8 < dim)
		{
			/* the last 1 to 7 floats, masked as in SumPairs */
			__m256i		tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(dim - blocks8),
												  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));

#pragma GCC unroll 8
			for (int c = 0; c < cols; c++)
			{
				__m256		yv = _mm256_maskload_ps(y[c] + blocks8, tail);

#pragma GCC unroll 4
				for (int r = 0; r < rows; r++)
					acc[r][c] = SumStep(op, acc[r][c],
										_mm256_maskload_ps(x[r] + blocks8, tail), yv);
			}
		}

#pragma GCC unroll 4
		for (int r = 0; r < rows; r++)
#pragma GCC unroll 8
			for (int c = 0; c < cols; c++)
				sums[r][c].s[m] = acc[r][c];
	}

	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			out[(size_t) r * stride + c] = SumFinish(&sums[r][c]);
}

/*
 * The rows x (all of y) strip of the matrix: tiles of MATRIX_COLS columns,
 * then the leftover columns one at a time.  The strip's rows stay in L1
 * while y streams past them.
 */
AVX2_INLINE void
MatrixStrip(int rows, const float *x, const float *y, size_t ny, int dim,
			float *out, size_t stride)
{
	const float *xr[MATRIX_ROWS];
	size_t		j = 0;

	for (int r = 0; r < rows; r++)
		xr[r] = x + (size_t) r * dim;
	for (; j + MATRIX_COLS <= ny; j += MATRIX_COLS)
	{
		const float *yc[MATRIX_COLS];

		for (int c = 0; c < MATRIX_COLS; c++)
			yc[c] = y + (j + c) * (size_t) dim;
		Tile(SUM_L2, rows, MATRIX_COLS, xr, yc, dim, out + j, stride, false);
	}
	for (; j < ny; j++)
	{
		const float *yc[1] = {y + j * (size_t) dim};

		Tile(SUM_L2, rows, 1, xr, yc, dim, out + j, stride, false);
	}
}

AVX2_FUNC void
l2_squared_matrix_avx2(const float *x, size_t nx, const float *y, size_t ny,
					   int dim, float *out, size_t out_stride)
{
	size_t		i = 0;

	for (; i + MATRIX_ROWS <= nx; i += MATRIX_ROWS)
		MatrixStrip(MATRIX_ROWS, x + i * (size_t) dim, y, ny, dim,
					out + i * out_stride, out_stride);
	for (; i < nx; i++)
		MatrixStrip(1, x + i * (size_t) dim, y, ny, dim,
					out + i * out_stride, out_stride);
}

/*
 * The gather form: tiles of GATHER_COLS vectors, then the rest in tiles of
 * 4, 2 and 1 (each width its own constant, so each tile keeps its
 * accumulators in registers).
 */
AVX2_INLINE void
Gather(SumOp op, const float *q, const float *const vectors[], size_t n, int dim,
	   float *out)
{
	const float *x[1] = {q};
	size_t		j = 0;

	for (; j + GATHER_COLS <= n; j += GATHER_COLS)
		Tile(op, 1, GATHER_COLS, x, vectors + j, dim, out + j, 0, true);
	if (j + 4 <= n)
	{
		Tile(op, 1, 4, x, vectors + j, dim, out + j, 0, true);
		j += 4;
	}
	if (j + 2 <= n)
	{
		Tile(op, 1, 2, x, vectors + j, dim, out + j, 0, true);
		j += 2;
	}
	if (j < n)
		Tile(op, 1, 1, x, vectors + j, dim, out + j, 0, true);
}

AVX2_FUNC void
l2_squared_gather_avx2(const float *q, const float *const vectors[], size_t n, int dim,
					   float *out)
{
	Gather(SUM_L2, q, vectors, n, dim, out);
}

AVX2_FUNC void
inner_product_gather_avx2(const float *q, const float *const vectors[], size_t n, int dim,
						  float *out)
{
	Gather(SUM_PRODUCT, q, vectors, n, dim, out);
}

const VectorKernels VectorKernelsAvx2 = {
	.name = "avx2",
	.l2_squared = l2_squared_avx2,
	.inner_product = inner_product_avx2,
	.l1 = l1_avx2,
	.cosine_parts = cosine_parts_avx2,
	.l2_squared_batch = l2_squared_batch_avx2,
	.inner_product_batch = inner_product_batch_avx2,
	.l2_squared_matrix = l2_squared_matrix_avx2,
	.l2_squared_gather = l2_squared_gather_avx2,
	.inner_product_gather = inner_product_gather_avx2,
};

#endif							/* __x86_64__ */
