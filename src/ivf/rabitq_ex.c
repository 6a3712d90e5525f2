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
 * those points, the search tries 32 scales spaced geometrically from "the
 * largest |y_i| at level 1" to "at 4 times the top level" and then 16 evenly
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

#define COARSE_STEPS 32
#define FINE_STEPS 16

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

/* The magnitude index of |y_i| = a at scale t: x_i = +-(index + 1/2) */
static inline float
MagnitudeIndex(float t, float a, float top)
{
	float		l = floorf(t * a);

	return l < top ? l : top;
}

/* cos(x(t), y) up to the factor 1 / |y|, which does not depend on t */
static double
CosineAt(const float *a, int d, float t, float top)
{
	double		dot = 0.0;
	double		norm_sq = 0.0;

	for (int w = 0; w < d; w += 64)
	{
		float		partial_dot = 0.0f;
		float		partial_sq = 0.0f;

		for (int i = w; i < w + 64; i++)
		{
			float		m = MagnitudeIndex(t, a[i], top) + 0.5f;

			partial_dot += m * a[i];
			partial_sq += m * m;
		}
		dot += partial_dot;
		norm_sq += partial_sq;
	}
	return dot / sqrt(norm_sq);
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
 * sum_i level_i v_i and sum_i v_i for v = rotated_query - rotated_centroid,
 * 8 dimensions a step (the padded dimension is a multiple of 64).  Written
 * once and compiled plain and with target("avx2") for each bit width: the
 * same multiplications and additions in the same order (no FMA), so both
 * give bit-identical sums.  Eight levels take 'bits' bytes: one 32-bit word
 * holds them below 8 bits, two at 8.
 */
#define EX_INLINE static inline __attribute__((always_inline))

EX_INLINE void
DotBody(const uint8_t *code, const int bits, const float *rq, const float *rc, int d,
		float *dot, float *sum)
{
	Uint8x32	shift;
	const uint32_t mask = (1u << bits) - 1;
	Float8		acc_dot = {0};
	Float8		acc_sum = {0};
	float		total_dot = 0.0f;
	float		total_sum = 0.0f;

	for (int j = 0; j < 8; j++)
		shift[j] = (uint32_t) (bits == 8 ? 8 * (j % 4) : bits * j);
	for (int i = 0; i < d; i += 8)
	{
		uint64_t	word = 0;
		uint32_t	lo,
					hi;
		Uint8x32	source;
		Int8x32		level;
		Float8		c,
					q,
					p,
					v;

		memcpy(&word, code + (size_t) i * bits / 8, bits);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		word = __builtin_bswap64(word);
#endif
		lo = (uint32_t) word;
		hi = (uint32_t) (word >> 32);
		if (bits == 8)
			source = (Uint8x32) {lo, lo, lo, lo, hi, hi, hi, hi};
		else
			source = (Uint8x32) {lo, lo, lo, lo, lo, lo, lo, lo};
		level = (Int8x32) ((source >> shift) & mask);
		c = __builtin_convertvector(level, Float8);
		LOAD8(q, rq + i);
		LOAD8(p, rc + i);
		v = q - p;
		acc_dot += c * v;
		acc_sum += v;
	}
	for (int j = 0; j < 8; j++)
	{
		total_dot += acc_dot[j];
		total_sum += acc_sum[j];
	}
	*dot = total_dot;
	*sum = total_sum;
}

#define DOT_DISPATCH() \
	do { \
		switch (bits) \
		{ \
			case 2: \
				DotBody(code, 2, rq, rc, d, dot, sum); \
				break; \
			case 4: \
				DotBody(code, 4, rq, rc, d, dot, sum); \
				break; \
			default: \
				DotBody(code, 8, rq, rc, d, dot, sum); \
				break; \
		} \
	} while (0)

static void
DotPlain(const uint8_t *code, int bits, const float *rq, const float *rc, int d,
		 float *dot, float *sum)
{
	DOT_DISPATCH();
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void
DotAvx2(const uint8_t *code, int bits, const float *rq, const float *rc, int d,
		float *dot, float *sum)
{
	DOT_DISPATCH();
}
#endif

/* -1: not asked yet; cpuid can trap under a hypervisor, so ask once */
static int	use_avx2 = -1;

bool
RabitqExSetAvx2(bool use)
{
	bool		previous = use_avx2 == 1;

	use_avx2 = use && VectorCpuHasAvx2Fma();
	return previous;
}

float
RabitqExEstimate(const RabitqRotation *rotation, int bits, const float *rotated_query,
				 const float *rotated_centroid, float query_residual_sq,
				 const uint8_t *ex_code, const RabitqExFactors *factors, float *error)
{
	int			d = RabitqPaddedDims(rotation);
	float		dot;
	float		sum;
	int			avx2 = __atomic_load_n(&use_avx2, __ATOMIC_RELAXED);

	if (avx2 < 0)
	{
		avx2 = VectorCpuHasAvx2Fma() ? 1 : 0;
		__atomic_store_n(&use_avx2, avx2, __ATOMIC_RELAXED);
	}
#if defined(__x86_64__)
	if (avx2)
		DotAvx2(ex_code, bits, rotated_query, rotated_centroid, d, &dot, &sum);
	else
#endif
		DotPlain(ex_code, bits, rotated_query, rotated_centroid, d, &dot, &sum);

	/* <x, q'> with x_i = level_i - (2^B - 1) / 2 */
	*error = (float) (RABITQ_EPSILON0 * factors->error *
					  sqrt((double) query_residual_sq / (double) (d - 1)));
	return factors->scale * (dot - 0.5f * (float) ((1 << bits) - 1) * sum);
}
