/*
 * ivf_math_internal.h
 *	  What kmeans.c, rabitq.c and assign.c share, and the hooks their unit tests and
 *	  benchmark use.  Consumers of the index math include ivf_math.h only.
 *
 * Like ivf_math.h this header includes no PostgreSQL header.
 */
#ifndef LANCEDB_IVF_IVF_MATH_INTERNAL_H
#define LANCEDB_IVF_IVF_MATH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ivf/ivf_math.h"

/*
 * splitmix64 (Steele, Lea and Flood, OOPSLA 2014): one 64-bit word of state,
 * good enough statistics for sampling and sign flips, and integer-only, so a
 * seed means the same sequence on every machine and compiler.
 */
static inline uint64_t
IvfRandomNext(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 random bits */
static inline double
IvfRandomUniform(uint64_t *state)
{
	return (double) (IvfRandomNext(state) >> 11) * 0x1p-53;
}

/* Uniform in [0, bound), bound >= 1 (the modulo bias is below 2^-40 here) */
static inline uint64_t
IvfRandomBelow(uint64_t *state, uint64_t bound)
{
	return IvfRandomNext(state) % bound;
}

/*
 * Runs func over [0, n) split into 'workers' (at most 64) contiguous ranges,
 * range 0 on the calling thread.  A range whose thread cannot be started
 * runs on the calling thread too, so the result never depends on whether
 * threads could be created.  The threads start with every signal blocked and
 * are joined before it returns.  (kmeans.c)
 */
typedef void (*IvfRangeFunc) (void *context, size_t begin, size_t end, int worker);
extern void IvfRunRanges(IvfRangeFunc func, void *context, size_t n, int workers);

/*
 * The kernels behind RabitqEstimate.  They compute the same two integers per
 * code (see rabitq.c), so they give bit-identical estimates; the choice only
 * changes speed.  RabitqQueryPrepare stores RabitqKernelBest() in the query;
 * tests and the benchmark switch it to compare kernels.
 */
/*
 * Whether the CPU has the AVX-512 features of cpuid leaf 7 given (all of
 * leaf7_ebx and leaf7_ecx, bit_* of <cpuid.h>) and the OS saves the ZMM
 * state; false off x86-64.  (rabitq.c)
 */
extern bool IvfCpuHasAvx512(unsigned int leaf7_ebx, unsigned int leaf7_ecx);

typedef enum RabitqKernel
{
	RABITQ_KERNEL_GENERIC,		/* portable C, __builtin_popcountll */
	RABITQ_KERNEL_POPCNT,		/* x86-64 POPCNT instruction */
	RABITQ_KERNEL_AVX512,		/* AVX-512F + VPOPCNTDQ, 8 words a step */
	RABITQ_KERNEL_COUNT
} RabitqKernel;

extern bool RabitqKernelAvailable(RabitqKernel kernel);
extern RabitqKernel RabitqKernelBest(void);
extern const char *RabitqKernelName(RabitqKernel kernel);
/* The kernel must be available */
extern void RabitqQuerySetKernel(RabitqQuery *prepared, RabitqKernel kernel);

/*
 * Whether the rotation may use its AVX2 code (the default when the CPU has
 * it) to rotate and to prepare queries; false forces the portable code,
 * which must give bit-identical rotations and prepared queries.
 * Returns the previous setting; true is ignored without AVX2.
 */
extern bool RabitqRotationSetAvx2(RabitqRotation *rotation, bool use);

/*
 * 8 floats (or 32-bit integers) as one GCC/Clang vector, for the kernels that
 * rabitq.c and rabitq_ex.c compile twice, plain and with target("avx2").
 * Loads and stores are unaligned, and macros rather than functions: a
 * function taking or returning a 32-byte vector would change the ABI
 * without AVX (-Wpsabi).
 */
typedef float Float8 __attribute__((vector_size(32)));
typedef int32_t Int8x32 __attribute__((vector_size(32)));

#define LOAD8(v, p) memcpy(&(v), (p), sizeof(Float8))
#define STORE8(p, v) memcpy((p), &(v), sizeof(Float8))

/*
 * The B-bit quantizer (rabitq_ex.c): the levels and factors of y, the
 * rotated residual (padded floats), for bits > 1.
 */
extern void RabitqExQuantize(const float *y, int padded, int bits, uint8_t *ex_code,
							 RabitqExFactors *factors);

/* RabitqPaddedDims of the rotation a query was prepared with */
extern int	RabitqQueryPaddedDims(const RabitqQuery *prepared);

/*
 * Whether RabitqExEstimate may use its AVX2 code (the default when the CPU
 * has it); false forces the portable code, which must give bit-identical
 * estimates.  Returns the previous setting.  Not thread-safe: for tests.
 */
extern bool RabitqExSetAvx2(bool use);

#endif							/* LANCEDB_IVF_IVF_MATH_INTERNAL_H */
