/*
 * vector.h
 *	  The pgvector-compatible `vector` type: on-disk layout and helpers
 *	  shared by the SQL functions, the index AM and the table AM.
 *
 * The varlena layout is the same as pgvector's (int16 dimension count, an
 * int16 that must be zero, then float32 elements), so a vector's bytes mean
 * the same thing in both extensions.
 */
#ifndef LANCEDB_VECTOR_H
#define LANCEDB_VECTOR_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "vector/distance.h"

#define VECTOR_MAX_DIM 16000

typedef struct Vector
{
	int32		vl_len_;		/* varlena header (do not touch directly!) */
	int16		dim;			/* number of elements */
	int16		unused;			/* always zero, kept for pgvector's layout */
	float		x[FLEXIBLE_ARRAY_MEMBER];
} Vector;

#define VECTOR_SIZE(dim)		(offsetof(Vector, x) + sizeof(float) * (dim))
#define DatumGetVector(d)		((Vector *) PG_DETOAST_DATUM(d))
#define PG_GETARG_VECTOR_P(n)	DatumGetVector(PG_GETARG_DATUM(n))
#define PG_RETURN_VECTOR_P(v)	PG_RETURN_POINTER(v)

/* The kernel set in use, chosen by VectorInit and lancedb.distance_kernels. */
extern const VectorKernels *vector_kernels;

extern void VectorInit(void);
extern Vector *VectorCreate(int dim);

/* Checks that raise pgvector's errors (SQLSTATE 22000, 54000, 22023). */
extern void VectorCheckDim(int dim);
extern void VectorCheckExpectedDim(int32 typmod, int dim);
extern void VectorCheckSameDim(const Vector *a, const Vector *b);
extern void VectorCheckElement(float value);

#endif							/* LANCEDB_VECTOR_H */
