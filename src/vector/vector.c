/*
 * vector.c
 *	  Construction and validation of `vector` values, and the choice of
 *	  distance kernels.
 *
 * Every path that builds a vector from outside data (text, binary, arrays,
 * arithmetic) ends in the checks here, so the rules (1 to VECTOR_MAX_DIM
 * elements, no NaN, no infinity) and their error codes live in one place.
 * The codes follow pgvector so applications see the same SQLSTATEs.
 */
#include "postgres.h"

#include <math.h>

#include "utils/guc.h"
#include "vector/vector.h"

typedef enum DistanceKernelsChoice
{
	DISTANCE_KERNELS_AUTO,
	DISTANCE_KERNELS_SCALAR,
	DISTANCE_KERNELS_AVX2
} DistanceKernelsChoice;

static const struct config_enum_entry distance_kernels_options[] = {
	{"auto", DISTANCE_KERNELS_AUTO, false},
	{"scalar", DISTANCE_KERNELS_SCALAR, false},
	{"avx2", DISTANCE_KERNELS_AVX2, false},
	{NULL, 0, false}
};

static int	distance_kernels_choice = DISTANCE_KERNELS_AUTO;

const VectorKernels *vector_kernels = &VectorKernelsScalar;

static bool
check_distance_kernels(int *newval, void **extra pg_attribute_unused(),
					   GucSource source pg_attribute_unused())
{
	if (*newval == DISTANCE_KERNELS_AVX2 && !VectorCpuHasAvx2Fma())
	{
		GUC_check_errdetail("This CPU does not support AVX2 and FMA.");
		return false;
	}
	return true;
}

static void
assign_distance_kernels(int newval, void *extra pg_attribute_unused())
{
	switch (newval)
	{
		case DISTANCE_KERNELS_SCALAR:
			vector_kernels = &VectorKernelsScalar;
			break;
		case DISTANCE_KERNELS_AVX2:
			vector_kernels = &VectorKernelsAvx2;
			break;
		default:
			vector_kernels = VectorKernelsBest();
			break;
	}
}

/*
 * Called from _PG_init.  CPU detection runs once here (in the postmaster when
 * preloaded), so backends inherit the choice instead of probing per call.
 */
void
VectorInit(void)
{
	vector_kernels = VectorKernelsBest();

	DefineCustomEnumVariable("lancedb.distance_kernels",
							 "Selects the distance kernels: auto, scalar or avx2.",
							 "auto picks the fastest set the CPU supports; scalar is the portable reference.",
							 &distance_kernels_choice,
							 DISTANCE_KERNELS_AUTO,
							 distance_kernels_options,
							 PGC_USERSET,
							 0,
							 check_distance_kernels,
							 assign_distance_kernels,
							 NULL);
}

/*
 * A zero-filled vector of 'dim' elements; the caller has checked 'dim'.
 */
Vector *
VectorCreate(int dim)
{
	Size		size = VECTOR_SIZE(dim);
	Vector	   *result = (Vector *) palloc0(size);

	SET_VARSIZE(result, size);
	result->dim = dim;
	return result;
}

void
VectorCheckDim(int dim)
{
	if (dim < 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vector must have at least 1 dimension")));
	if (dim > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("vector cannot have more than %d dimensions", VECTOR_MAX_DIM)));
}

/* typmod is -1 for an unconstrained `vector`, else the declared dimension. */
void
VectorCheckExpectedDim(int32 typmod, int dim)
{
	if (typmod != -1 && typmod != dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", typmod, dim)));
}

void
VectorCheckSameDim(const Vector *a, const Vector *b)
{
	if (a->dim != b->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
}

void
VectorCheckElement(float value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("NaN not allowed in vector")));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("infinite value not allowed in vector")));
}
