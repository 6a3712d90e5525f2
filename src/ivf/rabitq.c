/*
 * rabitq.c
 *	  RaBitQ 1-bit quantization (Gao and Long, "RaBitQ: Quantizing
 *	  High-Dimensional Vectors with a Theoretical Error Bound for Approximate
 *	  Nearest Neighbor Search", SIGMOD 2024): the random rotation, encoding,
 *	  query preparation and the batch estimator.  See ivf_math.h for the
 *	  contract.
 *
 * Notation (D = the padded dimension, P = the rotation, y = P(o - c)):
 *	code bit i = [y_i > 0], x_bar_i = (2 bit_i - 1) / sqrt(D), and
 *	code_dot = <x_bar, y / |y|> = sum |y_i| / (sqrt(D) |y|), which is
 *	<o_bar, (o - c) / |o - c|> of the paper since P is orthogonal.
 * For a query, q' = P(q - c), and the estimator is
 *	<o - c, q - c>  ~  |o - c| * <x_bar, q'> / code_dot,
 * whose error is below |o - c| |q - c| sqrt(1 - code_dot^2) / code_dot *
 * epsilon_0 / sqrt(D - 1) with high probability (the paper's Theorem 3.2,
 * epsilon_0 = 1.9).  That term is epsilon_0 standard deviations of the
 * estimator: its error is close to normal (<x_bar, e> for e uniform on the
 * sphere orthogonal to the data vector), so epsilon_0 = 1.9 covers about 94%
 * of pairs, P(|Z| <= 1.9), and 2.7 would cover 99.3%; the unit test measures
 * both.  The query's 4-bit rounding (below) adds its own, exactly known
 * variance, so the bound returned is
 *	epsilon_0 |o - c| / code_dot *
 *		sqrt(|q - c|^2 (1 - code_dot^2) / (D - 1) + rounding variance)
 * which keeps the same coverage with a quantized query.
 *
 * <x_bar, q'> is what must be fast.  As in the paper (section 3.3), q' is
 * quantized to 4-bit integers u_i by randomized rounding,
 * q'_i ~ low + delta * u_i with E[u_i] exact, so the estimate stays unbiased,
 * and the u_i are stored as 4 bit planes.  Then, with pc = popcount(code) and
 * ip = sum_b 2^b popcount(code & plane_b),
 *	sqrt(D) <x_bar, q_hat> = low * (2 pc - D) + delta * (2 ip - sum u_i),
 * two integers per code from 5 popcounts per 64 dimensions, and a few flops.
 * The kernels (generic, POPCNT, AVX-512 VPOPCNTDQ) differ only in how they
 * count, so they return bit-identical estimates.
 *
 * The code layout: bit i of a code is bit (i % 8) of byte (i / 8), so a code
 * read as little-endian 64-bit words has dimension i at bit (i % 64) of word
 * (i / 64).  That is the on-disk meaning; it does not depend on the host.
 *
 * Only sqrt is needed (no transcendental function anywhere: the rotation's
 * entries are +-1 and powers of 1/sqrt(2)), so SLEEF would add nothing.
 *
 * No PostgreSQL header is included (see ivf_math.h).
 */
#include "ivf/ivf_math.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ivf/ivf_math_internal.h"
#include "vector/distance.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#define QUERY_BITS 4
#define QUERY_LEVELS ((1 << QUERY_BITS) - 1)	/* u_i in 0..15 */

/*
 * The rotation.
 *
 * A dense random orthogonal matrix costs D^2 floats (1 GB at D = 16000) and
 * D^2 flops per vector.  Instead P is a product of structured orthogonal
 * factors, each O(D) or O(D log D):
 *
 *	S	a diagonal of random signs (+-1);
 *	H	the Walsh-Hadamard transform of a power-of-two block B, scaled by
 *		1/sqrt(B) so it is orthogonal, identity outside the block;
 *	K	a butterfly pairing coordinate i with i + D/2:
 *		(a, b) -> ((a + b) / sqrt 2, (a - b) / sqrt 2), one Givens rotation
 *		by pi/4 per pair (a deterministic step of Kac's random walk).
 *
 * When D is a power of two a round is H S over all of D; three rounds
 * (H S)^3 are the usual stand-in for a Haar-random rotation (Ailon and
 * Chazelle's fast Johnson-Lindenstrauss transform uses one; Yu et al.,
 * "Orthogonal Random Features", NeurIPS 2016, use three).  Otherwise B is
 * the largest power of two below D and a round is
 *	K S H_back S H_front S
 * with H_front on [0, B) and H_back on [D - B, D): the two blocks overlap and
 * cover everything, and K moves half of each coordinate's energy across the
 * halves, so even when the overlap is small (D = 16000: B = 8192, overlap
 * 384) energy spreads over all of D within a round.  Four such rounds.
 *
 * Every factor is orthogonal, so P is, to float rounding; the test checks
 * norms and inner products.  The signs come from splitmix64 seeded by
 * (dims, seed) and nothing else: integer arithmetic, the same P everywhere.
 * The 1/sqrt(B) of each H is folded into the sign pass before it (signs are
 * +-1/sqrt(B) inside the block, +-1 outside).
 */
#define ROUNDS_POWER_OF_TWO 3
#define ROUNDS_GENERAL 4

struct RabitqRotation
{
	int			dims;
	int			padded;			/* D: dims rounded up to a multiple of 64 */
	int			block;			/* B: the largest power of two <= D */
	int			rounds;
	int			passes;			/* sign passes: rounds or 2 * rounds */
	uint64_t	seed;
	bool		avx2;			/* Rotate, Quantize and RabitqQueryPrepareRotated may use AVX2 */
	float	   *signs;			/* passes * padded */
	float	   *dither;			/* padded offsets in [0, 1) for Quantize's rounding */
};

/*
 * A prepared query.  planes[b] bit i is bit b of u_i (native 64-bit words);
 * after them comes q' itself, for the B-bit estimates
 * (RabitqQueryRotatedResidual).
 */
struct RabitqQuery
{
	int32_t		padded;
	int32_t		words;			/* padded / 64 */
	int32_t		kernel;			/* a RabitqKernel */
	int32_t		sum_u;			/* sum of u_i */
	float		residual_norm_sq;	/* |q - c|^2 */
	float		residual_sum;	/* sum of q'_i (RangePlain) */
	float		centroid_dot;	/* <q, c> */
	float		low;			/* q'_i ~ low + delta * u_i */
	float		delta;
	float		scale;			/* 1 / sqrt(D) */
	float		error_rotation;	/* epsilon_0^2 |q - c|^2 / (D - 1) */
	float		error_rounding;	/* epsilon_0^2 * variance of <x_bar, q_hat - q'> */
	uint64_t	planes[];		/* QUERY_BITS * words, then the rotated query */
};

/* Sets the query's sizes and returns where q' goes */
static inline float *
QueryStart(const RabitqRotation *rotation, RabitqQuery *prepared)
{
	prepared->padded = rotation->padded;
	prepared->words = rotation->padded / 64;
	return (float *) (prepared->planes + (size_t) QUERY_BITS * prepared->words);
}

/* ---------------------------------------------------------------------------
 * Rotation
 * ------------------------------------------------------------------------- */

/*
 * The passes work on 8 floats at a time through GCC/Clang vector extensions
 * (Float8, ivf_math_internal.h): D and B are multiples of 64, so there is no
 * remainder.  Each is written
 * once as an always_inline body and instantiated twice, plain (two SSE
 * operations per 8 floats on x86-64, whatever the target offers elsewhere)
 * and with target("avx2"); the AVX2 copy also does the first three Hadamard
 * levels with in-register shuffles.  Both perform the same float additions
 * and multiplications in the same order (no FMA: nothing here is a
 * multiply-add), so they give bit-identical rotations.
 */
#define ROTATE_INLINE static inline __attribute__((always_inline))

/* Hadamard levels 1, 2 and 4 within each group of 8 floats, scalar */
ROTATE_INLINE void
Fwht8Scalar(float *x, int len)
{
	for (int i = 0; i < len; i += 8)
	{
		float	   *v = x + i;
		float		a0 = v[0] + v[1],
					a1 = v[0] - v[1],
					a2 = v[2] + v[3],
					a3 = v[2] - v[3],
					a4 = v[4] + v[5],
					a5 = v[4] - v[5],
					a6 = v[6] + v[7],
					a7 = v[6] - v[7];
		float		b0 = a0 + a2,
					b1 = a1 + a3,
					b2 = a0 - a2,
					b3 = a1 - a3,
					b4 = a4 + a6,
					b5 = a5 + a7,
					b6 = a4 - a6,
					b7 = a5 - a7;

		v[0] = b0 + b4;
		v[1] = b1 + b5;
		v[2] = b2 + b6;
		v[3] = b3 + b7;
		v[4] = b0 - b4;
		v[5] = b1 - b5;
		v[6] = b2 - b6;
		v[7] = b3 - b7;
	}
}

/*
 * Hadamard levels 8 .. len/2: butterflies between whole groups of 8, two
 * levels per pass over x where two are left (a, b, c, d = x[j], x[j + h],
 * x[j + 2h], x[j + 3h]: level h, then level 2h, the same additions in the
 * same order as two passes, with half the loads and stores).
 */
ROTATE_INLINE void
FwhtWide(float *x, int len)
{
	int			h = 8;

	for (; 4 * h <= len; h <<= 2)
	{
		for (int i = 0; i < len; i += 4 * h)
		{
			for (int j = i; j < i + h; j += 8)
			{
				Float8		a,
							b,
							c,
							d,
							ab_sum,
							ab_diff,
							cd_sum,
							cd_diff,
							out;

				LOAD8(a, x + j);
				LOAD8(b, x + j + h);
				LOAD8(c, x + j + 2 * h);
				LOAD8(d, x + j + 3 * h);
				ab_sum = a + b;
				ab_diff = a - b;
				cd_sum = c + d;
				cd_diff = c - d;
				out = ab_sum + cd_sum;
				STORE8(x + j, out);
				out = ab_diff + cd_diff;
				STORE8(x + j + h, out);
				out = ab_sum - cd_sum;
				STORE8(x + j + 2 * h, out);
				out = ab_diff - cd_diff;
				STORE8(x + j + 3 * h, out);
			}
		}
	}
	for (; h < len; h <<= 1)
	{
		for (int i = 0; i < len; i += 2 * h)
		{
			for (int j = i; j < i + h; j += 8)
			{
				Float8		u,
							w,
							sum,
							diff;

				LOAD8(u, x + j);
				LOAD8(w, x + j + h);
				sum = u + w;
				diff = u - w;
				STORE8(x + j, sum);
				STORE8(x + j + h, diff);
			}
		}
	}
}

ROTATE_INLINE void
Multiply(float *x, const float *s, int len)
{
	for (int i = 0; i < len; i += 8)
	{
		Float8		a,
					b;

		LOAD8(a, x + i);
		LOAD8(b, s + i);
		a = a * b;
		STORE8(x + i, a);
	}
}

/* (a, b) -> ((a + b) / sqrt 2, (a - b) / sqrt 2) for a = x[i], b = x[i + len/2] */
ROTATE_INLINE void
Butterfly(float *x, int len)
{
	int			half = len / 2;
	const Float8 r = {M_SQRT1_2, M_SQRT1_2, M_SQRT1_2, M_SQRT1_2,
	M_SQRT1_2, M_SQRT1_2, M_SQRT1_2, M_SQRT1_2};

	/* half is a multiple of 32 */
	for (int i = 0; i < half; i += 8)
	{
		Float8		a,
					b,
					sum,
					diff;

		LOAD8(a, x + i);
		LOAD8(b, x + i + half);
		sum = (a + b) * r;
		diff = (a - b) * r;
		STORE8(x + i, sum);
		STORE8(x + i + half, diff);
	}
}

/*
 * The rounds (see the comment at RabitqRotation), with 'fwht8' doing the
 * levels within groups of 8.
 */
#define ROTATE_BODY(fwht8) \
	do { \
		int			d = rotation->padded; \
		int			b = rotation->block; \
		const float *s = rotation->signs; \
		for (int r = 0; r < rotation->rounds; r++) \
		{ \
			Multiply(x, s, d); \
			s += d; \
			fwht8(x, b); \
			FwhtWide(x, b); \
			if (b != d) \
			{ \
				Multiply(x, s, d); \
				s += d; \
				fwht8(x + (d - b), b); \
				FwhtWide(x + (d - b), b); \
				Butterfly(x, d); \
			} \
		} \
	} while (0)

static void
RotatePlain(const RabitqRotation *rotation, float *x)
{
	ROTATE_BODY(Fwht8Scalar);
}

#if defined(__x86_64__)

/*
 * Levels 1, 2 and 4 in registers.  For level h, s = x with lanes i and i ^ h
 * swapped; lanes with bit h clear take x + s (= x_i + x_{i+h}), the others
 * s - x (= x_{i-h} - x_i): the very additions of Fwht8Scalar.
 */
__attribute__((target("avx2"))) static inline void
Fwht8Avx2(float *x, int len)
{
	for (int i = 0; i < len; i += 8)
	{
		__m256		v = _mm256_loadu_ps(x + i);
		__m256		s;

		s = _mm256_permute_ps(v, 0xb1);
		v = _mm256_blend_ps(_mm256_add_ps(v, s), _mm256_sub_ps(s, v), 0xaa);
		s = _mm256_permute_ps(v, 0x4e);
		v = _mm256_blend_ps(_mm256_add_ps(v, s), _mm256_sub_ps(s, v), 0xcc);
		s = _mm256_permute2f128_ps(v, v, 0x01);
		v = _mm256_blend_ps(_mm256_add_ps(v, s), _mm256_sub_ps(s, v), 0xf0);
		_mm256_storeu_ps(x + i, v);
	}
}

__attribute__((target("avx2")))
static void
RotateAvx2(const RabitqRotation *rotation, float *x)
{
	ROTATE_BODY(Fwht8Avx2);
}

#endif							/* __x86_64__ */

/* Rotates x (padded floats) in place */
static void
Rotate(const RabitqRotation *rotation, float *x)
{
#if defined(__x86_64__)
	if (rotation->avx2)
	{
		RotateAvx2(rotation, x);
		return;
	}
#endif
	RotatePlain(rotation, x);
}

RabitqRotation *
RabitqRotationCreate(int dims, uint64_t seed)
{
	RabitqRotation *rotation;
	uint64_t	rng;
	int			d;
	int			b;

	if (dims < 1 || dims > RABITQ_MAX_DIMS)
		return NULL;
	d = (dims + 63) / 64 * 64;
	b = 64;
	while (b * 2 <= d)
		b *= 2;

	rotation = malloc(sizeof(RabitqRotation));
	if (rotation == NULL)
		return NULL;
	rotation->dims = dims;
	rotation->padded = d;
	rotation->block = b;
	rotation->rounds = b == d ? ROUNDS_POWER_OF_TWO : ROUNDS_GENERAL;
	rotation->passes = b == d ? rotation->rounds : 2 * rotation->rounds;
	rotation->seed = seed;
	rotation->avx2 = VectorCpuHasAvx2Fma();
	rotation->signs = malloc(sizeof(float) * (size_t) rotation->passes * d);
	rotation->dither = malloc(sizeof(float) * (size_t) d);
	if (rotation->signs == NULL || rotation->dither == NULL)
	{
		free(rotation->signs);
		free(rotation->dither);
		free(rotation);
		return NULL;
	}

	/* Seeded by both, so rotations of different widths are unrelated */
	rng = seed ^ ((uint64_t) dims * UINT64_C(0xd6e8feb86659fd93));
	for (int p = 0; p < rotation->passes; p++)
	{
		float	   *s = rotation->signs + (size_t) p * d;
		/* even passes precede H_front (or H over all of D), odd ones H_back */
		int			begin = (p % 2 == 0 || b == d) ? 0 : d - b;
		float		inside = (float) (1.0 / sqrt((double) b));
		uint64_t	bits = 0;

		for (int i = 0; i < d; i++)
		{
			float		magnitude = (i >= begin && i < begin + b) ? inside : 1.0f;

			if (i % 64 == 0)
				bits = IvfRandomNext(&rng);
			s[i] = ((bits >> (i % 64)) & 1) ? -magnitude : magnitude;
		}
	}

	/* 16 random bits each, four per draw, from a seed of their own */
	rng = seed ^ UINT64_C(0x243f6a8885a308d3);
	for (int i = 0; i < d; i += 4)
	{
		uint64_t	bits = IvfRandomNext(&rng);

		for (int j = 0; j < 4; j++)
			rotation->dither[i + j] = (float) ((bits >> (16 * j)) & 0xffff) * 0x1p-16f;
	}
	return rotation;
}

void
RabitqRotationFree(RabitqRotation *rotation)
{
	if (rotation == NULL)
		return;
	free(rotation->signs);
	free(rotation->dither);
	free(rotation);
}

int
RabitqPaddedDims(const RabitqRotation *rotation)
{
	return rotation->padded;
}

size_t
RabitqCodeBytes(const RabitqRotation *rotation)
{
	return (size_t) rotation->padded / 8;
}

void
RabitqRotate(const RabitqRotation *rotation, const float *vector, float *rotated)
{
	memcpy(rotated, vector, sizeof(float) * (size_t) rotation->dims);
	memset(rotated + rotation->dims, 0,
		   sizeof(float) * (size_t) (rotation->padded - rotation->dims));
	Rotate(rotation, rotated);
}

/* ---------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------- */

void
RabitqEncodeBits(const RabitqRotation *rotation, int bits, const float *vector,
				 const float *centroid, uint8_t *code, RabitqFactors *factors,
				 uint8_t *ex_code, RabitqExFactors *ex_factors)
{
	/* RABITQ_MAX_DIMS bounds this; 64 kB of stack at most */
	float		y[RABITQ_MAX_PADDED];
	int			dims = rotation->dims;
	int			d = rotation->padded;
	double		norm_sq = 0.0;
	double		centroid_dot = 0.0;
	double		rotated_sq = 0.0;
	double		abs_sum = 0.0;

	for (int i = 0; i < dims; i++)
	{
		double		r = (double) vector[i] - (double) centroid[i];

		y[i] = (float) r;
		norm_sq += r * r;
		centroid_dot += r * centroid[i];
	}
	memset(y + dims, 0, sizeof(float) * (size_t) (d - dims));
	Rotate(rotation, y);

	for (int w = 0; w < d / 64; w++)
	{
		uint64_t	word = 0;
		float		sq = 0.0f;
		float		abs = 0.0f;

		/* per-word float sums (64 terms), added up in double */
		for (int b = 0; b < 64; b++)
		{
			float		v = y[w * 64 + b];

			word |= (uint64_t) (v > 0.0f) << b;
			sq += v * v;
			abs += fabsf(v);
		}
		for (int byte = 0; byte < 8; byte++)
			code[w * 8 + byte] = (uint8_t) (word >> (8 * byte));
		rotated_sq += sq;
		abs_sum += abs;
	}

	factors->residual_norm = (float) sqrt(norm_sq);
	factors->centroid_dot = (float) centroid_dot;
	/*
	 * o == c: the estimate is |o - c| * (...) = 0 whatever code_dot is;
	 * 1 keeps it and the error bound free of 0/0.
	 */
	if (rotated_sq > 0.0)
		factors->code_dot = (float) (abs_sum / (sqrt((double) d) * sqrt(rotated_sq)));
	else
		factors->code_dot = 1.0f;
	if (bits > 1)
		RabitqExQuantize(y, d, bits, ex_code, ex_factors);
}

void
RabitqEncode(const RabitqRotation *rotation, const float *vector,
			 const float *centroid, uint8_t *code, RabitqFactors *factors)
{
	RabitqEncodeBits(rotation, 1, vector, centroid, code, factors, NULL, NULL);
}

/* ---------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------- */

size_t
RabitqQuerySize(const RabitqRotation *rotation)
{
	size_t		words = (size_t) rotation->padded / 64;

	return offsetof(RabitqQuery, planes) + sizeof(uint64_t) * QUERY_BITS * words +
		sizeof(float) * (size_t) rotation->padded;
}

/*
 * Bit 0 of each byte of x, as 8 bits (byte j gives bit j).  The multiplier
 * has a bit at 56 - 7j for each j, which moves byte j's bit 0 to bit 56 + j;
 * every other product lands at a distinct position below 56 or above 63, so
 * nothing carries into the top byte.
 */
static inline uint64_t
GatherBits(uint64_t x)
{
	return ((x & UINT64_C(0x0101010101010101)) * UINT64_C(0x0102040810204080)) >> 56;
}

/*
 * The levels u_i of q' in bit planes, their sum, and the sum of
 * frac (1 - frac) (see Quantize), the latter in 8 partial sums, lane j taking
 * dimensions j, j + 8, ..., added up in lane order: the portable and the AVX2
 * versions compute the very same floats.
 */
typedef struct QueryLevels
{
	int32_t		sum_u;
	float		rounding_sum;
} QueryLevels;

static QueryLevels
QuantizePlain(const float *y, const float *dither, int words, float low, float inverse,
			  uint64_t *planes)
{
	float		rounding[8] = {0};
	QueryLevels result = {0, 0.0f};

	for (int w = 0; w < words; w++)
	{
		uint8_t		levels[64];
		uint64_t	plane[QUERY_BITS] = {0};

		for (int b = 0; b < 64; b += 8)
		{
			for (int j = 0; j < 8; j++)
			{
				int			i = w * 64 + b + j;
				float		t = (y[i] - low) * inverse;	/* in [0, QUERY_LEVELS] */
				float		frac = t - (float) (int) t;
				int			u = (int) (t + dither[i]);

				levels[b + j] = (uint8_t) (u > QUERY_LEVELS ? QUERY_LEVELS : u);
				rounding[j] += frac * (1.0f - frac);
			}
		}
		for (int b = 0; b < 64; b += 8)
		{
			uint64_t	eight = 0;

			for (int j = 0; j < 8; j++)
				eight |= (uint64_t) levels[b + j] << (8 * j);
			for (int p = 0; p < QUERY_BITS; p++)
				plane[p] |= GatherBits(eight >> p) << b;
			for (int j = 0; j < 8; j++)
				result.sum_u += levels[b + j];
		}
		for (int p = 0; p < QUERY_BITS; p++)
			planes[(size_t) p * words + w] = plane[p];
	}
	for (int j = 0; j < 8; j++)
		result.rounding_sum += rounding[j];
	return result;
}

/*
 * Least and greatest of y[0..d), d a multiple of 8, and its sum in 8 partial
 * sums (lane j taking dimensions j, j + 8, ...) added up in lane order, so
 * that both versions compute the very same float.  A zero comes out as +0
 * whatever its sign, so that both versions agree where -0 and +0 tie.
 */
static void
RangePlain(const float *y, int d, float *low, float *high, float *sum)
{
	float		lo = y[0];
	float		hi = y[0];
	float		lanes[8] = {0};

	for (int i = 1; i < d; i++)
	{
		lo = y[i] < lo ? y[i] : lo;
		hi = y[i] > hi ? y[i] : hi;
	}
	for (int i = 0; i < d; i += 8)
		for (int j = 0; j < 8; j++)
			lanes[j] += y[i + j];
	*low = lo + 0.0f;
	*high = hi + 0.0f;
	*sum = 0.0f;
	for (int j = 0; j < 8; j++)
		*sum += lanes[j];
}

/*
 * q' = P q - P c into y, with |q - c|^2 and <q, c> in doubles, in 8 partial
 * sums each as QuantizePlain keeps its rounding sums.
 */
static void
ResidualPlain(const float *rotated_query, const float *rotated_centroid, int d, float *y,
			  double *norm_sq, double *centroid_dot)
{
	double		norm[8] = {0};
	double		dot[8] = {0};

	for (int i = 0; i < d; i += 8)
	{
		for (int j = 0; j < 8; j++)
		{
			float		r = rotated_query[i + j] - rotated_centroid[i + j];

			y[i + j] = r;
			norm[j] += (double) r * (double) r;
			dot[j] += (double) rotated_query[i + j] * (double) rotated_centroid[i + j];
		}
	}
	*norm_sq = 0.0;
	*centroid_dot = 0.0;
	for (int j = 0; j < 8; j++)
	{
		*norm_sq += norm[j];
		*centroid_dot += dot[j];
	}
}

#if defined(__x86_64__)

/*
 * Eight dimensions a step, their levels in the lanes of a vector: bit p of
 * every level shifted to the sign bit and gathered by movemask.  No FMA
 * (target "avx2" alone), so the products round as QuantizePlain's do.
 */
__attribute__((target("avx2")))
static QueryLevels
QuantizeAvx2(const float *y, const float *dither, int words, float low, float inverse,
			 uint64_t *planes)
{
	const __m256 vlow = _mm256_set1_ps(low);
	const __m256 vinverse = _mm256_set1_ps(inverse);
	const __m256 one = _mm256_set1_ps(1.0f);
	const __m256i top = _mm256_set1_epi32(QUERY_LEVELS);
	__m256		rounding = _mm256_setzero_ps();
	__m256i		sum = _mm256_setzero_si256();
	float		lanes[8];
	int32_t		sums[8];
	QueryLevels result = {0, 0.0f};

	for (int w = 0; w < words; w++)
	{
		uint64_t	plane[QUERY_BITS] = {0};

		for (int b = 0; b < 64; b += 8)
		{
			int			i = w * 64 + b;
			__m256		t = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + i), vlow), vinverse);
			__m256		frac = _mm256_sub_ps(t, _mm256_cvtepi32_ps(_mm256_cvttps_epi32(t)));
			__m256i		u = _mm256_min_epi32(_mm256_cvttps_epi32(
								_mm256_add_ps(t, _mm256_loadu_ps(dither + i))), top);

			rounding = _mm256_add_ps(rounding, _mm256_mul_ps(frac, _mm256_sub_ps(one, frac)));
			sum = _mm256_add_epi32(sum, u);
			for (int p = 0; p < QUERY_BITS; p++)
				plane[p] |= (uint64_t) _mm256_movemask_ps(
					_mm256_castsi256_ps(_mm256_slli_epi32(u, 31 - p))) << b;
		}
		for (int p = 0; p < QUERY_BITS; p++)
			planes[(size_t) p * words + w] = plane[p];
	}
	_mm256_storeu_ps(lanes, rounding);
	_mm256_storeu_si256((__m256i *) sums, sum);
	for (int j = 0; j < 8; j++)
	{
		result.rounding_sum += lanes[j];
		result.sum_u += sums[j];
	}
	return result;
}

__attribute__((target("avx2")))
static void
RangeAvx2(const float *y, int d, float *low, float *high, float *sum)
{
	__m256		lo = _mm256_loadu_ps(y);
	__m256		hi = lo;
	__m256		total = _mm256_add_ps(_mm256_setzero_ps(), lo);	/* as RangePlain's 0 + y */
	float		lows[8];
	float		highs[8];
	float		sums[8];
	float		l;
	float		h;

	for (int i = 8; i < d; i += 8)
	{
		__m256		v = _mm256_loadu_ps(y + i);

		lo = _mm256_min_ps(lo, v);
		hi = _mm256_max_ps(hi, v);
		total = _mm256_add_ps(total, v);
	}
	_mm256_storeu_ps(lows, lo);
	_mm256_storeu_ps(highs, hi);
	_mm256_storeu_ps(sums, total);
	l = lows[0];
	h = highs[0];
	for (int j = 1; j < 8; j++)
	{
		l = lows[j] < l ? lows[j] : l;
		h = highs[j] > h ? highs[j] : h;
	}
	*low = l + 0.0f;
	*high = h + 0.0f;
	*sum = 0.0f;
	for (int j = 0; j < 8; j++)
		*sum += sums[j];
}

/* ResidualPlain's lanes 0-3 and 4-7 in two vectors of doubles */
__attribute__((target("avx2")))
static void
ResidualAvx2(const float *rotated_query, const float *rotated_centroid, int d, float *y,
			 double *norm_sq, double *centroid_dot)
{
	__m256d		norm_low = _mm256_setzero_pd();
	__m256d		norm_high = _mm256_setzero_pd();
	__m256d		dot_low = _mm256_setzero_pd();
	__m256d		dot_high = _mm256_setzero_pd();
	double		norm[8];
	double		dot[8];

	for (int i = 0; i < d; i += 8)
	{
		__m256		q = _mm256_loadu_ps(rotated_query + i);
		__m256		c = _mm256_loadu_ps(rotated_centroid + i);
		__m256		r = _mm256_sub_ps(q, c);
		__m256d		r_low = _mm256_cvtps_pd(_mm256_castps256_ps128(r));
		__m256d		r_high = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));

		_mm256_storeu_ps(y + i, r);
		norm_low = _mm256_add_pd(norm_low, _mm256_mul_pd(r_low, r_low));
		norm_high = _mm256_add_pd(norm_high, _mm256_mul_pd(r_high, r_high));
		dot_low = _mm256_add_pd(dot_low,
								_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(q)),
											  _mm256_cvtps_pd(_mm256_castps256_ps128(c))));
		dot_high = _mm256_add_pd(dot_high,
								 _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(q, 1)),
											   _mm256_cvtps_pd(_mm256_extractf128_ps(c, 1))));
	}
	_mm256_storeu_pd(norm, norm_low);
	_mm256_storeu_pd(norm + 4, norm_high);
	_mm256_storeu_pd(dot, dot_low);
	_mm256_storeu_pd(dot + 4, dot_high);
	*norm_sq = 0.0;
	*centroid_dot = 0.0;
	for (int j = 0; j < 8; j++)
	{
		*norm_sq += norm[j];
		*centroid_dot += dot[j];
	}
}

#endif							/* __x86_64__ */

/*
 * Quantizes q' (stored after the planes, see QueryStart) into the bit planes and sets every
 * field but the two norms' sources, given |q - c|^2 and <q, c>.
 *
 * Randomized rounding: u = floor((q' - low) / delta + r), r uniform, has
 * expectation (q' - low) / delta, so the estimate stays unbiased.  r is the
 * rotation's dither (16 random bits each, which moves that expectation by
 * less than 2^-16 of a step), fixed by the seed, so a query always gives the
 * same estimates.
 *
 * Every scan prepares one query per probed list, so the per-dimension work
 * is kept small: no random draw (the dither is precomputed), 8 partial sums
 * of the rounding variance, and with AVX2 eight dimensions a step (without,
 * the bit planes gathered from 8 levels at once, see GatherBits).
 */
static void
Quantize(const RabitqRotation *rotation, RabitqQuery *prepared, double norm_sq,
		 double centroid_dot)
{
	int			d = rotation->padded;
	const float *y = QueryStart(rotation, prepared);
	float		low;
	float		high;
	float		delta;
	float		inverse;
	float		sum;
	QueryLevels levels;

	prepared->kernel = RabitqKernelBest();
#if defined(__x86_64__)
	if (rotation->avx2)
		RangeAvx2(y, d, &low, &high, &sum);
	else
#endif
		RangePlain(y, d, &low, &high, &sum);
	delta = (high - low) / QUERY_LEVELS;
	inverse = delta > 0.0f ? 1.0f / delta : 0.0f;
#if defined(__x86_64__)
	if (rotation->avx2)
		levels = QuantizeAvx2(y, rotation->dither, d / 64, low, inverse, prepared->planes);
	else
#endif
		levels = QuantizePlain(y, rotation->dither, d / 64, low, inverse, prepared->planes);

	prepared->sum_u = levels.sum_u;
	prepared->residual_norm_sq = (float) norm_sq;
	prepared->residual_sum = sum;
	prepared->centroid_dot = (float) centroid_dot;
	prepared->low = low;
	prepared->delta = delta;
	prepared->scale = (float) (1.0 / sqrt((double) d));
	prepared->error_rotation = (float) (RABITQ_EPSILON0 * RABITQ_EPSILON0 * norm_sq /
										(double) (d - 1));
	/* rounding up with probability frac has variance frac (1 - frac) delta^2 */
	prepared->error_rounding = (float) (RABITQ_EPSILON0 * RABITQ_EPSILON0 *
										(double) levels.rounding_sum * delta * delta /
										(double) d);
}

void
RabitqQueryPrepare(const RabitqRotation *rotation, const float *query,
				   const float *centroid, RabitqQuery *prepared)
{
	int			dims = rotation->dims;
	float	   *y = QueryStart(rotation, prepared);
	double		norm_sq = 0.0;
	double		centroid_dot = 0.0;

	for (int i = 0; i < dims; i++)
	{
		double		r = (double) query[i] - (double) centroid[i];

		y[i] = (float) r;
		norm_sq += r * r;
		centroid_dot += (double) query[i] * centroid[i];
	}
	memset(y + dims, 0, sizeof(float) * (size_t) (rotation->padded - dims));
	Rotate(rotation, y);
	Quantize(rotation, prepared, norm_sq, centroid_dot);
}

void
RabitqQueryPrepareRotated(const RabitqRotation *rotation, const float *rotated_query,
						  const float *rotated_centroid, RabitqQuery *prepared)
{
	float	   *y = QueryStart(rotation, prepared);
	double		norm_sq;
	double		centroid_dot;

#if defined(__x86_64__)
	if (rotation->avx2)
		ResidualAvx2(rotated_query, rotated_centroid, rotation->padded, y, &norm_sq,
					 &centroid_dot);
	else
#endif
		ResidualPlain(rotated_query, rotated_centroid, rotation->padded, y, &norm_sq,
					  &centroid_dot);
	Quantize(rotation, prepared, norm_sq, centroid_dot);
}

float
RabitqQueryResidualNormSquared(const RabitqQuery *prepared)
{
	return prepared->residual_norm_sq;
}

float
RabitqQueryCentroidDot(const RabitqQuery *prepared)
{
	return prepared->centroid_dot;
}

const float *
RabitqQueryRotatedResidual(const RabitqQuery *prepared)
{
	return (const float *) (prepared->planes + (size_t) QUERY_BITS * prepared->words);
}

float
RabitqQueryRotatedResidualSum(const RabitqQuery *prepared)
{
	return prepared->residual_sum;
}

int
RabitqQueryPaddedDims(const RabitqQuery *prepared)
{
	return prepared->padded;
}

/* ---------------------------------------------------------------------------
 * Estimation
 * ------------------------------------------------------------------------- */

/*
 * The kernels only count: for each of n codes, pc = popcount(code) and
 * ip = sum_b 2^b popcount(code & plane_b).  The float arithmetic happens
 * after them, in FinishPlain or FinishAvx2, whose targets have no FMA:
 * inside an AVX-512 function the compiler may fuse a multiply and an add
 * into an FMA, which rounds differently, and the kernels must agree bit for
 * bit.
 */
#define COUNT_CHUNK 256

static inline uint64_t
LoadWord(const uint8_t *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/*
 * The word loop, instantiated per kernel so that __builtin_popcountll
 * becomes the POPCNT instruction inside a target("popcnt") function.
 */
#define COUNT_WORDS() \
	do { \
		int			words = q->words; \
		const uint64_t *p0 = q->planes; \
		const uint64_t *p1 = p0 + words; \
		const uint64_t *p2 = p1 + words; \
		const uint64_t *p3 = p2 + words; \
		for (size_t i = 0; i < n; i++) \
		{ \
			const uint8_t *code = codes + i * (size_t) words * 8; \
			int32_t		c = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0; \
			for (int w = 0; w < words; w++) \
			{ \
				uint64_t	x = LoadWord(code + (size_t) w * 8); \
				c += __builtin_popcountll(x); \
				c0 += __builtin_popcountll(x & p0[w]); \
				c1 += __builtin_popcountll(x & p1[w]); \
				c2 += __builtin_popcountll(x & p2[w]); \
				c3 += __builtin_popcountll(x & p3[w]); \
			} \
			pc[i] = c; \
			ip[i] = c0 + 2 * c1 + 4 * c2 + 8 * c3; \
		} \
	} while (0)

static void
CountGeneric(const RabitqQuery *q, const uint8_t *codes, size_t n, int32_t *pc, int32_t *ip)
{
	COUNT_WORDS();
}

#if defined(__x86_64__)

__attribute__((target("popcnt")))
static void
CountPopcnt(const RabitqQuery *q, const uint8_t *codes, size_t n, int32_t *pc, int32_t *ip)
{
	COUNT_WORDS();
}

/*
 * Codes of up to 16 words (1024 dimensions): the query's planes stay in
 * registers, two vectors each, and each code takes two masked loads (the
 * second of nothing at 8 words or fewer).  The plane counts are weighted in
 * the vector and the code's own count rides in the upper half of each
 * 64-bit lane (counts of at most 1024 dimensions times 15 fit in 32 bits),
 * so one reduction gives both.
 */
__attribute__((target("avx512f,avx512vpopcntdq")))
static void
CountAvx512Short(const RabitqQuery *q, const uint8_t *codes, size_t n, int32_t *pc,
				 int32_t *ip)
{
	int			words = q->words;
	__mmask8	m0 = words >= 8 ? 0xff : (__mmask8) ((1u << words) - 1);
	__mmask8	m1 = words <= 8 ? 0 : words >= 16 ? 0xff : (__mmask8) ((1u << (words - 8)) - 1);
	const uint64_t *p = q->planes;
	__m512i		a0 = _mm512_maskz_loadu_epi64(m0, p);
	__m512i		a1 = _mm512_maskz_loadu_epi64(m1, p + 8);
	__m512i		b0 = _mm512_maskz_loadu_epi64(m0, p + words);
	__m512i		b1 = _mm512_maskz_loadu_epi64(m1, p + words + 8);
	__m512i		c0 = _mm512_maskz_loadu_epi64(m0, p + 2 * words);
	__m512i		c1 = _mm512_maskz_loadu_epi64(m1, p + 2 * words + 8);
	__m512i		d0 = _mm512_maskz_loadu_epi64(m0, p + 3 * words);
	__m512i		d1 = _mm512_maskz_loadu_epi64(m1, p + 3 * words + 8);

	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *code = codes + i * (size_t) words * 8;
		__m512i		x0,
					x1,
					own,
					s0,
					s1,
					s2,
					s3,
					sum;
		uint64_t	both;

		/*
		 * The codes ~20 ahead: a scan's lists come cold from memory, and the
		 * hardware prefetcher stops at every page boundary (a prefetch past
		 * the end of the codes is harmless: it never faults).
		 */
		__builtin_prefetch(code + 2048);
		__builtin_prefetch(code + 2048 + 64);
		x0 = _mm512_maskz_loadu_epi64(m0, code);
		x1 = _mm512_maskz_loadu_epi64(m1, code + 64);
		own = _mm512_add_epi64(_mm512_popcnt_epi64(x0), _mm512_popcnt_epi64(x1));
		s0 = _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, a0)),
							  _mm512_popcnt_epi64(_mm512_and_si512(x1, a1)));
		s1 = _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, b0)),
							  _mm512_popcnt_epi64(_mm512_and_si512(x1, b1)));
		s2 = _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, c0)),
							  _mm512_popcnt_epi64(_mm512_and_si512(x1, c1)));
		s3 = _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, d0)),
							  _mm512_popcnt_epi64(_mm512_and_si512(x1, d1)));
		sum = _mm512_add_epi64(_mm512_add_epi64(s0, _mm512_slli_epi64(s1, 1)),
							   _mm512_add_epi64(_mm512_slli_epi64(s2, 2),
												_mm512_slli_epi64(s3, 3)));
		both = (uint64_t) _mm512_reduce_add_epi64(_mm512_add_epi64(sum,
																   _mm512_slli_epi64(own, 32)));

		pc[i] = (int32_t) (both >> 32);
		ip[i] = (int32_t) (both & 0xffffffffu);
	}
}

/*
 * Eight words a step, the last step masked (a masked load reads nothing past
 * the mask, so a code at the end of a buffer is safe).  The four plane counts
 * are combined with shifts in the vector and reduced once per code.
 */
__attribute__((target("avx512f,avx512vpopcntdq")))
static void
CountAvx512(const RabitqQuery *q, const uint8_t *codes, size_t n, int32_t *pc, int32_t *ip)
{
	int			words = q->words;
	const uint64_t *p0 = q->planes;
	const uint64_t *p1 = p0 + words;
	const uint64_t *p2 = p1 + words;
	const uint64_t *p3 = p2 + words;

	for (size_t i = 0; i < n; i++)
	{
		const uint8_t *code = codes + i * (size_t) words * 8;
		__m512i		c = _mm512_setzero_si512();
		__m512i		c0 = _mm512_setzero_si512();
		__m512i		c1 = _mm512_setzero_si512();
		__m512i		c2 = _mm512_setzero_si512();
		__m512i		c3 = _mm512_setzero_si512();
		__m512i		sum;

		for (int w = 0; w < words; w += 8)
		{
			__mmask8	m = words - w >= 8 ? 0xff : (__mmask8) ((1u << (words - w)) - 1);
			__m512i		x = _mm512_maskz_loadu_epi64(m, code + (size_t) w * 8);

			c = _mm512_add_epi64(c, _mm512_popcnt_epi64(x));
			c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(
							_mm512_and_si512(x, _mm512_maskz_loadu_epi64(m, p0 + w))));
			c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(
							_mm512_and_si512(x, _mm512_maskz_loadu_epi64(m, p1 + w))));
			c2 = _mm512_add_epi64(c2, _mm512_popcnt_epi64(
							_mm512_and_si512(x, _mm512_maskz_loadu_epi64(m, p2 + w))));
			c3 = _mm512_add_epi64(c3, _mm512_popcnt_epi64(
							_mm512_and_si512(x, _mm512_maskz_loadu_epi64(m, p3 + w))));
		}
		sum = _mm512_add_epi64(_mm512_add_epi64(c0, _mm512_slli_epi64(c1, 1)),
							   _mm512_add_epi64(_mm512_slli_epi64(c2, 2),
												_mm512_slli_epi64(c3, 3)));
		pc[i] = (int32_t) _mm512_reduce_add_epi64(c);
		ip[i] = (int32_t) _mm512_reduce_add_epi64(sum);
	}
}

#endif							/* __x86_64__ */

/*
 * What the finish makes of each estimate and its error: those two, or with
 * 'keys' (RabitqEstimateBounds) the bounds of the distance they give.
 */
typedef struct FinishKeys
{
	bool		keys;
	bool		inner_product;
	float		multiple;
	float		qc_norm2;		/* ||q - c||^2 */
	float		qc_dot;			/* <q, c> */
} FinishKeys;

/* The bounds of RabitqEstimateBounds, from one estimate and its error */
static inline void
KeysPlain(const FinishKeys *k, const RabitqFactors *f, float estimate, float error,
		  float *lower, float *upper)
{
	if (k->inner_product)
	{
		float		base = f->centroid_dot + k->qc_dot + estimate;

		*lower = -(base + k->multiple * error);
		*upper = -(base - k->multiple * error);
	}
	else
	{
		float		rn = f->residual_norm;
		float		base = rn * rn + k->qc_norm2 - 2 * estimate;

		*lower = base - 2 * k->multiple * error;
		*upper = base + 2 * k->multiple * error;
	}
}

/*
 * From the counts to the estimates and their bounds:
 * sqrt(D) <x_bar, q_hat> = low (2 pc - D) + delta (2 ip - sum u), both
 * brackets exact integers, so nothing large cancels in floats.  Into
 * out_a and out_b: estimates and errors, or with keys->keys lower and upper
 * bounds of the distance.
 */
static void
FinishPlain(const RabitqQuery *q, const RabitqFactors *factors, const int32_t *pc,
			const int32_t *ip, size_t n, const FinishKeys *keys, float *out_a, float *out_b)
{
	for (size_t i = 0; i < n; i++)
	{
		const RabitqFactors *f = &factors[i];
		float		x_dot_q = q->scale * (q->low * (float) (2 * pc[i] - q->padded) +
										  q->delta * (float) (2 * ip[i] - q->sum_u));
		float		cd = f->code_dot;
		float		rest = 1.0f - cd * cd;
		float		estimate;
		float		error;

		if (rest < 0.0f)
			rest = 0.0f;
		estimate = f->residual_norm * x_dot_q / cd;
		error = f->residual_norm * sqrtf(q->error_rotation * rest + q->error_rounding) / cd;
		if (keys->keys)
			KeysPlain(keys, f, estimate, error, &out_a[i], &out_b[i]);
		else
		{
			out_a[i] = estimate;
			out_b[i] = error;
		}
	}
}

#if defined(__x86_64__)

/*
 * FinishPlain eight codes a step, the factors gathered from their array of
 * structs.  Division and square root round exactly as the scalar ones, and
 * without an FMA target nothing is fused: the same floats come out.
 */
__attribute__((target("avx2")))
static void
FinishAvx2(const RabitqQuery *q, const RabitqFactors *factors, const int32_t *pc,
		   const int32_t *ip, size_t n, const FinishKeys *keys, float *out_a, float *out_b)
{
	const __m256 scale = _mm256_set1_ps(q->scale);
	const __m256 low = _mm256_set1_ps(q->low);
	const __m256 delta = _mm256_set1_ps(q->delta);
	const __m256 error_rotation = _mm256_set1_ps(q->error_rotation);
	const __m256 error_rounding = _mm256_set1_ps(q->error_rounding);
	const __m256 one = _mm256_set1_ps(1.0f);
	const __m256i padded = _mm256_set1_epi32(q->padded);
	const __m256i sum_u = _mm256_set1_epi32(q->sum_u);
	const int	stride = (int) (sizeof(RabitqFactors) / sizeof(float));
	const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
											 _mm256_set1_epi32(stride));
	/* as KeysPlain's products: 2 * multiple is exact, so (2 m) e rounds as 2 * m * e */
	const __m256 multiple = _mm256_set1_ps(keys->inner_product ? keys->multiple : 2 * keys->multiple);
	const __m256 two = _mm256_set1_ps(2.0f);
	const __m256 qc = _mm256_set1_ps(keys->inner_product ? keys->qc_dot : keys->qc_norm2);
	const __m256 sign = _mm256_set1_ps(-0.0f);
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		const float *base = (const float *) &factors[i];
		__m256		norm = _mm256_i32gather_ps(base + offsetof(RabitqFactors, residual_norm) /
											   sizeof(float), index, 4);
		__m256		cd = _mm256_i32gather_ps(base + offsetof(RabitqFactors, code_dot) /
											 sizeof(float), index, 4);
		__m256i		p = _mm256_loadu_si256((const __m256i *) (pc + i));
		__m256i		u = _mm256_loadu_si256((const __m256i *) (ip + i));
		__m256		low_part = _mm256_mul_ps(low, _mm256_cvtepi32_ps(
												 _mm256_sub_epi32(_mm256_add_epi32(p, p), padded)));
		__m256		delta_part = _mm256_mul_ps(delta, _mm256_cvtepi32_ps(
												   _mm256_sub_epi32(_mm256_add_epi32(u, u), sum_u)));
		__m256		x_dot_q = _mm256_mul_ps(scale, _mm256_add_ps(low_part, delta_part));
		__m256		rest = _mm256_max_ps(_mm256_sub_ps(one, _mm256_mul_ps(cd, cd)),
										 _mm256_setzero_ps());
		__m256		bound = _mm256_sqrt_ps(_mm256_add_ps(_mm256_mul_ps(error_rotation, rest),
														 error_rounding));
		__m256		estimate = _mm256_div_ps(_mm256_mul_ps(norm, x_dot_q), cd);
		__m256		error = _mm256_div_ps(_mm256_mul_ps(norm, bound), cd);

		if (keys->keys)
		{
			__m256		spread = _mm256_mul_ps(multiple, error);
			__m256		center;

			if (keys->inner_product)
			{
				center = _mm256_add_ps(_mm256_add_ps(
							_mm256_i32gather_ps(base + offsetof(RabitqFactors, centroid_dot) /
												sizeof(float), index, 4), qc), estimate);
				_mm256_storeu_ps(out_a + i, _mm256_xor_ps(_mm256_add_ps(center, spread), sign));
				_mm256_storeu_ps(out_b + i, _mm256_xor_ps(_mm256_sub_ps(center, spread), sign));
			}
			else
			{
				center = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(norm, norm), qc),
									   _mm256_mul_ps(two, estimate));
				_mm256_storeu_ps(out_a + i, _mm256_sub_ps(center, spread));
				_mm256_storeu_ps(out_b + i, _mm256_add_ps(center, spread));
			}
		}
		else
		{
			_mm256_storeu_ps(out_a + i, estimate);
			_mm256_storeu_ps(out_b + i, error);
		}
	}
	FinishPlain(q, factors + i, pc + i, ip + i, n - i, keys, out_a + i, out_b + i);
}

#endif							/* __x86_64__ */

/* RabitqEstimate and RabitqEstimateBounds: the counts, then the finish */
static void
Estimate(const RabitqQuery *prepared, const uint8_t *codes, const RabitqFactors *factors,
		 size_t n, const FinishKeys *keys, float *out_a, float *out_b)
{
	const RabitqQuery *q = prepared;
	size_t		code_bytes = (size_t) q->words * 8;
	int32_t		pc[COUNT_CHUNK];
	int32_t		ip[COUNT_CHUNK];

	for (size_t begin = 0; begin < n; begin += COUNT_CHUNK)
	{
		size_t		count = n - begin < COUNT_CHUNK ? n - begin : COUNT_CHUNK;
		const uint8_t *chunk = codes + begin * code_bytes;

		/*
		 * The chunk's factors, while its codes are counted: a scan's lists
		 * come cold from memory, and the finish would otherwise wait on
		 * every line of them in turn.
		 */
		for (size_t f = 0; f < count * sizeof(RabitqFactors); f += 64)
			__builtin_prefetch((const char *) (factors + begin) + f);
		switch ((RabitqKernel) q->kernel)
		{
#if defined(__x86_64__)
			case RABITQ_KERNEL_AVX512:
				/* every CPU with AVX-512 has AVX2 */
				if (q->words <= 16)
					CountAvx512Short(q, chunk, count, pc, ip);
				else
					CountAvx512(q, chunk, count, pc, ip);
				FinishAvx2(q, factors + begin, pc, ip, count, keys, out_a + begin, out_b + begin);
				break;
			case RABITQ_KERNEL_POPCNT:
				CountPopcnt(q, chunk, count, pc, ip);
				FinishPlain(q, factors + begin, pc, ip, count, keys, out_a + begin, out_b + begin);
				break;
#endif
			default:
				CountGeneric(q, chunk, count, pc, ip);
				FinishPlain(q, factors + begin, pc, ip, count, keys, out_a + begin, out_b + begin);
				break;
		}
	}
}

void
RabitqEstimate(const RabitqQuery *prepared, const uint8_t *codes,
			   const RabitqFactors *factors, size_t n,
			   float *estimate, float *error)
{
	FinishKeys	keys = {0};

	Estimate(prepared, codes, factors, n, &keys, estimate, error);
}

void
RabitqEstimateBounds(const RabitqQuery *prepared, const uint8_t *codes,
					 const RabitqFactors *factors, size_t n, float multiple,
					 bool inner_product, float *lower, float *upper)
{
	FinishKeys	keys;

	keys.keys = true;
	keys.inner_product = inner_product;
	keys.multiple = multiple;
	keys.qc_norm2 = prepared->residual_norm_sq;
	keys.qc_dot = prepared->centroid_dot;
	Estimate(prepared, codes, factors, n, &keys, lower, upper);
}

/* ---------------------------------------------------------------------------
 * Kernel choice
 * ------------------------------------------------------------------------- */

bool
IvfCpuHasAvx512(unsigned int leaf7_ebx, unsigned int leaf7_ecx)
{
#if defined(__x86_64__)
	unsigned int eax,
				ebx,
				ecx,
				edx;
	unsigned int xcr0_lo,
				xcr0_hi;

	if (__get_cpuid_max(0, NULL) < 7 ||
		!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & bit_OSXSAVE) == 0)
		return false;
	/* The OS must save the XMM, YMM, opmask and both ZMM states (XCR0) */
	__asm__ volatile ("xgetbv" : "=a" (xcr0_lo), "=d" (xcr0_hi) : "c" (0));
	(void) xcr0_hi;
	if ((xcr0_lo & 0xe6) != 0xe6)
		return false;
	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	return (ebx & leaf7_ebx) == leaf7_ebx && (ecx & leaf7_ecx) == leaf7_ecx;
#else
	(void) leaf7_ebx, (void) leaf7_ecx;
	return false;
#endif
}

bool
RabitqKernelAvailable(RabitqKernel kernel)
{
#if defined(__x86_64__)
	unsigned int eax,
				ebx,
				ecx,
				edx;
#endif

	switch (kernel)
	{
		case RABITQ_KERNEL_GENERIC:
			return true;
#if defined(__x86_64__)
		case RABITQ_KERNEL_POPCNT:
			return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_POPCNT) != 0;
		case RABITQ_KERNEL_AVX512:
			return IvfCpuHasAvx512(bit_AVX512F, bit_AVX512VPOPCNTDQ);
#endif
		default:
			return false;
	}
}

RabitqKernel
RabitqKernelBest(void)
{
	/* cpuid is slow-ish (it can trap under a hypervisor): ask once */
	static int	best = -1;
	int			b = __atomic_load_n(&best, __ATOMIC_RELAXED);

	if (b < 0)
	{
		b = RABITQ_KERNEL_GENERIC;
		for (int k = RABITQ_KERNEL_COUNT - 1; k > RABITQ_KERNEL_GENERIC; k--)
		{
			if (RabitqKernelAvailable((RabitqKernel) k))
			{
				b = k;
				break;
			}
		}
		__atomic_store_n(&best, b, __ATOMIC_RELAXED);
	}
	return (RabitqKernel) b;
}

const char *
RabitqKernelName(RabitqKernel kernel)
{
	switch (kernel)
	{
		case RABITQ_KERNEL_GENERIC:
			return "generic";
		case RABITQ_KERNEL_POPCNT:
			return "popcnt";
		case RABITQ_KERNEL_AVX512:
			return "avx512";
		default:
			return "unknown";
	}
}

bool
RabitqRotationSetAvx2(RabitqRotation *rotation, bool use)
{
	bool		previous = rotation->avx2;

	rotation->avx2 = use && VectorCpuHasAvx2Fma();
	return previous;
}

void
RabitqQuerySetKernel(RabitqQuery *prepared, RabitqKernel kernel)
{
	prepared->kernel = kernel;
}
