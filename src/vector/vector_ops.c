/*
 * vector_ops.c
 *	  SQL functions and operators on `vector`: distances, norms, element-wise
 *	  arithmetic, slicing, concatenation and the btree ordering.
 *
 * Distances go through the kernel set in vector_kernels (see distance.h) and
 * mean what pgvector says they mean: <-> is Euclidean (not squared), <#> the
 * negative inner product, <=> one minus the cosine similarity, <+> taxicab.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"
#include "vector/vector.h"

LANCEDB_FUNCTION(l2_distance);
LANCEDB_FUNCTION(vector_l2_squared_distance);
LANCEDB_FUNCTION(inner_product);
LANCEDB_FUNCTION(vector_negative_inner_product);
LANCEDB_FUNCTION(cosine_distance);
LANCEDB_FUNCTION(l1_distance);
LANCEDB_FUNCTION(vector_dims);
LANCEDB_FUNCTION(vector_norm);
LANCEDB_FUNCTION(l2_normalize);
LANCEDB_FUNCTION(vector_add);
LANCEDB_FUNCTION(vector_sub);
LANCEDB_FUNCTION(vector_mul);
LANCEDB_FUNCTION(vector_concat);
LANCEDB_FUNCTION(subvector);
LANCEDB_FUNCTION(vector_lt);
LANCEDB_FUNCTION(vector_le);
LANCEDB_FUNCTION(vector_eq);
LANCEDB_FUNCTION(vector_ne);
LANCEDB_FUNCTION(vector_ge);
LANCEDB_FUNCTION(vector_gt);
LANCEDB_FUNCTION(vector_cmp);

/* Fetch two arguments of the same dimension. */
#define GET_TWO_VECTORS(a, b) \
	Vector	   *a = PG_GETARG_VECTOR_P(0); \
	Vector	   *b = PG_GETARG_VECTOR_P(1); \
	VectorCheckSameDim(a, b)

Datum
l2_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8(sqrt((double) vector_kernels->l2_squared(a->x, b->x, a->dim)));
}

Datum
vector_l2_squared_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vector_kernels->l2_squared(a->x, b->x, a->dim));
}

Datum
inner_product(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vector_kernels->inner_product(a->x, b->x, a->dim));
}

Datum
vector_negative_inner_product(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8(-(double) vector_kernels->inner_product(a->x, b->x, a->dim));
}

Datum
cosine_distance(PG_FUNCTION_ARGS)
{
	float		dot,
				norm_a,
				norm_b;

	GET_TWO_VECTORS(a, b);
	vector_kernels->cosine_parts(a->x, b->x, a->dim, &dot, &norm_a, &norm_b);
	PG_RETURN_FLOAT8(VectorCosineDistanceFromParts(dot, norm_a, norm_b));
}

Datum
l1_distance(PG_FUNCTION_ARGS)
{
	GET_TWO_VECTORS(a, b);
	PG_RETURN_FLOAT8((double) vector_kernels->l1(a->x, b->x, a->dim));
}

Datum
vector_dims(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);

	PG_RETURN_INT32(a->dim);
}

/* Accumulated in double: a norm is computed once, not per candidate row. */
static double
norm_of(const Vector *a)
{
	double		sum = 0.0;

	for (int i = 0; i < a->dim; i++)
		sum += (double) a->x[i] * (double) a->x[i];
	return sqrt(sum);
}

Datum
vector_norm(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(norm_of(PG_GETARG_VECTOR_P(0)));
}

/* The zero vector normalizes to itself, as in pgvector. */
Datum
l2_normalize(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	double		norm = norm_of(a);
	Vector	   *result = VectorCreate(a->dim);

	if (norm > 0)
		for (int i = 0; i < a->dim; i++)
			result->x[i] = (float) (a->x[i] / norm);
	PG_RETURN_VECTOR_P(result);
}

typedef enum ElementwiseOp
{
	ELEMENTWISE_ADD,
	ELEMENTWISE_SUB,
	ELEMENTWISE_MUL
} ElementwiseOp;

/* a op b element by element; overflow (and underflow of *) is an error. */
static Vector *
elementwise(const Vector *a, const Vector *b, ElementwiseOp op)
{
	Vector	   *result;

	VectorCheckSameDim(a, b);
	result = VectorCreate(a->dim);
	for (int i = 0; i < a->dim; i++)
	{
		float		r;

		switch (op)
		{
			case ELEMENTWISE_ADD:
				r = a->x[i] + b->x[i];
				break;
			case ELEMENTWISE_SUB:
				r = a->x[i] - b->x[i];
				break;
			default:
				r = a->x[i] * b->x[i];
				if (r == 0 && a->x[i] != 0 && b->x[i] != 0)
					float_underflow_error();
				break;
		}
		if (isinf(r))
			float_overflow_error();
		result->x[i] = r;
	}
	return result;
}

Datum
vector_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1),
								   ELEMENTWISE_ADD));
}

Datum
vector_sub(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1),
								   ELEMENTWISE_SUB));
}

Datum
vector_mul(PG_FUNCTION_ARGS)
{
	PG_RETURN_VECTOR_P(elementwise(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1),
								   ELEMENTWISE_MUL));
}

Datum
vector_concat(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	Vector	   *b = PG_GETARG_VECTOR_P(1);
	Vector	   *result;

	VectorCheckDim(a->dim + b->dim);
	result = VectorCreate(a->dim + b->dim);
	memcpy(result->x, a->x, sizeof(float) * a->dim);
	memcpy(result->x + a->dim, b->x, sizeof(float) * b->dim);
	PG_RETURN_VECTOR_P(result);
}

/*
 * subvector(v, start, count): 'count' elements from 1-based position
 * 'start', clipped to the vector like substring(); an empty result is an
 * error because a vector has at least one element.
 */
Datum
subvector(PG_FUNCTION_ARGS)
{
	Vector	   *a = PG_GETARG_VECTOR_P(0);
	int64		start = PG_GETARG_INT32(1);
	int64		count = PG_GETARG_INT32(2);
	int64		end = start + count;	/* exclusive; int64 cannot overflow */
	Vector	   *result;

	if (count < 1 || start > a->dim)
		VectorCheckDim(0);
	start = Max(start, 1);
	end = Min(end, (int64) a->dim + 1);
	VectorCheckDim((int) (end - start));

	result = VectorCreate((int) (end - start));
	memcpy(result->x, a->x + (start - 1), sizeof(float) * result->dim);
	PG_RETURN_VECTOR_P(result);
}

/*
 * Element by element, then by dimension (a prefix sorts first), like
 * Postgres arrays.
 */
static int
vector_compare(const Vector *a, const Vector *b)
{
	int			dim = Min(a->dim, b->dim);

	for (int i = 0; i < dim; i++)
	{
		if (a->x[i] < b->x[i])
			return -1;
		if (a->x[i] > b->x[i])
			return 1;
	}
	return (a->dim > b->dim) - (a->dim < b->dim);
}

#define COMPARE_ARGS() vector_compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1))

Datum
vector_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() < 0);
}

Datum
vector_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() <= 0);
}

Datum
vector_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() == 0);
}

Datum
vector_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() != 0);
}

Datum
vector_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() >= 0);
}

Datum
vector_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(COMPARE_ARGS() > 0);
}

Datum
vector_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(COMPARE_ARGS());
}
