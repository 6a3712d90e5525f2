/*
 * distance.h
 *	  Distance kernels over float32 vectors, with run-time CPU dispatch.
 *
 * This header and distance*.c include no PostgreSQL header: the kernels are
 * shared by the vector type, the index AM and the table AM, and are unit
 * tested and benchmarked as plain C (test/unit, bench/).
 *
 * Every kernel accumulates in single precision, as pgvector does, so the
 * SQL-visible results match pgvector's to within float rounding.  The unit
 * tests bound the error of each kernel against a double-precision reference.
 *
 * Two kernel sets exist: a portable scalar reference and an AVX2+FMA set.  The
 * build never uses -march=native; the AVX2 code is compiled per function with
 * a target attribute and only selected when the CPU reports AVX2, FMA and OS
 * support for the YMM state.
 */
#ifndef LANCEDB_VECTOR_DISTANCE_H
#define LANCEDB_VECTOR_DISTANCE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * One set of kernels.  All pointers are non-NULL.  Vectors are arrays of
 * 'dim' floats (dim >= 1); no alignment is required.
 *
 * Batch forms compare one query 'q' with 'n' vectors stored back to back in
 * 'block' (vector i starts at block + i * dim) and write n results to 'out'
 * (n may be 0).
 * They give the same result as calling the single form n times, bit for bit.
 * So do the matrix form (l2_squared_matrix) over every pair of two sets and
 * the gather forms over vectors anywhere.
 *
 * Different kernel sets may round differently; each stays within the error
 * bound stated in test/unit/test_distance.c of the exact result.
 */
typedef struct VectorKernels
{
	const char *name;			/* "scalar" or "avx2" */

	/* sum of (a[i] - b[i])^2 */
	float		(*l2_squared) (const float *a, const float *b, int dim);
	/* sum of a[i] * b[i] */
	float		(*inner_product) (const float *a, const float *b, int dim);
	/* sum of |a[i] - b[i]| */
	float		(*l1) (const float *a, const float *b, int dim);
	/* sum of a*b, a*a and b*b in one pass (cosine distance is built on it) */
	void		(*cosine_parts) (const float *a, const float *b, int dim,
								 float *dot, float *norm_a, float *norm_b);

	void		(*l2_squared_batch) (const float *q, const float *block,
									 int dim, size_t n, float *out);
	void		(*inner_product_batch) (const float *q, const float *block,
										int dim, size_t n, float *out);

	/*
	 * Every pair of the nx vectors of 'x' and the ny vectors of 'y' (each
	 * set back to back): out[i * out_stride + j] = l2_squared(x_i, y_j),
	 * the same as the single form bit for bit, for i < nx and j < ny
	 * (out_stride >= ny; nothing else of out is written).  For k-means:
	 * each load of a vector serves several pairs, so it is bound by
	 * arithmetic where the batch form is bound by streaming y.  Keep y to
	 * what fits in L2 (a few hundred KB) and call it per block of y.
	 */
	void		(*l2_squared_matrix) (const float *x, size_t nx, const float *y,
									  size_t ny, int dim, float *out,
									  size_t out_stride);

	/*
	 * Gather forms: one query 'q' against n vectors anywhere in memory
	 * (vectors[i]), out[i] the single form's result bit for bit.  For
	 * vectors that are cache misses, as re-ranking reads them: several are
	 * fetched at once instead of one after another.
	 */
	void		(*l2_squared_gather) (const float *q, const float *const vectors[],
									  size_t n, int dim, float *out);
	void		(*inner_product_gather) (const float *q, const float *const vectors[],
										 size_t n, int dim, float *out);
} VectorKernels;

/* The portable reference, always available. */
extern const VectorKernels VectorKernelsScalar;

/* AVX2+FMA kernels; only call them when VectorCpuHasAvx2Fma() is true. */
extern const VectorKernels VectorKernelsAvx2;

/* True when the CPU and the OS support AVX2 and FMA. */
extern bool VectorCpuHasAvx2Fma(void);

/* The best kernel set this CPU supports. */
extern const VectorKernels *VectorKernelsBest(void);

/*
 * Cosine distance (1 - cosine similarity, clamped to [0, 2]) from the parts
 * cosine_parts returns, computed as pgvector does: NaN when either vector has
 * zero norm.
 */
extern double VectorCosineDistanceFromParts(float dot, float norm_a, float norm_b);

#endif							/* LANCEDB_VECTOR_DISTANCE_H */
