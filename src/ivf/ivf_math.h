/*
 * ivf_math.h
 *	  The numerical core of the lance_ivf index: k-means clustering and
 *	  RaBitQ quantization.  No PostgreSQL header here or in the files that
 *	  implement it (kmeans.c, rabitq.c, assign.c): they are unit-tested, sanitized and
 *	  benchmarked as plain C, like src/vector/distance.h whose kernels they
 *	  use.  Memory comes from malloc and is freed before returning (or by the
 *	  matching Free function); nothing here can longjmp.
 *
 * Squared L2 throughout; the index turns cosine into L2 by normalising
 * vectors, and inner product into the estimates below.
 */
#ifndef LANCEDB_IVF_IVF_MATH_H
#define LANCEDB_IVF_IVF_MATH_H

#include <stdbool.h>
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
	 * so that no list holds many times its share.  size is the cluster's
	 * size so far in the current assignment pass (points visit in a random
	 * order), mean_distance the mean squared distance to the nearest
	 * centroid in the previous pass.  1 is a strong setting.
	 */
	float		balance;
	/*
	 * Worker threads for the heavy loops; <= 1: none.  The result does not
	 * depend on it.  The threads start with all signals blocked and are
	 * joined before KMeansTrain returns.
	 */
	int			threads;
} KMeansOptions;

/*
 * Trains on 'n' vectors of 'dims' floats (row-major, 'data') and writes k
 * centroids (k * dims floats) to 'centroids'.  Seeding is k-means++ (on a
 * subsample when n is large); an emptied cluster is re-seeded by splitting
 * the largest.  Stops early once an iteration moves no point.  Returns 0,
 * or ENOMEM / EINVAL (bad k, dims, iterations or balance; a NaN or infinite
 * value) with a message in 'error' (which may be NULL).  With fewer distinct
 * vectors than k some centroids repeat and their lists stay empty.
 */
extern int	KMeansTrain(const float *data, size_t n, int dims, const KMeansOptions *options,
						float *centroids, char error[IVF_MATH_ERROR_SIZE]);

/*
 * The nearest centroid of each of n vectors (ties: the lower number).
 * Single-threaded; no allocation, so it cannot fail.
 */
extern void KMeansAssign(const float *centroids, int k, int dims,
						 const float *vectors, size_t n, int32_t *assignment);

/* The same in up to 'threads' threads (at most 8; all signals blocked in them). */
extern void KMeansAssignParallel(const float *centroids, int k, int dims,
								 const float *vectors, size_t n, int32_t *assignment,
								 int threads);

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

/* The widest vectors RaBitQ takes (pgvector's VECTOR_MAX_DIM), and their padding */
#define RABITQ_MAX_DIMS 16000
#define RABITQ_MAX_PADDED ((RABITQ_MAX_DIMS + 63) / 64 * 64)

/*
 * A random orthogonal transform of R^dims, padded to RabitqPaddedDims
 * dimensions (a multiple of 64), applied in O(D log D) time, derived only
 * from (dims, seed): every process and every machine rebuilds the same one,
 * so the index stores just the seed.  NULL on ENOMEM, or when dims is not
 * within 1..RABITQ_MAX_DIMS.  A rotation is read-only once created: any
 * number of threads may use it at once.
 */
extern RabitqRotation *RabitqRotationCreate(int dims, uint64_t seed);
extern void RabitqRotationFree(RabitqRotation *rotation);
extern int	RabitqPaddedDims(const RabitqRotation *rotation);
extern size_t RabitqCodeBytes(const RabitqRotation *rotation);	/* padded / 8 */

/*
 * Writes P * (vector padded with zeros) to 'rotated' (RabitqPaddedDims
 * floats).  Linear and orthogonal: RaBitQ itself needs no caller to use it,
 * but a caller may rotate centroids once and combine them, and the tests
 * check orthogonality through it.
 */
extern void RabitqRotate(const RabitqRotation *rotation, const float *vector,
						 float *rotated);

/* Per-vector factors stored beside its code. */
typedef struct RabitqFactors
{
	float		residual_norm;	/* ||o - c|| */
	float		code_dot;		/* <o_bar, (o - c) / ||o - c||>, RaBitQ's correction */
	float		centroid_dot;	/* <o - c, c>, for inner products */
} RabitqFactors;

/*
 * Encodes o (dims floats) against centroid c: code (CodeBytes) and factors.
 * Bit i of the code (rotated dimension i) is bit i % 8 of byte i / 8, on
 * every host.  Uses about RabitqPaddedDims * 4 bytes of stack.
 */
extern void RabitqEncode(const RabitqRotation *rotation, const float *vector,
						 const float *centroid, uint8_t *code, RabitqFactors *factors);

/*
 * A query prepared against one centroid; RabitqQuerySize bytes, caller-owned,
 * 8-byte aligned (malloc and palloc are).  It holds no pointer, so it may be
 * copied; it is read-only during RabitqEstimate.
 */
typedef struct RabitqQuery RabitqQuery;
extern size_t RabitqQuerySize(const RabitqRotation *rotation);
extern void RabitqQueryPrepare(const RabitqRotation *rotation, const float *query,
							   const float *centroid, RabitqQuery *prepared);

/*
 * The same from RabitqRotate(query) and RabitqRotate(centroid) (padded
 * floats each): P(q - c) = Pq - Pc, so a scan that keeps its lists'
 * centroids rotated rotates the query once instead of once per list, and
 * preparing costs O(D) instead of O(D log D).  Estimates may differ from
 * RabitqQueryPrepare's by float rounding.
 */
extern void RabitqQueryPrepareRotated(const RabitqRotation *rotation,
									  const float *rotated_query,
									  const float *rotated_centroid,
									  RabitqQuery *prepared);

/* ||q - c||^2 and <q, c> of a prepared query. */
extern float RabitqQueryResidualNormSquared(const RabitqQuery *prepared);
extern float RabitqQueryCentroidDot(const RabitqQuery *prepared);

/* P(q - c) of a prepared query, RabitqPaddedDims floats, and their sum */
extern const float *RabitqQueryRotatedResidual(const RabitqQuery *prepared);
extern float RabitqQueryRotatedResidualSum(const RabitqQuery *prepared);

/*
 * The multiple of the estimator's standard deviation that RabitqEstimate
 * returns as its error bound (RaBitQ's epsilon_0).  The estimation error is
 * close to normal, so the bound holds for about 94% of (vector, query) pairs;
 * scale error by RABITQ_EPSILON_99 / RABITQ_EPSILON0 for 99%.
 */
#define RABITQ_EPSILON0 1.9
#define RABITQ_EPSILON_99 2.7

/*
 * For n codes of one list: estimate[i] of <o_i - c, q - c> and error[i], a
 * bound on |estimate - truth| that holds with high probability (RaBitQ's
 * epsilon_0 = 1.9, about 94%; see above; it includes the error of the
 * query's own 4-bit quantization).  codes: n * CodeBytes bytes back to back,
 * no alignment needed.  Unbiased: averaged over rotations (seeds), the
 * estimate is the truth.
 * Then, for the index:
 *	||o - q||^2  ~  ||o - c||^2 + ||q - c||^2 - 2 * estimate	(+/- 2 * error)
 *	<o, q>       ~  estimate + <o - c, c> + <q, c>			(+/- error)
 */
extern void RabitqEstimate(const RabitqQuery *prepared, const uint8_t *codes,
						   const RabitqFactors *factors, size_t n,
						   float *estimate, float *error);

/*
 * RabitqEstimate's estimates turned into bounds of the distance, with
 * 'multiple' times the error on either side: of ||o - q||^2, or with
 * inner_product of -<o, q>, exactly these floats (NaN where they are), on
 * every kernel:
 *	L2:	base = ||o - c|| * ||o - c|| + ||q - c||^2 - 2 * estimate
 *		lower = base - 2 * multiple * error,  upper = base + 2 * multiple * error
 *	IP:	base = <o - c, c> + <q, c> + estimate
 *		lower = -(base + multiple * error),  upper = -(base - multiple * error)
 * A scan keeps candidates by these; computed with the estimates, eight at a
 * time, they cost about nothing more.
 */
extern void RabitqEstimateBounds(const RabitqQuery *prepared, const uint8_t *codes,
								 const RabitqFactors *factors, size_t n, float multiple,
								 bool inner_product, float *lower, float *upper);

/* ---------------------------------------------------------------------------
 * Extended RaBitQ (Gao, Gou, Xu, Yang, Long and Wong, SIGMOD 2025): B bits
 * per rotated dimension instead of one, for an estimate whose error bound is
 * several times smaller (about 2x at 2 bits, 7x at 4 and 100x at 8; see
 * rabitq_ex.c), close enough to order rows without exact distances.
 * The 1-bit code stays the first, cheap pass; the B-bit code refines the
 * rows that pass survives.
 * ------------------------------------------------------------------------- */

/* The bits a code may have: 1, 2, 4 or 8 (a level never straddles a byte). */
extern bool RabitqBitsSupported(int bits);

/*
 * Bytes of a B-bit code, RabitqPaddedDims * bits / 8; 0 for 1 bit (the plain
 * code is all there is).  Dimension i's level, 0 .. 2^B - 1, is bits
 * (i * B) % 8 .. + B - 1 of byte i * B / 8, on every host.
 */
extern size_t RabitqExCodeBytes(const RabitqRotation *rotation, int bits);

/* Per-vector factors stored beside its B-bit code. */
typedef struct RabitqExFactors
{
	float		scale;			/* |o - c|^2 / <x, P(o - c)>: estimate = scale * <x, P(q - c)> */
	float		error;			/* |o - c| tan(angle of x to P(o - c)): see RabitqExEstimate */
} RabitqExFactors;

/*
 * RabitqEncode, and with bits > 1 the B-bit code (RabitqExCodeBytes) and its
 * factors too, from the same rotation of o - c.  ex_code and ex_factors are
 * not touched when bits is 1.
 */
extern void RabitqEncodeBits(const RabitqRotation *rotation, int bits, const float *vector,
							 const float *centroid, uint8_t *code, RabitqFactors *factors,
							 uint8_t *ex_code, RabitqExFactors *ex_factors);

/*
 * The estimate of <o - c, q - c> from o's B-bit code, and in *error a bound
 * on |estimate - truth| of the same coverage as RabitqEstimate's
 * (epsilon_0 = 1.9 standard deviations; the query is not quantized, so
 * there is no rounding term).  prepared is the query prepared for o's list
 * (RabitqQueryPrepare or RabitqQueryPrepareRotated): the estimate reads its
 * P(q - c) in floats, not its bit planes.  Unbiased over rotations, like
 * RabitqEstimate.  No allocation.
 */
extern float RabitqExEstimate(const RabitqQuery *prepared, int bits, const uint8_t *ex_code,
							  const RabitqExFactors *factors, float *error);

/* ---------------------------------------------------------------------------
 * Both at once (assign.c): what a build does to every row it indexes
 * ------------------------------------------------------------------------- */

/*
 * For each of n vectors: its nearest of the k centroids into assignment[i]
 * (as KMeansAssign), and its code (codes + i * RabitqCodeBytes) and factors
 * against that centroid, with bits > 1 its B-bit code
 * (ex_codes + i * RabitqExCodeBytes) and factors too (as RabitqEncodeBits).
 * In up to 'threads' threads (at most 8; all signals blocked in them); the
 * output does not depend on the thread count.  No allocation, so it cannot
 * fail.
 */
extern void IvfAssignEncode(const float *centroids, int k, int dims,
							const RabitqRotation *rotation, const float *vectors, size_t n,
							int32_t *assignment, uint8_t *codes, RabitqFactors *factors,
							int bits, uint8_t *ex_codes, RabitqExFactors *ex_factors,
							int threads);

/* ---------------------------------------------------------------------------
 * Lower bounds of a query's keys for every list (coarse.c)
 * ------------------------------------------------------------------------- */

typedef struct IvfCoarse IvfCoarse;

/*
 * The bounds' worst-case error grows with the dimensions faster than the
 * spread of the keys does: beyond this many they rule out too few lists to
 * pay for themselves, and scans compute exact keys only.
 */
#define IVF_COARSE_MAX_DIMS 2048

/* int8 copies of k centroids of 'dims' floats; NULL when out of memory */
extern IvfCoarse *IvfCoarseCreate(const float *centroids, int k, int dims);
extern void IvfCoarseFree(IvfCoarse *coarse);

/*
 * Whether this CPU computes the bounds faster than the float kernels compute
 * exact keys (AVX-512 VNNI); only then are they worth it.
 */
extern bool IvfCoarseFast(void);

/* Bytes of scratch memory IvfCoarseBounds needs */
extern size_t IvfCoarseScratchSize(const IvfCoarse *coarse);

/*
 * For each centroid c_j, a float at most the key the float kernels give for
 * it (src/vector/distance.h): l2_squared(query, c_j), or with inner_product
 * -inner_product(query, c_j).  'fast' (only where IvfCoarseFast) chooses
 * the VNNI sums over the portable ones; both give the same bounds, bit for
 * bit.
 */
extern void IvfCoarseBounds(const IvfCoarse *coarse, const float *query, bool inner_product,
							bool fast, void *scratch, float *bounds);

#endif							/* LANCEDB_IVF_IVF_MATH_H */
