/*
 * vector_agg.c
 *	  avg(vector): transition, combine and final functions.
 *
 * The state is a float8[] of n followed by the running sums, the same state
 * pgvector uses, so the aggregate can run in parallel (combine adds states).
 * sum(vector) needs nothing here: it is vector_add as both transition and
 * combine function.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"
#include "vector/vector.h"

LANCEDB_FUNCTION(vector_accum);
LANCEDB_FUNCTION(vector_combine);
LANCEDB_FUNCTION(vector_avg);

/* The state's values; elog because only a misuse of the functions gets here. */
static float8 *
state_values(ArrayType *state, int *dim)
{
	if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 ||
		ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
		elog(ERROR, "expected a vector aggregate state array");
	*dim = ARR_DIMS(state)[0] - 1;
	return (float8 *) ARR_DATA_PTR(state);
}

static ArrayType *
state_create(int dim)
{
	Datum	   *zeros = palloc(sizeof(Datum) * (dim + 1));
	ArrayType  *state;

	for (int i = 0; i <= dim; i++)
		zeros[i] = Float8GetDatum(0.0);
	state = construct_array(zeros, dim + 1, FLOAT8OID, sizeof(float8),
							FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(zeros);
	return state;
}

/* into += from, element by element, with the count in slot 0. */
static void
state_add(float8 *into, const float8 *from, int dim)
{
	into[0] += from[0];
	for (int i = 1; i <= dim; i++)
	{
		into[i] += from[i];
		if (isinf(into[i]))
			float_overflow_error();
	}
}

/*
 * Inside an aggregate the state array is ours to change in place, as in
 * float8_accum; called directly, the input must stay untouched.
 */
static ArrayType *
state_writable(FunctionCallInfo fcinfo, int argno, int dim)
{
	ArrayType  *state = PG_GETARG_ARRAYTYPE_P(argno);
	int			state_dim;
	float8	   *values = state_values(state, &state_dim);

	if (state_dim == 0)
	{
		ArrayType  *fresh = state_create(dim);

		((float8 *) ARR_DATA_PTR(fresh))[0] = values[0];
		return fresh;
	}
	VectorCheckExpectedDim(state_dim, dim);
	if (AggCheckCallContext(fcinfo, NULL))
		return state;
	return PG_GETARG_ARRAYTYPE_P_COPY(argno);
}

Datum
vector_accum(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(1);
	ArrayType  *state = state_writable(fcinfo, 0, vec->dim);
	float8	   *values = (float8 *) ARR_DATA_PTR(state);

	values[0] += 1;
	for (int i = 0; i < vec->dim; i++)
	{
		values[i + 1] += vec->x[i];
		if (isinf(values[i + 1]))
			float_overflow_error();
	}
	PG_RETURN_ARRAYTYPE_P(state);
}

Datum
vector_combine(PG_FUNCTION_ARGS)
{
	int			dim1,
				dim2;
	float8	   *values2 = state_values(PG_GETARG_ARRAYTYPE_P(1), &dim2);
	ArrayType  *state;

	state_values(PG_GETARG_ARRAYTYPE_P(0), &dim1);
	if (dim1 == 0 && dim2 == 0)
		PG_RETURN_ARRAYTYPE_P(state_create(0));
	state = state_writable(fcinfo, 0, dim2 == 0 ? dim1 : dim2);
	if (dim2 > 0)
		state_add((float8 *) ARR_DATA_PTR(state), values2, dim2);
	else
		((float8 *) ARR_DATA_PTR(state))[0] += values2[0];
	PG_RETURN_ARRAYTYPE_P(state);
}

Datum
vector_avg(PG_FUNCTION_ARGS)
{
	int			dim;
	float8	   *values = state_values(PG_GETARG_ARRAYTYPE_P(0), &dim);
	Vector	   *result;

	/* SQL's avg of no rows is NULL */
	if (values[0] == 0)
		PG_RETURN_NULL();

	VectorCheckDim(dim);
	result = VectorCreate(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = (float) (values[i + 1] / values[0]);
		VectorCheckElement(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}
