/*
 * rabitq_ex.c
 *	  Extended RaBitQ: codes of B bits per rotated dimension (Gao, Gou, Xu,
 *	  Yang, Long and Wong, "Practical and Asymptotically Optimal Quantization
 *	  of High-Dimensional Vectors in Euclidean Space for Approximate Nearest
 *	  Neighbor Search", SIGMOD 2025).  See ivf_math.h for the contract.
 *
 * With y = P(o - c) the rotated residual (rabitq.c), the code is a vector x
 * on the grid {+-1/2, +-3/2, ..., +-(2^B - 1)/2}^D with the signs of y,
 * chosen to point as nearly as possible in y's direction: x_i has magnitude
 * min(floor(t |y_i|), 2^(B-1) - 1) + 1/2 for the scale t that maximises
 * cos(x, y).  At B = 1 every magnitude is 1/2 and this is RaBitQ's code.
 * Stored as the level x_i + (2^B - 1) / 2, an integer in 0 .. 2^B - 1 whose
 * top bit is y_i > 0: the 1-bit code's bit.
 *
 * The estimator is RaBitQ's with x for x_bar:
 *	<o - c, q - c>  ~  |y| <x, q'> / <x, y / |y|>  =  scale * <x, q'>
 * with q' = P(q - c), and the same argument bounds its error: the part of q'
 * orthogonal to y is uniformly spread (the rotation is random), so the error
 * has standard deviation at most |y| |q'| tan(theta) / sqrt(D - 1), theta the
 * angle between x and y.  More bits, smaller theta: for Gaussian-like y,
 * tan(theta) is about 0.75 at 1 bit, 0.36 at 2, 0.09 at 4 and 0.006 at 8
 * (unit test), so the bound shrinks by about those ratios.  The query is not
 * quantized: the code is read only for the few rows the 1-bit pass leaves,
 * and a float dot product there costs less than preparing integer planes.
 *
 * Finding t: cos(x(t), y) is piecewise constant in t, changing where some
 * t |y_i| crosses an integer.  Rather than visiting all D (2^(B-1) - 1) of
 * those points, the search tries 24 scales spaced geometrically from "the
 * largest |y_i| at level 1" to "at 4 times the top level" and then 12 evenly
 * between the best one's neighbours; the unit test checks that this comes
 * within 0.1% of a brute-force search.
 *
 * No PostgreSQL header is included (see ivf_math.h).
 */
#include "ivf/ivf_math.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "ivf/ivf_math_internal.h"
#include "vector/distance.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define COARSE_STEPS 24
#define FINE_STEPS 12

bool
RabitqBitsSupported(int bits)
{
	return bits == 1 || bits == 2 || bits == 4 || bits == 8;
}

size_t
RabitqExCodeBytes(const RabitqRotation *rotation, int bits)
{
	return bits > 1 ? (size_t) RabitqPaddedDims(rotation) * (size_t) bits / 8 : 0;
}

/* ---------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------- */

/*
 * The magnitude index of |y_i| = a at scale t, min(floor(t a), top): x_i is
 * +-(index + 1/2).  t a >= 0, so truncating is flooring; CosineBody does the
 * same 8 lanes at a time, and both give the same indices.
 */
static inline float
MagnitudeIndex(float t, float a, float top)
{
	float		l = (float) (int32_t) (t * a);

	return l < top ? l : top;
}

#define EX_INLINE static inline __attribute__((always_inline))

/*
 * cos(x(t), y) up to the factor 1 / |y|, which does not depend on t: the
 * search's inner loop, 8 dimensions a step (the padded dimension is a
 * multiple of 64), compiled plain and with target("avx2") with the same
 * operations in the same order, so the scale chosen, and the code, do not
 * depend on the CPU.  Sums are float per 64 dimensions, double above.
 */
EX_INLINE double
CosineBody(const float *a, int d, float t, float top)
{
	const int32_t top_level = (int32_t) top;
	double		dot = 0.0;
	double		norm_sq = 0.0;

	for (int w = 0; w < d; w += 64)
	{
		Float8		partial_dot = {0};
		Float8		partial_sq = {0};
		float		sum_dot = 0.0f;
		float		sum_sq = 0.0f;

		for (int i = w; i < w + 64; i += 8)
		{
			Float8		v,
						m;
			Int8x32		level,
						below;

			LOAD8(v, a + i);
			level = __builtin_convertvector(v * t, Int8x32);
			below = level < top_level;	/* -1 where below, 0 elsewhere */
			level = (level & below) | (top_level & ~below);
			m = __builtin_convertvector(level, Float8) + 0.5f;
			partial_dot += m * v;
			partial_sq += m * m;
		}
		for (int j = 0; j < 8; j++)
		{
			sum_dot += partial_dot[j];
			sum_sq += partial_sq[j];
		}
		dot += sum_dot;
		norm_sq += sum_sq;
	}
	return dot / sqrt(norm_sq);
}

static double
CosinePlain(const float *a, int d, float t, float top)
{
	return CosineBody(a, d, t, top);
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static double
CosineAvx2(const float *a, int d, float t, float top)
{
	return CosineBody(a, d, t, top);
}
#endif

static bool UseAvx2(void);

static double
CosineAt(const float *a, int d, float t, float top)
{
#if defined(__x86_64__)
	if (UseAvx2())
		return CosineAvx2(a, d, t, top);
#endif
	return CosinePlain(a, d, t, top);
}

void
RabitqExQuantize(const float *y, int padded, int bits, uint8_t *ex_code,
				 RabitqExFactors *factors)
{
	/* RABITQ_MAX_PADDED bounds this; 64 kB of stack at most */
	float		a[RABITQ_MAX_PADDED];
	int			half = 1 << (bits - 1);
	float		top = (float) (half - 1);
	float		largest = 0.0f;
	double		y_sq = 0.0;
	double		low,
				high,
				ratio,
				best_s;
	double		best = -1.0;
	int			best_step = 0;
	float		t;
	double		dot = 0.0;
	double		x_sq = 0.0;
	double		cosine;

	for (int i = 0; i < padded; i++)
	{
		a[i] = fabsf(y[i]);
		largest = a[i] > largest ? a[i] : largest;
		y_sq += (double) y[i] * y[i];
	}
	memset(ex_code, 0, (size_t) padded * bits / 8);
	if (largest == 0.0f)
	{
		/* o == c: any code; the estimate and the bound are 0 */
		for (int i = 0; i < padded; i++)
			ex_code[(i * bits) / 8] |= (uint8_t) ((half - 1) << ((i * bits) % 8));
		factors->scale = 0.0f;
		factors->error = 0.0f;
		return;
	}

	/* s = t * largest: where the largest |y_i| falls on the level scale */
	low = 1.0;
	high = 4.0 * half;
	ratio = pow(high / low, 1.0 / (COARSE_STEPS - 1));
	for (int k = 0; k < COARSE_STEPS; k++)
	{
		double		s = low * pow(ratio, k);
		double		c = CosineAt(a, padded, (float) (s / largest), top);

		if (c > best)
		{
			best = c;
			best_step = k;
		}
	}
	best_s = low * pow(ratio, best_step);
	low = best_step > 0 ? best_s / ratio : best_s;
	high = best_step < COARSE_STEPS - 1 ? best_s * ratio : best_s;
	for (int k = 0; k <= FINE_STEPS; k++)
	{
		double		s = low + (high - low) * k / FINE_STEPS;
		double		c = CosineAt(a, padded, (float) (s / largest), top);

		if (c > best)
		{
			best = c;
			best_s = s;
		}
	}

	t = (float) (best_s / largest);
	for (int i = 0; i < padded; i++)
	{
		float		m = MagnitudeIndex(t, a[i], top);
		int			level = y[i] > 0.0f ? half + (int) m : half - 1 - (int) m;

		ex_code[(i * bits) / 8] |= (uint8_t) (level << ((i * bits) % 8));
		dot += ((double) m + 0.5) * a[i];
		x_sq += ((double) m + 0.5) * ((double) m + 0.5);
	}
	cosine = dot / (sqrt(x_sq) * sqrt(y_sq));
	if (cosine > 1.0)
		cosine = 1.0;
	factors->scale = (float) (y_sq / dot);
	factors->error = (float) (sqrt(y_sq) * sqrt(1.0 - cosine * cosine) / cosine);
}

/* ---------------------------------------------------------------------------
 * Estimation
 * ------------------------------------------------------------------------- */

/*
 * sum_i level_i v_i, for v = P(q - c) (the padded dimension is a multiple of
 * 64).  Both versions keep DOT_LANES partial sums, lane j taking dimensions
 * j, j + DOT_LANES, ..., with a multiplication then an addition (no FMA),
 * and add the lanes up in the same order, so they give bit-identical sums.
 * (sum_i v_i, the other half of <x, q'>, is the query's: computed once as
 * it is prepared.)  Four vectors of eight lanes: with one, every step waited
 * on the one before, and a row of 832 dimensions took 85-105 ns with its
 * code in L1; now 45-80.
 */
#define DOT_LANES 32			/* DotAvx2Body: four vectors of eight */

/* Level of dimension i: bits (i * B) % 8 .. of byte i * B / 8 */
static inline int
Level(const uint8_t *code, int bits, int i)
{
	return (code[(i * bits) / 8] >> ((i * bits) % 8)) & ((1 << bits) - 1);
}

/*
 * The lanes added up in halves: lane j and lane j + 16, then j + 8, ... (a
 * chain of five additions, where one by one it was 32 long); the vector
 * versions add their registers' halves in this order.
 */
static inline float
AddLanes(float *lanes)
{
	for (int width = DOT_LANES / 2; width >= 1; width /= 2)
		for (int j = 0; j < width; j++)
			lanes[j] += lanes[j + width];
	return lanes[0];
}

static float
DotPlain(const uint8_t *code, int bits, const float *v, int d)
{
	float		acc[DOT_LANES] = {0};

	for (int i = 0; i < d; i += DOT_LANES)
		for (int j = 0; j < DOT_LANES; j++)
			acc[j] += (float) Level(code, bits, i + j) * v[i + j];
	return AddLanes(acc);
}

#if defined(__x86_64__)
/*
 * The levels of dimensions i .. i + 7 in eight 32-bit lanes: at 8 bits a
 * zero-extension; below, the bytes that hold them broadcast and shifted
 * right by B * lane.
 */
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) __m256
Levels8(const uint8_t *code, const int bits, int i, __m256i shifts, __m256i mask)
{
	const uint8_t *p = code + (size_t) i * bits / 8;
	__m256i		level;

	if (bits == 8)
	{
		int64_t		eight;

		memcpy(&eight, p, 8);
		level = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(eight));
	}
	else
	{
		uint32_t	word;

		if (bits == 4)
			memcpy(&word, p, 4);
		else
		{
			/* not two bytes into four: that load would wait for the store */
			uint16_t	half;

			memcpy(&half, p, 2);
			word = half;
		}
		level = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int) word), shifts), mask);
	}
	return _mm256_cvtepi32_ps(level);
}

/* AddLanes' last three steps, on lanes 0 .. 7 */
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) float
AddLanes8(__m256 eight)
{
	__m128		four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
	__m128		two = _mm_add_ps(four, _mm_movehl_ps(four, four));

	return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline)) float
DotAvx2Body(const uint8_t *code, const int bits, const float *v, int d)
{
	const __m256i shifts = _mm256_setr_epi32(0, bits, 2 * bits, 3 * bits, 4 * bits, 5 * bits,
											 6 * bits, 7 * bits);
	const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
	__m256		acc0 = _mm256_setzero_ps();
	__m256		acc1 = _mm256_setzero_ps();
	__m256		acc2 = _mm256_setzero_ps();
	__m256		acc3 = _mm256_setzero_ps();

	for (int i = 0; i < d; i += DOT_LANES)
	{
		acc0 = _mm256_add_ps(acc0, _mm256_mul_ps(Levels8(code, bits, i, shifts, mask),
												 _mm256_loadu_ps(v + i)));
		acc1 = _mm256_add_ps(acc1, _mm256_mul_ps(Levels8(code, bits, i + 8, shifts, mask),
												 _mm256_loadu_ps(v + i + 8)));
		acc2 = _mm256_add_ps(acc2, _mm256_mul_ps(Levels8(code, bits, i + 16, shifts, mask),
												 _mm256_loadu_ps(v + i + 16)));
		acc3 = _mm256_add_ps(acc3, _mm256_mul_ps(Levels8(code, bits, i + 24, shifts, mask),
												 _mm256_loadu_ps(v + i + 24)));
	}
	/* lanes j + 16, then j + 8 */
	return AddLanes8(_mm256_add_ps(_mm256_add_ps(acc0, acc2), _mm256_add_ps(acc1, acc3)));
}

/* One copy per width, so that every load has a constant size */
__attribute__((target("avx2")))
static float
DotAvx2(const uint8_t *code, int bits, const float *v, int d)
{
	switch (bits)
	{
		case 2:
			return DotAvx2Body(code, 2, v, d);
		case 4:
			return DotAvx2Body(code, 4, v, d);
		default:
			return DotAvx2Body(code, 8, v, d);
	}
}
#endif

/* -1: not asked yet; cpuid can trap under a hypervisor, so ask once */
static int	use_avx2 = -1;

static bool
UseAvx2(void)
{
	int			avx2 = __atomic_load_n(&use_avx2, __ATOMIC_RELAXED);

	if (avx2 < 0)
	{
		avx2 = VectorCpuHasAvx2Fma() ? 1 : 0;
		__atomic_store_n(&use_avx2, avx2, __ATOMIC_RELAXED);
	}
	return avx2 == 1;
}

bool
RabitqExSetAvx2(bool use)
{
	bool		previous = UseAvx2();

	__atomic_store_n(&use_avx2, use && VectorCpuHasAvx2Fma() ? 1 : 0, __ATOMIC_RELAXED);
	return previous;
}

float
RabitqExEstimate(const RabitqQuery *prepared, int bits, const uint8_t *ex_code,
				 const RabitqExFactors *factors, float *error)
{
	int			d = RabitqQueryPaddedDims(prepared);
	const float *v = RabitqQueryRotatedResidual(prepared);
	float		dot;

#if defined(__x86_64__)
	if (UseAvx2())
		dot = DotAvx2(ex_code, bits, v, d);
	else
#endif
		dot = DotPlain(ex_code, bits, v, d);

	/* <x, q'> with x_i = level_i - (2^B - 1) / 2 */
	*error = (float) (RABITQ_EPSILON0 * factors->error *
					  sqrt((double) RabitqQueryResidualNormSquared(prepared) / (double) (d - 1)));
	return factors->scale *
		(dot - 0.5f * (float) ((1 << bits) - 1) * RabitqQueryRotatedResidualSum(prepared));
}
