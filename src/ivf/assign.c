/*
 * assign.c
 *	  The heavy loop of writing a lance_ivf segment: each vector's nearest
 *	  centroid and its RaBitQ code (and B-bit code) against that centroid,
 *	  in threads.  A
 *	  build runs it over every row it indexes, whether the rows are held in
 *	  memory or stream through a sort (ivf_build.c), so both paths share this
 *	  one piece.  See ivf_math.h for the contract.
 *
 * Each thread takes a contiguous range of vectors and does both steps for
 * it: the vector is still in cache when it is encoded, and the result does
 * not depend on the number of threads (every output slot is written by the
 * one thread that owns its range).
 *
 * No PostgreSQL header is included (see ivf_math.h).
 */
#include "ivf/ivf_math.h"

#include "ivf/ivf_math_internal.h"

typedef struct AssignEncodeContext
{
	const float *centroids;
	int			k;
	int			dims;
	const RabitqRotation *rotation;
	size_t		code_bytes;
	const float *vectors;
	int32_t    *assignment;
	uint8_t    *codes;
	RabitqFactors *factors;
	int			bits;
	size_t		ex_code_bytes;
	uint8_t    *ex_codes;
	RabitqExFactors *ex_factors;
} AssignEncodeContext;

static void
AssignEncodeRange(void *arg, size_t begin, size_t end, int worker)
{
	AssignEncodeContext *ctx = arg;
	size_t		dims = (size_t) ctx->dims;

	(void) worker;
	KMeansAssign(ctx->centroids, ctx->k, ctx->dims, ctx->vectors + begin * dims, end - begin,
				 ctx->assignment + begin);
	for (size_t i = begin; i < end; i++)
		RabitqEncodeBits(ctx->rotation, ctx->bits, ctx->vectors + i * dims,
						 ctx->centroids + (size_t) ctx->assignment[i] * dims,
						 ctx->codes + i * ctx->code_bytes, &ctx->factors[i],
						 ctx->bits > 1 ? ctx->ex_codes + i * ctx->ex_code_bytes : NULL,
						 ctx->bits > 1 ? &ctx->ex_factors[i] : NULL);
}

void
IvfAssignEncode(const float *centroids, int k, int dims, const RabitqRotation *rotation,
				const float *vectors, size_t n, int32_t *assignment, uint8_t *codes,
				RabitqFactors *factors, int bits, uint8_t *ex_codes,
				RabitqExFactors *ex_factors, int threads)
{
	AssignEncodeContext ctx = {
		.centroids = centroids,
		.k = k,
		.dims = dims,
		.rotation = rotation,
		.code_bytes = RabitqCodeBytes(rotation),
		.vectors = vectors,
		.assignment = assignment,
		.codes = codes,
		.factors = factors,
		.bits = bits,
		.ex_code_bytes = RabitqExCodeBytes(rotation, bits),
		.ex_codes = ex_codes,
		.ex_factors = ex_factors,
	};

	if (threads > 8)
		threads = 8;
	IvfRunRanges(AssignEncodeRange, &ctx, n, threads < 1 ? 1 : threads);
}
