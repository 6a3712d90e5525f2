/*
 * ivf_math.h
 *	  The numerical core of the lance_ivf index: k-means clustering and
 *	  RaBitQ quantization.  No PostgreSQL header here or in the files that
 *	  implement it (kmeans.c, rabitq.c): they are unit-tested, sanitized and
 *	  benchmarked as plain C, like src/vector/distance.h whose kernels they
 *	  use.  Memory comes from malloc and is freed before returning (or by the
 *	  matching Free function); nothing here can longjmp.
 *
 * Squared L2 throughout; the index turns cosine into L2 by normalising
 * vectors, and inner product into the estimates below.
 */
#ifndef LANCEDB_IVF_IVF_MATH_H
#define LANCEDB_IVF_IVF_MATH_H

#include <stddef.h>
#include <stdint.h>

#define IVF_MATH_ERROR_SIZE 256

/* ---------------------------------------------------------------------------
 * k-means
 * ------------------------------------------------------------------------- */

typedef struct KMeansOptions
{
	int			k;				/* clusters, 1 <= k <= n */
	int			max_iterations; /* Lloyd iterations after seeding (>= 0) */
	uint64_t	seed;			/* same seed, same input: same centroids */
	/*
	 * Balance: 0 is plain Lloyd; > 0 penalises large clusters while
	 * training (assignment cost += balance * mean_distance * size / (n / k)),
	 * so that no list holds many times its share.
	 */
	float		balance;
	int			threads;		/* worker threads for the heavy loops; <= 1: none */
} KMeansOptions;

/*
 * Trains on 'n' vectors of 'dims' floats (row-major, 'data') and writes k
 * centroids (k * dims floats) to 'centroids'.  Seeding is k-means++ (on a
 * subsample when n is large); an emptied cluster is re-seeded by splitting
 * the largest.  Returns 0, or ENOMEM / EINVAL with a message in 'error'.
 */
extern int	KMeansTrain(const float *data, size_t n, int dims, const KMeansOptions *options,
						float *centroids, char error[IVF_MATH_ERROR_SIZE]);

/* The nearest centroid of each of n vectors (ties: the lower number). */
extern void KMeansAssign(const float *centroids, int k, int dims,
						 const float *vectors, size_t n, int32_t *assignment);

/*
 * The 'count' centroids nearest to 'query' (count <= k), nearest first, with
 * their squared distances.
 */
extern void KMeansNearest(const float *centroids, int k, int dims, const float *query,
						  int count, int32_t *ids, float *distances);

/* ---------------------------------------------------------------------------
 * RaBitQ (Gao & Long, SIGMOD 2024): 1 bit per (rotated) dimension plus a few
 * floats per vector give an unbiased estimate of <o - c, q - c> with an error
 * bound, for a vector o in the list of centroid c and a query q.
 * ------------------------------------------------------------------------- */

typedef struct RabitqRotation RabitqRotation;

/*
 * A random orthogonal transform of R^dims, padded to RabitqPaddedDims
 * dimensions (a multiple of 64), applied in O(D log D) time, derived only
 * from (dims, seed): every process and every machine rebuilds the same one,
 * so the index stores just the seed.  NULL on ENOMEM.
 */
extern RabitqRotation *RabitqRotationCreate(int dims, uint64_t seed);
extern void RabitqRotationFree(RabitqRotation *rotation);
extern int	RabitqPaddedDims(const RabitqRotation *rotation);
extern size_t RabitqCodeBytes(const RabitqRotation *rotation);	/* padded / 8 */

/* Per-vector factors stored beside its code. */
typedef struct RabitqFactors
{
	float		residual_norm;	/* ||o - c|| */
	float		code_dot;		/* <o_bar, (o - c) / ||o - c||>, RaBitQ's correction */
	float		centroid_dot;	/* <o - c, c>, for inner products */
} RabitqFactors;

/* Encodes o (dims floats) against centroid c: code (CodeBytes) and factors. */
extern void RabitqEncode(const RabitqRotation *rotation, const float *vector,
						 const float *centroid, uint8_t *code, RabitqFactors *factors);

/* A query prepared against one centroid; RabitqQuerySize bytes, caller-owned. */
typedef struct RabitqQuery RabitqQuery;
extern size_t RabitqQuerySize(const RabitqRotation *rotation);
extern void RabitqQueryPrepare(const RabitqRotation *rotation, const float *query,
							   const float *centroid, RabitqQuery *prepared);

/* ||q - c||^2 and <q, c> of a prepared query. */
extern float RabitqQueryResidualNormSquared(const RabitqQuery *prepared);
extern float RabitqQueryCentroidDot(const RabitqQuery *prepared);

/*
 * For n codes of one list: estimate[i] of <o_i - c, q - c> and error[i], a
 * bound on |estimate - truth| that holds with high probability (RaBitQ's
 * epsilon_0 = 1.9).  codes: n * CodeBytes bytes back to back.
 * Then, for the index:
 *	||o - q||^2  ~  ||o - c||^2 + ||q - c||^2 - 2 * estimate	(+/- 2 * error)
 *	<o, q>       ~  estimate + <o - c, c> + <q, c>			(+/- error)
 */
extern void RabitqEstimate(const RabitqQuery *prepared, const uint8_t *codes,
						   const RabitqFactors *factors, size_t n,
						   float *estimate, float *error);

#endif							/* LANCEDB_IVF_IVF_MATH_H */
