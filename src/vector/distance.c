/*
 * distance.c
 *	  Scalar reference kernels, cosine distance from its parts, and the CPU
 *	  check that picks a kernel set.
 *
 * The scalar kernels define the semantics every faster set must reproduce
 * within float rounding: one pass, left to right, each sum accumulated in a
 * float, as pgvector does.  They are plain loops on purpose; without
 * -ffast-math the compiler may not reorder a float sum, so they stay strictly
 * sequential and serve as the reference in test/unit/test_distance.c.
 *
 * No PostgreSQL header is included (see distance.h).
 */
#include "vector/distance.h"

#include <math.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static float
l2_squared_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		float		d = a[i] - b[i];

		sum += d * d;
	}
	return sum;
}

static float
inner_product_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += a[i] * b[i];
	return sum;
}

static float
l1_scalar(const float *a, const float *b, int dim)
{
	float		sum = 0.0f;

	for (int i = 0; i < dim; i++)
		sum += fabsf(a[i] - b[i]);
	return sum;
}

static void
cosine_parts_scalar(const float *a, const float *b, int dim,
					float *dot, float *norm_a, float *norm_b)
{
	float		d = 0.0f;
	float		na = 0.0f;
	float		nb = 0.0f;

	for (int i = 0; i < dim; i++)
	{
		d += a[i] * b[i];
		na += a[i] * a[i];
		nb += b[i] * b[i];
	}
	*dot = d;
	*norm_a = na;
	*norm_b = nb;
}

/*
 * The batch forms call the single forms, which is what makes them give
 * bit-identical results.
 */
static void
l2_squared_batch_scalar(const float *q, const float *block, int dim,
						size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = l2_squared_scalar(q, block + i * (size_t) dim, dim);
}

static void
inner_product_batch_scalar(const float *q, const float *block, int dim,
						   size_t n, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = inner_product_scalar(q, block + i * (size_t) dim, dim);
}

/*
 * The matrix form, pair by pair.  The single form is one dependent chain of
 * additions; a faster scalar form would interleave several pairs, but
 * nothing depends on the scalar set's speed.
 */
static void
l2_squared_matrix_scalar(const float *x, size_t nx, const float *y, size_t ny,
						 int dim, float *out, size_t out_stride)
{
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			out[i * out_stride + j] = l2_squared_scalar(x + i * (size_t) dim,
														y + j * (size_t) dim, dim);
}

/* The gather forms, vector by vector */
static void
l2_squared_gather_scalar(const float *q, const float *const vectors[], size_t n, int dim,
						 float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = l2_squared_scalar(q, vectors[i], dim);
}

static void
inner_product_gather_scalar(const float *q, const float *const vectors[], size_t n, int dim,
							float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = inner_product_scalar(q, vectors[i], dim);
}

const VectorKernels VectorKernelsScalar = {
	.name = "scalar",
	.l2_squared = l2_squared_scalar,
	.inner_product = inner_product_scalar,
	.l1 = l1_scalar,
	.cosine_parts = cosine_parts_scalar,
	.l2_squared_batch = l2_squared_batch_scalar,
	.inner_product_batch = inner_product_batch_scalar,
	.l2_squared_matrix = l2_squared_matrix_scalar,
	.l2_squared_gather = l2_squared_gather_scalar,
	.inner_product_gather = inner_product_gather_scalar,
};

#if !defined(__x86_64__)

/*
 * distance_avx2.c compiles to nothing off x86-64.  The symbol still exists so
 * callers link unchanged; VectorCpuHasAvx2Fma() is false, so nothing picks it
 * unless told to, and then it computes the reference results.
 */
const VectorKernels VectorKernelsAvx2 = {
	.name = "scalar",
	.l2_squared = l2_squared_scalar,
	.inner_product = inner_product_scalar,
	.l1 = l1_scalar,
	.cosine_parts = cosine_parts_scalar,
	.l2_squared_batch = l2_squared_batch_scalar,
	.inner_product_batch = inner_product_batch_scalar,
	.l2_squared_matrix = l2_squared_matrix_scalar,
	.l2_squared_gather = l2_squared_gather_scalar,
	.inner_product_gather = inner_product_gather_scalar,
};

bool
VectorCpuHasAvx2Fma(void)
{
	return false;
}

#else

/*
 * The CPU must report AVX, AVX2 and FMA, and the OS must have enabled saving
 * of the XMM and YMM registers (OSXSAVE set, XCR0 bits 1 and 2); a CPU with
 * AVX2 under an OS that does not save YMM state would fault or corrupt
 * registers on a context switch.
 */
bool
VectorCpuHasAvx2Fma(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;
	unsigned int xcr0_lo,
				xcr0_hi;
	const unsigned int leaf1_needed = bit_FMA | bit_OSXSAVE | bit_AVX;

	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) ||
		(ecx & leaf1_needed) != leaf1_needed)
		return false;

	/* xgetbv with ecx = 0 reads XCR0; legal only once OSXSAVE is known set */
	__asm__ volatile ("xgetbv" : "=a" (xcr0_lo), "=d" (xcr0_hi) : "c" (0));
	(void) xcr0_hi;
	if ((xcr0_lo & 0x6) != 0x6)
		return false;

	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	return (ebx & bit_AVX2) != 0;
}

#endif							/* __x86_64__ */

/*
 * CPUID is slow in a virtual machine (it traps to the hypervisor, ~10 us),
 * so the answer is kept.  Threads racing on the first call store the same
 * pointer.
 */
const VectorKernels *
VectorKernelsBest(void)
{
	static const VectorKernels *best = NULL;
	const VectorKernels *known = __atomic_load_n(&best, __ATOMIC_ACQUIRE);

	if (known == NULL)
	{
		known = VectorCpuHasAvx2Fma() ? &VectorKernelsAvx2 : &VectorKernelsScalar;
		__atomic_store_n(&best, known, __ATOMIC_RELEASE);
	}
	return known;
}

/*
 * sqrt(a * b) rather than sqrt(a) * sqrt(b), in double, as pgvector does, so
 * results agree with it.  A zero norm gives 0 / 0 = NaN.  Rounding can push
 * |similarity| a little past 1 for (anti)parallel vectors, hence the clamp.
 */
double
VectorCosineDistanceFromParts(float dot, float norm_a, float norm_b)
{
	double		similarity;

	similarity = (double) dot / sqrt((double) norm_a * (double) norm_b);
	if (isnan(similarity))
		return NAN;
	if (similarity > 1.0)
		similarity = 1.0;
	else if (similarity < -1.0)
		similarity = -1.0;
	return 1.0 - similarity;
}
