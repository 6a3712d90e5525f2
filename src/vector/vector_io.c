/*
 * vector_io.c
 *	  Conversions of `vector` to and from text, the binary wire format,
 *	  arrays, and the typmod that fixes a column's dimension.
 *
 * The text syntax, the output (shortest round-trip floats) and the binary
 * layout are those of pgvector, so dumps, COPY (text or binary) and client
 * code move between the two extensions unchanged.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "vector/vector.h"

LANCEDB_FUNCTION(vector_in);
LANCEDB_FUNCTION(vector_out);
LANCEDB_FUNCTION(vector_typmod_in);
LANCEDB_FUNCTION(vector_recv);
LANCEDB_FUNCTION(vector_send);
LANCEDB_FUNCTION(vector);
LANCEDB_FUNCTION(array_to_vector);
LANCEDB_FUNCTION(vector_to_float4);

/* The white space pgvector skips: C's isspace() in the C locale. */
static inline bool
is_vector_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline const char *
skip_space(const char *p)
{
	while (is_vector_space(*p))
		p++;
	return p;
}

static void
invalid_syntax(const char *literal)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type vector: \"%s\"", literal)));
}

/*
 * Text input: '[' element (',' element)* ']' with optional white space
 * around every token.  Elements are parsed with strtof, as float4in does, to
 * avoid double rounding.
 */
Datum
vector_in(PG_FUNCTION_ARGS)
{
	char	   *literal = PG_GETARG_CSTRING(0);
	int32		typmod = PG_GETARG_INT32(2);
	const char *p = skip_space(literal);
	int			capacity = 16;
	float	   *values;
	int			dim = 0;
	Vector	   *result;

	if (*p != '[')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", literal),
				 errdetail("Vector contents must start with \"[\".")));
	p = skip_space(p + 1);
	if (*p == ']')
		VectorCheckDim(0);

	values = palloc(sizeof(float) * capacity);
	for (;;)
	{
		char	   *end;
		float		value;

		if (dim == VECTOR_MAX_DIM)
			VectorCheckDim(dim + 1);
		p = skip_space(p);
		if (*p == '\0')
			invalid_syntax(literal);

		errno = 0;
		value = strtof(p, &end);
		if (end == p)
			invalid_syntax(literal);
		if (errno == ERANGE && isinf(value))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("\"%s\" is out of range for type vector",
							pnstrdup(p, end - p))));
		VectorCheckElement(value);

		if (dim == capacity)
		{
			capacity = Min(capacity * 2, VECTOR_MAX_DIM);
			values = repalloc(values, sizeof(float) * capacity);
		}
		values[dim++] = value;

		p = skip_space(end);
		if (*p == ']')
			break;
		if (*p != ',')
			invalid_syntax(literal);
		p++;
	}

	p = skip_space(p + 1);
	if (*p != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type vector: \"%s\"", literal),
				 errdetail("Junk after closing right brace.")));

	VectorCheckExpectedDim(typmod, dim);
	result = VectorCreate(dim);
	memcpy(result->x, values, sizeof(float) * dim);
	pfree(values);
	PG_RETURN_VECTOR_P(result);
}

Datum
vector_out(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	/* each element needs at most FLOAT_SHORTEST_DECIMAL_LEN - 1 bytes, plus a comma */
	char	   *buf = palloc(vec->dim * FLOAT_SHORTEST_DECIMAL_LEN + 3);
	char	   *p = buf;

	*p++ = '[';
	for (int i = 0; i < vec->dim; i++)
	{
		if (i > 0)
			*p++ = ',';
		p += float_to_shortest_decimal_bufn(vec->x[i], p);
	}
	*p++ = ']';
	*p = '\0';

	PG_FREE_IF_COPY(vec, 0);
	PG_RETURN_CSTRING(buf);
}

Datum
vector_typmod_in(PG_FUNCTION_ARGS)
{
	ArrayType  *modifiers = PG_GETARG_ARRAYTYPE_P(0);
	int32	   *values;
	int			n;

	values = ArrayGetIntegerTypmods(modifiers, &n);
	if (n != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid type modifier")));
	if (values[0] < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector must be at least 1")));
	if (values[0] > VECTOR_MAX_DIM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dimensions for type vector cannot exceed %d", VECTOR_MAX_DIM)));

	PG_RETURN_INT32(values[0]);
}

/*
 * Binary input: uint16 dimension, uint16 zero, then big-endian float4s;
 * the same bytes pgvector sends.
 */
Datum
vector_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		typmod = PG_GETARG_INT32(2);
	int			dim = (int) pq_getmsgint(buf, sizeof(int16));
	int			unused = (int) pq_getmsgint(buf, sizeof(int16));
	Vector	   *result;

	VectorCheckDim(dim);
	VectorCheckExpectedDim(typmod, dim);
	if (unused != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected unused to be 0, not %d", unused)));

	result = VectorCreate(dim);
	for (int i = 0; i < dim; i++)
	{
		result->x[i] = pq_getmsgfloat4(buf);
		VectorCheckElement(result->x[i]);
	}
	PG_RETURN_VECTOR_P(result);
}

Datum
vector_send(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint16(&buf, (uint16) vec->dim);
	pq_sendint16(&buf, 0);
	for (int i = 0; i < vec->dim; i++)
		pq_sendfloat4(&buf, vec->x[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* The length coercion behind `vector(n)`: a no-op that checks the dimension. */
Datum
vector(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);

	VectorCheckExpectedDim(PG_GETARG_INT32(1), vec->dim);
	PG_RETURN_VECTOR_P(vec);
}

/* Casts from integer[], real[], double precision[] and numeric[]. */
Datum
array_to_vector(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	int32		typmod = PG_GETARG_INT32(1);
	Oid			elemtype = ARR_ELEMTYPE(array);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Datum	   *elems;
	int			nelems;
	Vector	   *result;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("array must be 1-D")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("array must not contain nulls")));

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(array, elemtype, typlen, typbyval, typalign,
					  &elems, NULL, &nelems);
	VectorCheckDim(nelems);
	VectorCheckExpectedDim(typmod, nelems);

	result = VectorCreate(nelems);
	for (int i = 0; i < nelems; i++)
	{
		switch (elemtype)
		{
			case INT4OID:
				result->x[i] = (float) DatumGetInt32(elems[i]);
				break;
			case FLOAT4OID:
				result->x[i] = DatumGetFloat4(elems[i]);
				break;
			case FLOAT8OID:
				result->x[i] = (float) DatumGetFloat8(elems[i]);
				break;
			case NUMERICOID:
				result->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("unsupported array type")));
		}
		VectorCheckElement(result->x[i]);
	}
	pfree(elems);
	PG_RETURN_VECTOR_P(result);
}

/* Cast to real[]. */
Datum
vector_to_float4(PG_FUNCTION_ARGS)
{
	Vector	   *vec = PG_GETARG_VECTOR_P(0);
	Datum	   *elems = palloc(sizeof(Datum) * vec->dim);
	ArrayType  *result;

	for (int i = 0; i < vec->dim; i++)
		elems[i] = Float4GetDatum(vec->x[i]);
	result = construct_array(elems, vec->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	PG_RETURN_POINTER(result);
}
