/*
 * test_distance.c
 *	  Unit tests of the distance kernels (src/vector/distance*.c).
 *
 * Every kernel set (scalar, and avx2 when the CPU has it) is checked against
 * a double-precision reference for every dimension 1..64, for 65..300 in
 * steps of 7, and for sizes around the usual embedding widths up to 16000.
 * One TAP assertion covers one check of one kernel set over one of those
 * three dimension classes.
 *
 * The error bound.  A float sum of n terms t_i, each built from the inputs
 * with a few roundings, satisfies in any summation order
 *
 *		|computed - exact| <= gamma_k * sum |t_i|,	gamma_k = k u / (1 - k u),
 *
 * with u = 2^-24 and k the largest number of roundings any one term goes
 * through (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
 * 3.1 and 4.2): at most n - 1 additions, since a tree of additions over n
 * leaves is at most n - 1 deep (adding an exact 0, as the masked lanes of
 * the AVX2 code do, is exact and costs nothing), plus the roundings of the
 * term itself:
 *
 *		inner product, norms	a*b rounded once (or fused)		k = n
 *		l1						a-b rounded once				k = n
 *		l2 squared				a-b rounded once, squared, then
 *								the product rounded (or fused)	k = n + 2
 *
 * The nonzero test data lie within 2^-29..2^6 in magnitude, so nothing
 * underflows or overflows and the model holds.  The reference is summed in
 * double; its own error is below gamma_k(2^-53) * sum|t_i|, about 2^-29 of
 * the float bound, and the tolerance carries a relative slack of 2^-20 to
 * absorb it (and the rounding of the bound itself).  Nothing else is
 * loosened.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "vector/distance.h"

#define SLACK (1.0 + 0x1p-20)
#define TRIALS 3				/* vector pairs per dimension; see MakePair */
#define BATCH_MAX 5				/* batch sizes 0..5: pairs and a leftover */
#define MATRIX_MAX 7			/* matrix sides 0..7: two 3 x 3 tiles and leftovers */
#define GATHER_MAX 19			/* gathers of 0..19: two tiles of 8, then 2 and 1 */
#define EDGE 40					/* one-hot positions at each end of a long vector */

typedef enum Op
{
	OP_L2,
	OP_IP,
	OP_L1
} Op;

static const char *const op_names[] = {"l2_squared", "inner_product", "l1"};

/* ---- data ---- */

/* splitmix64: small, and fixed seeds make every run see the same data */
static uint64_t rng;

static uint64_t
Next(void)
{
	uint64_t	z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Seeds from the dimension and trial, so every kernel set sees the same data */
static void
Seed(int dim, int trial)
{
	rng = (uint64_t) dim * 1000 + (uint64_t) trial;
}

/* Uniform in [-1, 1) with 24 random bits, so exactly a float */
static float
Uniform(void)
{
	return (float) ((int32_t) (Next() >> 40) - (1 << 23)) * 0x1p-23f;
}

/* Mixed signs and magnitudes (2^-29..2^6), and 1 in 32 an exact zero */
static float
Mixed(void)
{
	uint64_t	r = Next();

	if ((r & 31) == 0)
		return 0.0f;
	return ldexpf(Uniform(), (int) ((r >> 5) % 13) - 6);
}

static float *
NewVector(int dim)
{
	float	   *v = malloc(sizeof(float) * (size_t) dim);

	if (v == NULL)
		abort();
	return v;
}

/*
 * Trial 0: independent mixed-magnitude vectors; 1: independent uniform ones;
 * 2: b a near copy of a (heavy cancellation in a - b).
 */
static void
MakePair(float *a, float *b, int dim, int trial)
{
	Seed(dim, trial);
	for (int i = 0; i < dim; i++)
	{
		a[i] = trial == 1 ? Uniform() : Mixed();
		b[i] = trial == 0 ? Mixed() :
			trial == 1 ? Uniform() : a[i] + a[i] * Uniform() * 0x1p-10f;
	}
}

/* ---- reference and bound ---- */

static double
Gamma(int k)
{
	double		ku = k * 0x1p-24;

	return ku / (1.0 - ku);
}

static double
Term(Op op, float a, float b)
{
	double		d = (double) a - (double) b;

	switch (op)
	{
		case OP_L2:
			return d * d;
		case OP_IP:
			return (double) a * (double) b;
		case OP_L1:
			return fabs(d);
	}
	abort();
}

/* Roundings per term; see the file header */
static int
Roundings(Op op, int dim)
{
	return op == OP_L2 ? dim + 2 : dim;
}

/* Worst case seen by one check, reported once per TAP assertion */
typedef struct Tally
{
	double		worst;			/* largest error / bound */
	int			failures;
} Tally;

/* Compares got with the exact sum of op over a and b, within the bound */
static void
Expect(Tally *t, const char *what, Op op, const float *a, const float *b,
	   int dim, float got)
{
	double		exact = 0.0;
	double		abs_sum = 0.0;
	double		bound;
	double		err;

	for (int i = 0; i < dim; i++)
	{
		double		term = Term(op, a[i], b[i]);

		exact += term;
		abs_sum += fabs(term);
	}
	bound = Gamma(Roundings(op, dim)) * abs_sum * SLACK;
	err = fabs((double) got - exact);

	if (err <= bound)
	{
		if (bound > 0.0 && err / bound > t->worst)
			t->worst = err / bound;
		return;
	}
	if (t->failures++ < 3)
		tap_diag("%s, dim %d: got %.9g, exact %.17g, error %.3g > bound %.3g",
				 what, dim, got, exact, err, bound);
}

/* ---- kernel access ---- */

static float
CallSingle(const VectorKernels *ks, Op op, const float *a, const float *b,
		   int dim)
{
	switch (op)
	{
		case OP_L2:
			return ks->l2_squared(a, b, dim);
		case OP_IP:
			return ks->inner_product(a, b, dim);
		case OP_L1:
			return ks->l1(a, b, dim);
	}
	abort();
}

/* ---- checks: each covers one kernel set over one class of dimensions ---- */

typedef struct DimClass
{
	const char *name;
	int			count;
	int			dims[64];
} DimClass;

static DimClass classes[3] = {
	{.name = "dims 1..64"},
	{.name = "dims 65..300 step 7"},
	{.name = "dims 511..16000", .count = 17, .dims =
	{511, 512, 513, 767, 768, 769, 784, 1023, 1024, 1025, 1536, 2000, 2047,
	4096, 8191, 15999, 16000}},
};

static void
InitClasses(void)
{
	for (int d = 1; d <= 64; d++)
		classes[0].dims[classes[0].count++] = d;
	for (int d = 65; d <= 300; d += 7)
		classes[1].dims[classes[1].count++] = d;
}

/* The single form of op is within the bound for every dim and trial */
static bool
CheckBound(const VectorKernels *ks, const DimClass *dc, Op op)
{
	Tally		t = {0};

	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *a = NewVector(dim);
		float	   *b = NewVector(dim);

		for (int trial = 0; trial < TRIALS; trial++)
		{
			MakePair(a, b, dim, trial);
			Expect(&t, op_names[op], op, a, b, dim, CallSingle(ks, op, a, b, dim));
		}
		free(a);
		free(b);
	}
	tap_diag("%s %s, %s: worst error / bound %.3g", ks->name, op_names[op],
			 dc->name, t.worst);
	return t.failures == 0;
}

/* cosine_parts: dot, norm_a and norm_b each within its bound */
static bool
CheckCosineParts(const VectorKernels *ks, const DimClass *dc, Op unused)
{
	Tally		t = {0};

	(void) unused;
	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *a = NewVector(dim);
		float	   *b = NewVector(dim);

		for (int trial = 0; trial < TRIALS; trial++)
		{
			float		dot,
						na,
						nb;

			MakePair(a, b, dim, trial);
			ks->cosine_parts(a, b, dim, &dot, &na, &nb);
			Expect(&t, "cosine_parts dot", OP_IP, a, b, dim, dot);
			Expect(&t, "cosine_parts norm_a", OP_IP, a, a, dim, na);
			Expect(&t, "cosine_parts norm_b", OP_IP, b, b, dim, nb);
		}
		free(a);
		free(b);
	}
	tap_diag("%s cosine_parts, %s: worst error / bound %.3g", ks->name,
			 dc->name, t.worst);
	return t.failures == 0;
}

#define SENTINEL -12345.0f

/*
 * Whether out[0..n) of a many-vector form equal the single form of op for
 * q and vectors[i] bit for bit, and out[n] still holds SENTINEL; counts
 * the differences into *failures, describing the first few.
 */
static void
CompareWithSingle(const VectorKernels *ks, Op op, const float *q, const float *const vectors[],
				  size_t n, int dim, const float *out, int *failures)
{
	for (size_t i = 0; i < n; i++)
	{
		float		single = CallSingle(ks, op, q, vectors[i], dim);

		if (memcmp(&out[i], &single, sizeof(float)) != 0 && (*failures)++ < 3)
			tap_diag("dim %d, n %zu: out[%zu] = %.9g, single form %.9g",
					 dim, n, i, out[i], single);
	}
	if (out[n] != SENTINEL && (*failures)++ < 3)
		tap_diag("dim %d, n %zu: out[%zu] overwritten", dim, n, n);
}

/*
 * The batch form of op equals the single form bit for bit, for n = 0..5
 * vectors, and writes nothing past out[n - 1].  Equality makes the bound of
 * the single form hold for the batch form too.
 */
static bool
CheckBatch(const VectorKernels *ks, const DimClass *dc, Op op)
{
	int			failures = 0;

	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *q = NewVector(dim);
		float	   *block = NewVector(dim * BATCH_MAX);
		const float *vectors[BATCH_MAX];

		Seed(dim, TRIALS);
		for (int i = 0; i < dim; i++)
			q[i] = Mixed();
		for (int i = 0; i < dim * BATCH_MAX; i++)
			block[i] = Mixed();
		for (int i = 0; i < BATCH_MAX; i++)
			vectors[i] = block + i * dim;

		for (size_t n = 0; n <= BATCH_MAX; n++)
		{
			float		out[BATCH_MAX + 1];

			for (size_t i = 0; i <= n; i++)
				out[i] = SENTINEL;
			if (op == OP_L2)
				ks->l2_squared_batch(q, block, dim, n, out);
			else
				ks->inner_product_batch(q, block, dim, n, out);
			CompareWithSingle(ks, op, q, vectors, n, dim, out, &failures);
		}
		free(q);
		free(block);
	}
	return failures == 0;
}

/*
 * The matrix form equals the single form bit for bit for every pair, for
 * nx and ny = 0..MATRIX_MAX (whole tiles and leftovers in both directions),
 * and writes only its nx x ny cells of out: the row gaps of out_stride and
 * the cell after the last row keep their sentinel.  The 8 floats after each
 * set of vectors are NaN, so a read past the end would show in the results.
 */
static bool
CheckMatrix(const VectorKernels *ks, const DimClass *dc, Op unused)
{
	const size_t stride = MATRIX_MAX + 2;
	int			failures = 0;

	(void) unused;
	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *x = NewVector(dim * MATRIX_MAX + 8);
		float	   *y = NewVector(dim * MATRIX_MAX + 8);
		float	   *out = NewVector((int) (stride * (MATRIX_MAX + 1)));

		Seed(dim, TRIALS + 2);
		for (int i = 0; i < dim * MATRIX_MAX; i++)
		{
			x[i] = Mixed();
			y[i] = Mixed();
		}
		for (size_t nx = 0; nx <= MATRIX_MAX; nx++)
		{
			for (size_t ny = 0; ny <= MATRIX_MAX; ny++)
			{
				/* the sets end at nx and ny vectors: NaN right after them */
				for (int i = 0; i < 8; i++)
					x[nx * dim + i] = y[ny * dim + i] = NAN;
				for (size_t i = 0; i < stride * (MATRIX_MAX + 1); i++)
					out[i] = SENTINEL;

				ks->l2_squared_matrix(x, nx, y, ny, dim, out, stride);

				for (size_t i = 0; i <= nx; i++)
					for (size_t j = 0; j < stride; j++)
					{
						float		got = out[i * stride + j];
						float		want = SENTINEL;

						if (i < nx && j < ny)
							want = ks->l2_squared(x + i * dim, y + j * dim, dim);
						if (memcmp(&got, &want, sizeof(float)) != 0 && failures++ < 3)
							tap_diag("dim %d, %zu x %zu: out[%zu][%zu] = %.9g, expected %.9g",
									 dim, nx, ny, i, j, got, want);
					}

				/* restore the vectors the NaNs overwrote */
				Seed(dim, TRIALS + 2);
				for (int i = 0; i < dim * MATRIX_MAX; i++)
				{
					x[i] = Mixed();
					y[i] = Mixed();
				}
			}
		}
		free(x);
		free(y);
		free(out);
	}
	return failures == 0;
}

/*
 * The gather form of op equals the single form bit for bit, for n =
 * 0..GATHER_MAX vectors, and writes nothing past out[n - 1].  Each vector
 * sits in an allocation of its own, at an offset of 0..3 floats (so
 * unaligned), in an order unrelated to its address, and is followed by 8
 * NaN floats, so a read past its end would show in the results.
 */
static bool
CheckGather(const VectorKernels *ks, const DimClass *dc, Op op)
{
	int			failures = 0;

	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *q = NewVector(dim);
		float	   *storage[GATHER_MAX];
		const float *vectors[GATHER_MAX];

		Seed(dim, TRIALS + 4);
		for (int i = 0; i < dim; i++)
			q[i] = Mixed();
		for (int v = 0; v < GATHER_MAX; v++)
		{
			int			offset = v % 4;

			storage[v] = NewVector(offset + dim + 8);
			for (int i = 0; i < dim; i++)
				storage[v][offset + i] = Mixed();
			for (int i = 0; i < 8; i++)
				storage[v][offset + dim + i] = NAN;
		}
		/* vector v is allocation 7 v mod GATHER_MAX (19 is prime) */
		for (int v = 0; v < GATHER_MAX; v++)
		{
			int			a = (7 * v) % GATHER_MAX;

			vectors[v] = storage[a] + a % 4;
		}

		for (size_t n = 0; n <= GATHER_MAX; n++)
		{
			float		out[GATHER_MAX + 1];

			for (size_t i = 0; i <= n; i++)
				out[i] = SENTINEL;
			if (op == OP_L2)
				ks->l2_squared_gather(q, vectors, n, dim, out);
			else
				ks->inner_product_gather(q, vectors, n, dim, out);
			CompareWithSingle(ks, op, q, vectors, n, dim, out, &failures);
		}
		free(q);
		for (int v = 0; v < GATHER_MAX; v++)
			free(storage[v]);
	}
	return failures == 0;
}

/*
 * Each element is counted exactly once and nothing outside the vector is
 * read: a = 3 and b = -2 at one position p, 0 elsewhere, NaN in the 8 floats
 * on either side of both vectors.  The results are exact.  All positions of
 * short vectors are tried, and the first and last EDGE of long ones (that
 * covers every 32-, 8- and 1-float tail).
 */
static bool
CheckOneHot(const VectorKernels *ks, const DimClass *dc, Op unused)
{
	int			failures = 0;

	(void) unused;
	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *buf_a = NewVector(dim + 16);
		float	   *buf_b = NewVector(dim + 16);
		float	   *a = buf_a + 8;
		float	   *b = buf_b + 8;

		for (int i = 0; i < dim + 16; i++)
			buf_a[i] = buf_b[i] = NAN;
		for (int i = 0; i < dim; i++)
			a[i] = b[i] = 0.0f;

		for (int p = 0; p < dim; p++)
		{
			float		dot,
						na,
						nb;

			if (p == EDGE && dim - EDGE > p)
				p = dim - EDGE;
			a[p] = 3.0f;
			b[p] = -2.0f;
			ks->cosine_parts(a, b, dim, &dot, &na, &nb);
			if ((ks->l2_squared(a, b, dim) != 25.0f ||
				 ks->inner_product(a, b, dim) != -6.0f ||
				 ks->l1(a, b, dim) != 5.0f ||
				 dot != -6.0f || na != 9.0f || nb != 4.0f) &&
				failures++ < 3)
				tap_diag("dim %d: element %d not counted exactly once", dim, p);
			a[p] = b[p] = 0.0f;
		}
		free(buf_a);
		free(buf_b);
	}
	return failures == 0;
}

/*
 * Cosine distance through the kernels: a and -a give exactly 2 and a and
 * a exactly 0 (the three sums see the same products); a and 3a lie within
 * [0, e] and a and -3a within [2 - e, 2], e = 3 gamma_n plus 2^-40 because
 * float 3a is not exactly parallel to a; a zero vector gives NaN.
 * 1 - similarity stays within 3 gamma_n because dot, norm_a and norm_b are
 * sums of same-sign terms, each within a relative gamma_n.
 */
static bool
CheckCosine(const VectorKernels *ks, const DimClass *dc, Op unused)
{
	int			failures = 0;
	int			clamped = 0;

	(void) unused;
	for (int c = 0; c < dc->count; c++)
	{
		int			dim = dc->dims[c];
		float	   *a = NewVector(dim);
		float	   *b = NewVector(dim);
		float	   *zero = NewVector(dim);
		double		e = 3.0 * Gamma(dim) * SLACK + 0x1p-40;
		double		same,
					opposite,
					parallel,
					antiparallel,
					with_zero;
		float		dot,
					na,
					nb;

		Seed(dim, TRIALS + 1);
		for (int i = 0; i < dim; i++)
		{
			a[i] = Mixed();
			zero[i] = 0.0f;
		}
		/* a vector of zeros only would itself be a zero vector */
		a[0] = 1.0f;

		ks->cosine_parts(a, a, dim, &dot, &na, &nb);
		same = VectorCosineDistanceFromParts(dot, na, nb);
		for (int i = 0; i < dim; i++)
			b[i] = -a[i];
		ks->cosine_parts(a, b, dim, &dot, &na, &nb);
		opposite = VectorCosineDistanceFromParts(dot, na, nb);
		for (int i = 0; i < dim; i++)
			b[i] = 3.0f * a[i];
		ks->cosine_parts(a, b, dim, &dot, &na, &nb);
		parallel = VectorCosineDistanceFromParts(dot, na, nb);
		clamped += (double) dot / sqrt((double) na * (double) nb) > 1.0;
		for (int i = 0; i < dim; i++)
			b[i] = -b[i];
		ks->cosine_parts(a, b, dim, &dot, &na, &nb);
		antiparallel = VectorCosineDistanceFromParts(dot, na, nb);
		clamped += (double) dot / sqrt((double) na * (double) nb) < -1.0;
		ks->cosine_parts(zero, a, dim, &dot, &na, &nb);
		with_zero = VectorCosineDistanceFromParts(dot, na, nb);

		if ((same != 0.0 || opposite != 2.0 ||
			 !(parallel >= 0.0 && parallel <= e) ||
			 !(antiparallel >= 2.0 - e && antiparallel <= 2.0) ||
			 !isnan(with_zero)) && failures++ < 3)
			tap_diag("dim %d: same %.17g, opposite %.17g, parallel %.17g, "
					 "antiparallel %.17g, with zero %g, e %.3g", dim, same,
					 opposite, parallel, antiparallel, with_zero, e);
		free(a);
		free(b);
		free(zero);
	}
	tap_diag("%s cosine, %s: similarity clamped %d times", ks->name, dc->name,
			 clamped);
	return failures == 0;
}

typedef struct Check
{
	const char *name;
	bool		(*run) (const VectorKernels *ks, const DimClass *dc, Op op);
	Op			op;
} Check;

static const Check checks[] = {
	{"l2_squared within error bound", CheckBound, OP_L2},
	{"inner_product within error bound", CheckBound, OP_IP},
	{"l1 within error bound", CheckBound, OP_L1},
	{"cosine_parts within error bound", CheckCosineParts, OP_IP},
	{"l2_squared_batch equals l2_squared", CheckBatch, OP_L2},
	{"inner_product_batch equals inner_product", CheckBatch, OP_IP},
	{"l2_squared_matrix equals l2_squared", CheckMatrix, OP_L2},
	{"l2_squared_gather equals l2_squared", CheckGather, OP_L2},
	{"inner_product_gather equals inner_product", CheckGather, OP_IP},
	{"every element counted once, nothing outside read", CheckOneHot, OP_IP},
	{"cosine distance of equal, (anti)parallel and zero vectors", CheckCosine, OP_IP},
};

#define NCHECKS ((int) (sizeof(checks) / sizeof(checks[0])))
#define NCLASSES ((int) (sizeof(classes) / sizeof(classes[0])))

static void
CheckKernelSet(const VectorKernels *ks, const char *label, bool available)
{
	for (int c = 0; c < NCLASSES; c++)
		for (int k = 0; k < NCHECKS; k++)
		{
			if (available)
				tap_ok(checks[k].run(ks, &classes[c], checks[k].op), "%s %s, %s",
					   label, checks[k].name, classes[c].name);
			else
				tap_skip("CPU lacks AVX2+FMA", "%s %s, %s", label,
						 checks[k].name, classes[c].name);
		}
}

/* ---- checks without kernels ---- */

#define NFIXED 6

static void
TestCosineFromParts(void)
{
	tap_ok(VectorCosineDistanceFromParts(3.0f, 4.0f, 9.0f) == 0.5,
		   "cosine distance from parts (3, 4, 9) is 0.5");
	tap_ok(isnan(VectorCosineDistanceFromParts(0.0f, 0.0f, 9.0f)) &&
		   isnan(VectorCosineDistanceFromParts(0.0f, 4.0f, 0.0f)) &&
		   isnan(VectorCosineDistanceFromParts(0.0f, 0.0f, 0.0f)),
		   "cosine distance with a zero norm is NaN");
	tap_ok(VectorCosineDistanceFromParts(2.0f, 1.0f, 1.0f) == 0.0 &&
		   VectorCosineDistanceFromParts(1.0000001f, 1.0f, 1.0f) == 0.0,
		   "similarity above 1 is clamped to distance 0");
	tap_ok(VectorCosineDistanceFromParts(-2.0f, 1.0f, 1.0f) == 2.0 &&
		   VectorCosineDistanceFromParts(-1.0000001f, 1.0f, 1.0f) == 2.0,
		   "similarity below -1 is clamped to distance 2");
}

static void
TestDispatch(bool has_avx2)
{
	tap_ok(strcmp(VectorKernelsScalar.name, "scalar") == 0 &&
		   (!has_avx2 || strcmp(VectorKernelsAvx2.name, "avx2") == 0),
		   "kernel sets are named scalar and avx2");
	tap_ok(VectorKernelsBest() ==
		   (has_avx2 ? &VectorKernelsAvx2 : &VectorKernelsScalar),
		   "VectorKernelsBest picks avx2 exactly when the CPU has it");
}

int
main(void)
{
	bool		has_avx2 = VectorCpuHasAvx2Fma();

	tap_plan(NFIXED + 2 * NCLASSES * NCHECKS);
	tap_diag("CPU has AVX2+FMA: %s", has_avx2 ? "yes" : "no");
	InitClasses();

	TestCosineFromParts();
	TestDispatch(has_avx2);
	CheckKernelSet(&VectorKernelsScalar, "scalar", true);
	CheckKernelSet(&VectorKernelsAvx2, "avx2", has_avx2);
	return tap_done();
}
