/*
 * coarse.c
 *	  Lower bounds of a query's keys for every list, from int8 copies of the
 *	  centroids: a scan orders its lists by them and computes a list's exact
 *	  key only when the list comes to the front (ivf_scan.c), so it picks
 *	  exactly the lists that exact keys for all of them would pick.
 *
 * Centroids and query are taken relative to the mean centroid m (which
 * leaves L2 distances as they are and shrinks the numbers to quantize) and
 * each rounded to int8 with its own scale: c' = c - m = cs c8 + b and
 * q' = q - m = qs q8 + a, every |b_i| <= cs / 2, |a_i| <= qs / 2.  Then
 *
 *	<q', c'> = qs cs <q8, c8> + qs <q8, b> + cs <c8, a> + <a, b>
 *
 * and the last three terms together are at most
 *	E = qs cs (sum |q8_i| / 2 + sum |c8_i| / 2 + D / 4)
 * in magnitude, so with the integer sum S = <q8, c8>, exact on every CPU:
 *
 *	L2:	|q - c|^2 = |q'|^2 + |c'|^2 - 2 <q', c'>  >=  |q'|^2 + |c'|^2 - 2 qs cs S - 2 E
 *	IP:	-<q, c> = -(<q', c'> + <q', m> + <m, c>)  >=  -(qs cs S + E + <q', m> + <m, c>)
 *
 * less a slack for the float rounding of everything around the integers and
 * of the float kernel whose exact key the bound must not pass (its error is
 * about 2e-6 of |q|^2 + |c|^2 at 784 dimensions; the slack is 1e-4 of it,
 * plus FLT_MIN a dimension for products that underflow in float).
 *
 * Why: distances to all centroids in float were about a tenth of a scan
 * (245 x 784 on Fashion-MNIST, 9-11 us); the int8 sums take 2.6 us with
 * AVX-512 VNNI (64 products per instruction).  Without VNNI the portable
 * sums are slower than the float kernel, so IvfCoarseFast() says whether to
 * use this at all.
 *
 * No PostgreSQL header is included (see ivf_math.h).
 */
#include "ivf/ivf_math.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ivf/ivf_math_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/* int8 values are padded to a multiple of this (one 512-bit register) */
#define LANE_BYTES 64
/* |rounding error| of a value quantized with scale s, over s: 1/2, and a hair */
#define HALF_STEP 0.5001
#define SLACK 1e-4

struct IvfCoarse
{
	int			k;
	int			dims;
	int			padded;			/* dims rounded up to LANE_BYTES */
	float	   *mean;			/* dims */
	double		mean_norm2;		/* |m|^2 */
	int8_t	   *codes;			/* k * padded: c8 */
	float	   *scale;			/* k: cs */
	int32_t    *code_sum;		/* k: sum c8_i (VNNI multiplies unsigned q8 + 128) */
	int32_t    *code_abs;		/* k: sum |c8_i| */
	double	   *norm2;			/* k: |c'|^2 */
	double	   *raw_norm2;		/* k: |c|^2, for the slack */
	double	   *mean_dot;		/* k: <m, c> */
};

/*
 * v (n floats) rounded to int8 with one scale s, every value within s / 2 of
 * s times its code; returns s.
 */
static float
Quantize(const float *v, int n, int8_t *out)
{
	float		top = 0;
	float		scale;

	float		inverse;

	/* compares and a rounding add, not fmaxf and lrintf calls: these vectorize */
	for (int i = 0; i < n; i++)
	{
		float		a = fabsf(v[i]);

		top = a > top ? a : top;
	}
	scale = top / 127;
	if (!(scale >= FLT_MIN))
	{
		/* zero, or too small to divide by: all codes 0, each value within top */
		memset(out, 0, n);
		return 2 * top;
	}
	/* v * (1 / scale) is within an ulp of v / scale: still within HALF_STEP */
	inverse = 1 / scale;
	for (int i = 0; i < n; i++)
	{
		float		x = v[i] * inverse;
		int			r = (int) (x + copysignf(0.5f, x));

		out[i] = (int8_t) (r > 127 ? 127 : r < -127 ? -127 : r);
	}
	return scale;
}

IvfCoarse *
IvfCoarseCreate(const float *centroids, int k, int dims)
{
	IvfCoarse  *c = calloc(1, sizeof(IvfCoarse));
	float	   *shifted = malloc(sizeof(float) * (size_t) (dims > 0 ? dims : 1));

	if (c == NULL || shifted == NULL || k < 1 || dims < 1)
	{
		free(shifted);
		IvfCoarseFree(c);
		return NULL;
	}
	c->k = k;
	c->dims = dims;
	c->padded = (dims + LANE_BYTES - 1) / LANE_BYTES * LANE_BYTES;
	c->mean = calloc((size_t) dims, sizeof(float));
	c->codes = calloc((size_t) k * c->padded, 1);
	c->scale = calloc((size_t) k, sizeof(float));
	c->code_sum = calloc((size_t) k, sizeof(int32_t));
	c->code_abs = calloc((size_t) k, sizeof(int32_t));
	c->norm2 = calloc((size_t) k, sizeof(double));
	c->raw_norm2 = calloc((size_t) k, sizeof(double));
	c->mean_dot = calloc((size_t) k, sizeof(double));
	if (c->mean == NULL || c->codes == NULL || c->scale == NULL || c->code_sum == NULL ||
		c->code_abs == NULL || c->norm2 == NULL || c->raw_norm2 == NULL || c->mean_dot == NULL)
	{
		free(shifted);
		IvfCoarseFree(c);
		return NULL;
	}
	for (int i = 0; i < dims; i++)
	{
		double		sum = 0;

		for (int j = 0; j < k; j++)
			sum += centroids[(size_t) j * dims + i];
		c->mean[i] = (float) (sum / k);
		c->mean_norm2 += (double) c->mean[i] * c->mean[i];
	}
	for (int j = 0; j < k; j++)
	{
		const float *cj = centroids + (size_t) j * dims;
		int8_t	   *code = c->codes + (size_t) j * c->padded;

		for (int i = 0; i < dims; i++)
		{
			shifted[i] = cj[i] - c->mean[i];
			c->norm2[j] += (double) shifted[i] * shifted[i];
			c->raw_norm2[j] += (double) cj[i] * cj[i];
			c->mean_dot[j] += (double) c->mean[i] * cj[i];
		}
		c->scale[j] = Quantize(shifted, dims, code);
		for (int i = 0; i < dims; i++)
		{
			c->code_sum[j] += code[i];
			c->code_abs[j] += abs(code[i]);
		}
	}
	free(shifted);
	return c;
}

void
IvfCoarseFree(IvfCoarse *c)
{
	if (c == NULL)
		return;
	free(c->mean);
	free(c->codes);
	free(c->scale);
	free(c->code_sum);
	free(c->code_abs);
	free(c->norm2);
	free(c->raw_norm2);
	free(c->mean_dot);
	free(c);
}

/* S_j = <q8, c8_j> for every centroid, q8 given as q8 + 128 (unsigned) */
static void
SumsPlain(const IvfCoarse *c, const uint8_t *q, int32_t *sums)
{
	for (int j = 0; j < c->k; j++)
	{
		const int8_t *code = c->codes + (size_t) j * c->padded;
		int32_t		s = 0;

		for (int i = 0; i < c->padded; i++)
			s += (int32_t) q[i] * code[i];
		sums[j] = s - 128 * c->code_sum[j];
	}
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void
SumsVnni(const IvfCoarse *c, const uint8_t *q, int32_t *sums)
{
	for (int j = 0; j < c->k; j++)
	{
		const int8_t *code = c->codes + (size_t) j * c->padded;
		__m512i		a = _mm512_setzero_si512();
		__m512i		b = _mm512_setzero_si512();
		int			i = 0;

		/* two chains: a vpdpbusd waits on the one before it otherwise */
		for (; i + 2 * LANE_BYTES <= c->padded; i += 2 * LANE_BYTES)
		{
			a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(q + i), _mm512_loadu_si512(code + i));
			b = _mm512_dpbusd_epi32(b, _mm512_loadu_si512(q + i + LANE_BYTES),
									_mm512_loadu_si512(code + i + LANE_BYTES));
		}
		if (i < c->padded)
			a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(q + i), _mm512_loadu_si512(code + i));
		sums[j] = _mm512_reduce_add_epi32(_mm512_add_epi32(a, b)) - 128 * c->code_sum[j];
	}
}
#endif

bool
IvfCoarseFast(void)
{
#if defined(__x86_64__)
	/* cpuid is slow-ish (it can trap under a hypervisor): ask once */
	static int	fast = -1;
	int			f = __atomic_load_n(&fast, __ATOMIC_RELAXED);

	if (f < 0)
	{
		f = IvfCpuHasAvx512(bit_AVX512F | bit_AVX512BW, bit_AVX512VNNI);
		__atomic_store_n(&fast, f, __ATOMIC_RELAXED);
	}
	return f == 1;
#else
	return false;
#endif
}

size_t
IvfCoarseScratchSize(const IvfCoarse *c)
{
	return (size_t) c->padded + sizeof(float) * c->dims + sizeof(int32_t) * c->k;
}

void
IvfCoarseBounds(const IvfCoarse *c, const float *query, bool inner_product, bool fast,
				void *scratch, float *bounds)
{
	uint8_t    *q8 = scratch;
	float	   *shifted = (float *) (q8 + c->padded);
	int32_t    *sums = (int32_t *) (shifted + c->dims);
	int8_t	   *signed_q8 = (int8_t *) q8;
	double		chains[3][4] = {{0}};	/* four each of |q'|^2, |q|^2, <q', m> */
	double		q_norm2;
	double		raw_norm2;
	double		q_mean;
	int64_t		q_abs = 0;
	float		qs;
	int			i;

	for (i = 0; i < c->dims; i++)
	{
		shifted[i] = query[i] - c->mean[i];
		chains[0][i % 4] += (double) shifted[i] * shifted[i];
		chains[1][i % 4] += (double) query[i] * query[i];
		chains[2][i % 4] += (double) shifted[i] * c->mean[i];
	}
	q_norm2 = (chains[0][0] + chains[0][1]) + (chains[0][2] + chains[0][3]);
	raw_norm2 = (chains[1][0] + chains[1][1]) + (chains[1][2] + chains[1][3]);
	q_mean = (chains[2][0] + chains[2][1]) + (chains[2][2] + chains[2][3]);
	qs = Quantize(shifted, c->dims, signed_q8);
	memset(q8 + c->dims, 0, c->padded - c->dims);
	for (i = 0; i < c->padded; i++)
	{
		q_abs += abs(signed_q8[i]);
		q8[i] = (uint8_t) (signed_q8[i] + 128);
	}
#if defined(__x86_64__)
	if (fast)
		SumsVnni(c, q8, sums);
	else
#endif
		SumsPlain(c, q8, sums);
	(void) fast;
	for (int j = 0; j < c->k; j++)
	{
		double		step = (double) qs * c->scale[j];
		double		dot = step * sums[j];
		double		error = step * (HALF_STEP * ((double) q_abs + c->code_abs[j]) +
									HALF_STEP * HALF_STEP * c->dims);
		double		slack = SLACK * (raw_norm2 + c->raw_norm2[j] + c->mean_norm2) +
			(double) FLT_MIN * c->dims;
		double		bound;

		if (inner_product)
			bound = -(dot + error + q_mean + c->mean_dot[j]) - slack;
		else
			bound = q_norm2 + c->norm2[j] - 2 * (dot + error) - slack;
		bounds[j] = (float) bound;
	}
}
