/*
 * write_dataset.c
 *	  Our writer's side of the interop suite: write a new Lance dataset with
 *	  the Lance library (data files + manifest), for LanceDB to open.
 *
 *	  write_dataset DIR KIND VERSION ROWS FRAGMENTS
 *	  write_dataset delete DIR MODULUS
 *
 * DIR must not exist yet (its parent must).  KIND is one of the tables of
 * lib/formulas.js (wide, simple, simple_nullvec), VERSION is 2.0 or 2.1,
 * and the ROWS rows (ids 0..ROWS-1) are split evenly over FRAGMENTS data
 * files, fragments 0..FRAGMENTS-1, committed as version 1 (V2 naming).
 * Every value is a formula of the row number, computed here exactly as
 * lib/formulas.js computes it, so the suite knows what LanceDB must read
 * back without passing data between the programs; keep the two in step.
 * The second form commits one more version of an existing dataset in which
 * every row whose id is a multiple of MODULUS is deleted (ids are the row
 * numbers, counted through the fragments in order), one deletion-file commit
 * per fragment through LanceDatasetDelete.
 * Errors go to stderr with exit status 1 (2 for usage).
 */
#include "lance/lance.h"
#include "lance/lance_dataset.h"
#include "lance/lance_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_COLUMNS 16

typedef struct Kind
{
	const char *name;
	int			dim;			/* vec dimension */
	bool		null_vec;		/* some vec rows are null */
	bool		null_text;		/* some text rows are null */
	bool		wide;			/* the extra columns of part B */
} Kind;

static const Kind kinds[] = {
	{"wide", 32, true, true, true},
	{"simple", 128, false, true, false},
	{"simple_nullvec", 128, true, false, false},
};

/* ---------------------------------------------------------------------------
 * The formulas (lib/formulas.js)
 * ------------------------------------------------------------------------- */

static float
vec_item(int64_t i, int j)
{
	return (float) ((i * 37 + j * 11) % 401 - 200) / 32.0f;
}

static bool
vec_null(const Kind *k, int64_t i)
{
	return k->null_vec && i % 11 == 4;
}

static bool
text_null(const Kind *k, int64_t i)
{
	return k->null_text && i % 5 == 2;
}

/* float16 bits of a value that is exactly representable as a normal half
 * or zero (the formula only produces multiples of 1/4 up to 25). */
static uint16_t
half_bits(float x)
{
	uint32_t	b;
	uint16_t	sign;
	int			exp;

	memcpy(&b, &x, 4);
	sign = (uint16_t) ((b >> 16) & 0x8000);
	if ((b & 0x7fffffff) == 0)
		return sign;
	exp = (int) ((b >> 23) & 0xff) - 127 + 15;
	return (uint16_t) (sign | (exp << 10) | ((b >> 13) & 0x3ff));
}

/* ---------------------------------------------------------------------------
 * Column buffers
 * ------------------------------------------------------------------------- */

/* The buffers of one column of one fragment, freed together. */
typedef struct Buffers
{
	uint8_t    *validity;
	void	   *offsets;
	void	   *values;
	void	   *child_values;
	uint8_t    *child_validity;
} Buffers;

static void *
xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
	{
		fprintf(stderr, "write_dataset: out of memory\n");
		exit(1);
	}
	return p;
}

/* A validity bitmap for rows [first, first+n) from a predicate; NULL and
 * *nulls = 0 when no row is null. */
static uint8_t *
make_validity(const Kind *k, bool (*is_null) (const Kind *, int64_t), int64_t first,
			  int64_t n, int64_t *nulls)
{
	uint8_t    *bits = xcalloc((size_t) (n + 7) / 8, 1);

	*nulls = 0;
	for (int64_t r = 0; r < n; r++)
	{
		if (is_null(k, first + r))
			(*nulls)++;
		else
			bits[r >> 3] |= (uint8_t) (1 << (r & 7));
	}
	if (*nulls == 0)
	{
		free(bits);
		return NULL;
	}
	return bits;
}

static bool i32_null(const Kind *k, int64_t i) { (void) k; return i % 13 == 0; }
static bool flag_null(const Kind *k, int64_t i) { (void) k; return i % 17 == 5; }
static bool date_null(const Kind *k, int64_t i) { (void) k; return i % 19 == 0; }
static bool bin_null(const Kind *k, int64_t i) { (void) k; return i % 23 == 1; }
static bool half_null(const Kind *k, int64_t i) { (void) k; return i % 29 == 3; }
static bool never_null(const Kind *k, int64_t i) { (void) k; (void) i; return false; }
static bool list_null(const Kind *k, int64_t i) { (void) k; return i % 5 == 2; }
static bool nv_null(const Kind *k, int64_t i) { (void) k; return i % 7 == 3; }

/* lf list<float32>: i % 4 + 1 items, none when i % 5 == 4 */
static int
list_len(int64_t i)
{
	return i % 5 == 4 ? 0 : (int) (i % 4) + 1;
}

static float
list_item(int64_t i, int j)
{
	return (float) ((i * 7 + j * 3) % 50 - 25) / 4.0f;
}

static bool
list_item_null(int64_t i, int j)
{
	return (i + j) % 6 == 5;
}

/* nv fixed_size_list<float32, 4> items */
static float
nv_item(int64_t i, int j)
{
	return (float) ((i * 5 + j * 13) % 60 - 30) / 8.0f;
}

static bool
nv_item_null(int64_t i, int j)
{
	return (i * 4 + j) % 5 == 2;
}

/*
 * Column c as a nullable fixed_size_list<item, dim> of the n rows from
 * 'first': the child is 'values' (n * dim items) with 'item_validity' (NULL:
 * no null item), rows are null where 'is_null' says; bufs[c] takes the
 * buffers.
 */
static void
fsl_column(const Kind *k, int c, const char *name, LanceTypeId item, int dim, int64_t first,
		   int64_t n, void *values, uint8_t *item_validity, int64_t item_nulls,
		   bool (*is_null) (const Kind *, int64_t), LanceField *fields, LanceColumn *columns,
		   LanceColumn *child, Buffers *bufs)
{
	int64_t		nulls;

	child[c] = (LanceColumn) {.type = item, .length = n * dim, .null_count = item_nulls,
	.validity = item_validity, .values = values};
	bufs[c].child_values = values;
	bufs[c].child_validity = item_validity;
	bufs[c].validity = make_validity(k, is_null, first, n, &nulls);
	fields[c] = (LanceField) {.name = (char *) name, .type = LANCE_TYPE_FIXED_SIZE_LIST,
		.nullable = true, .item_type = item, .list_size = dim};
	columns[c] = (LanceColumn) {.type = LANCE_TYPE_FIXED_SIZE_LIST, .length = n,
		.null_count = nulls, .validity = bufs[c].validity, .child = &child[c], .list_size = dim};
}

/*
 * Schema and columns of rows [first, first+n).  'fields' and 'columns' get
 * one entry per top-level column; 'child' holds the fixed-size-list items.
 */
static int
build_columns(const Kind *k, int64_t first, int64_t n, LanceField *fields,
			  LanceColumn *columns, LanceColumn *child, Buffers *bufs)
{
	int			c = 0;
	int64_t		nulls;

	memset(fields, 0, sizeof(LanceField) * MAX_COLUMNS);
	memset(columns, 0, sizeof(LanceColumn) * MAX_COLUMNS);
	memset(child, 0, sizeof(LanceColumn) * MAX_COLUMNS);
	memset(bufs, 0, sizeof(Buffers) * MAX_COLUMNS);

	/* id int64 not null */
	{
		int64_t    *v = xcalloc((size_t) n, 8);

		for (int64_t r = 0; r < n; r++)
			v[r] = first + r;
		fields[c] = (LanceField) {.name = "id", .type = LANCE_TYPE_INT64, .nullable = false};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_INT64, .length = n, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* vec fixed_size_list<float32, dim>, null rows per the kind */
	{
		float	   *v = xcalloc((size_t) (n * k->dim), 4);

		for (int64_t r = 0; r < n; r++)
			for (int j = 0; j < k->dim; j++)
				v[r * k->dim + j] = vec_item(first + r, j);
		fsl_column(k, c++, "vec", LANCE_TYPE_FLOAT32, k->dim, first, n, v, NULL, 0, vec_null,
				   fields, columns, child, bufs);
	}
	/* text utf8: "row <i> " + 'x' * (i % 7) */
	{
		int32_t    *off = xcalloc((size_t) n + 1, 4);
		char	   *bytes = xcalloc((size_t) n, 32);

		bufs[c].validity = make_validity(k, text_null, first, n, &nulls);
		for (int64_t r = 0; r < n; r++)
		{
			int64_t		i = first + r;
			int			len = 0;

			if (!text_null(k, i))
			{
				len = sprintf(bytes + off[r], "row %lld ", (long long) i);
				for (int x = 0; x < i % 7; x++)
					bytes[off[r] + len++] = 'x';
			}
			off[r + 1] = off[r] + len;
		}
		fields[c] = (LanceField) {.name = "text", .type = LANCE_TYPE_UTF8, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_UTF8, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .offsets = off, .values = bytes};
		bufs[c].offsets = off;
		bufs[c].values = bytes;
		c++;
	}
	if (!k->wide)
		return c;

	/* i32 int32: (i * 7919) % 100003 - 50000, null when i % 13 == 0 */
	{
		int32_t    *v = xcalloc((size_t) n, 4);

		for (int64_t r = 0; r < n; r++)
			v[r] = (int32_t) (((first + r) * 7919) % 100003 - 50000);
		bufs[c].validity = make_validity(k, i32_null, first, n, &nulls);
		fields[c] = (LanceField) {.name = "i32", .type = LANCE_TYPE_INT32, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_INT32, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* f64 double: i * 0.25 - 100.5, no nulls */
	{
		double	   *v = xcalloc((size_t) n, 8);

		for (int64_t r = 0; r < n; r++)
			v[r] = (double) (first + r) * 0.25 - 100.5;
		fields[c] = (LanceField) {.name = "f64", .type = LANCE_TYPE_FLOAT64, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_FLOAT64, .length = n, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* flag bool: i % 3 == 0, null when i % 17 == 5 */
	{
		uint8_t    *v = xcalloc((size_t) (n + 7) / 8, 1);

		for (int64_t r = 0; r < n; r++)
			if ((first + r) % 3 == 0)
				v[r >> 3] |= (uint8_t) (1 << (r & 7));
		bufs[c].validity = make_validity(k, flag_null, first, n, &nulls);
		fields[c] = (LanceField) {.name = "flag", .type = LANCE_TYPE_BOOL, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_BOOL, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* d date32: 18000 + i days, null when i % 19 == 0 */
	{
		int32_t    *v = xcalloc((size_t) n, 4);

		for (int64_t r = 0; r < n; r++)
			v[r] = (int32_t) (18000 + first + r);
		bufs[c].validity = make_validity(k, date_null, first, n, &nulls);
		fields[c] = (LanceField) {.name = "d", .type = LANCE_TYPE_DATE32, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_DATE32, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* ts timestamp[us]: 1600000000000000 + i * 1000001, no nulls, no time zone */
	{
		int64_t    *v = xcalloc((size_t) n, 8);

		for (int64_t r = 0; r < n; r++)
			v[r] = 1600000000000000LL + (first + r) * 1000001LL;
		fields[c] = (LanceField) {.name = "ts", .type = LANCE_TYPE_TIMESTAMP_US, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_TIMESTAMP_US, .length = n, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* bin binary: i % 5 bytes (i + 7j) & 255, null when i % 23 == 1 */
	{
		int32_t    *off = xcalloc((size_t) n + 1, 4);
		uint8_t    *bytes = xcalloc((size_t) n, 5);

		bufs[c].validity = make_validity(k, bin_null, first, n, &nulls);
		for (int64_t r = 0; r < n; r++)
		{
			int64_t		i = first + r;
			int			len = bin_null(k, i) ? 0 : (int) (i % 5);

			for (int j = 0; j < len; j++)
				bytes[off[r] + j] = (uint8_t) ((i + 7 * j) & 255);
			off[r + 1] = off[r] + len;
		}
		fields[c] = (LanceField) {.name = "bin", .type = LANCE_TYPE_BINARY, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_BINARY, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .offsets = off, .values = bytes};
		bufs[c].offsets = off;
		bufs[c].values = bytes;
		c++;
	}
	/* h float16: (i % 200 - 100) / 4, null when i % 29 == 3 */
	{
		uint16_t   *v = xcalloc((size_t) n, 2);

		for (int64_t r = 0; r < n; r++)
			v[r] = half_bits((float) ((first + r) % 200 - 100) / 4.0f);
		bufs[c].validity = make_validity(k, half_null, first, n, &nulls);
		fields[c] = (LanceField) {.name = "h", .type = LANCE_TYPE_FLOAT16, .nullable = true};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_FLOAT16, .length = n, .null_count = nulls,
		.validity = bufs[c].validity, .values = v};
		bufs[c].values = v;
		c++;
	}
	/* u8v fixed_size_list<uint8, 8>: (i + 31j) & 255, no nulls */
	{
		uint8_t    *v = xcalloc((size_t) n, 8);

		for (int64_t r = 0; r < n; r++)
			for (int j = 0; j < 8; j++)
				v[r * 8 + j] = (uint8_t) ((first + r + j * 31) & 255);
		fsl_column(k, c++, "u8v", LANCE_TYPE_UINT8, 8, first, n, v, NULL, 0, never_null,
				   fields, columns, child, bufs);
	}
	/*
	 * lf list<float32>: null when i % 5 == 2, empty when i % 5 == 4, else
	 * i % 4 + 1 items ((i * 7 + 3j) % 50 - 25) / 4, null when (i + j) % 6 == 5.
	 * item_type tells write_fragment the item field to add.
	 */
	{
		int32_t    *off = xcalloc((size_t) n + 1, 4);
		float	   *v = xcalloc((size_t) n * 4, 4);
		uint8_t    *iv = xcalloc((size_t) (n * 4 + 7) / 8, 1);
		int64_t		items = 0,
					item_nulls = 0;

		for (int64_t r = 0; r < n; r++)
		{
			int64_t		i = first + r;

			for (int j = 0; !list_null(k, i) && j < list_len(i); j++, items++)
			{
				v[items] = list_item(i, j);
				if (list_item_null(i, j))
					item_nulls++;
				else
					iv[items >> 3] |= (uint8_t) (1 << (items & 7));
			}
			off[r + 1] = (int32_t) items;
		}
		child[c] = (LanceColumn) {.type = LANCE_TYPE_FLOAT32, .length = items,
		.null_count = item_nulls, .validity = iv, .values = v};
		bufs[c].child_values = v;
		bufs[c].child_validity = iv;
		bufs[c].offsets = off;
		bufs[c].validity = make_validity(k, list_null, first, n, &nulls);
		fields[c] = (LanceField) {.name = "lf", .type = LANCE_TYPE_LIST, .nullable = true,
		.item_type = LANCE_TYPE_FLOAT32};
		columns[c] = (LanceColumn) {.type = LANCE_TYPE_LIST, .length = n, .null_count = nulls,
			.validity = bufs[c].validity, .offsets = off, .child = &child[c]};
		c++;
	}
	/*
	 * nv fixed_size_list<float32, 4>: ((5i + 13j) % 60 - 30) / 8, null rows
	 * when i % 7 == 3, null items when (4i + j) % 5 == 2 (in null rows too)
	 */
	{
		float	   *v = xcalloc((size_t) n * 4, 4);
		uint8_t    *iv = xcalloc((size_t) (n * 4 + 7) / 8, 1);
		int64_t		item_nulls = 0;

		for (int64_t r = 0; r < n; r++)
			for (int j = 0; j < 4; j++)
			{
				int64_t		t = r * 4 + j;

				v[t] = nv_item(first + r, j);
				if (nv_item_null(first + r, j))
					item_nulls++;
				else
					iv[t >> 3] |= (uint8_t) (1 << (t & 7));
			}
		fsl_column(k, c++, "nv", LANCE_TYPE_FLOAT32, 4, first, n, v, iv, item_nulls, nv_null,
				   fields, columns, child, bufs);
	}
	return c;
}

static void
free_buffers(Buffers *bufs, int count)
{
	for (int c = 0; c < count; c++)
	{
		free(bufs[c].validity);
		free(bufs[c].offsets);
		free(bufs[c].values);
		free(bufs[c].child_values);
		free(bufs[c].child_validity);
	}
}

/* ---------------------------------------------------------------------------
 * The dataset
 * ------------------------------------------------------------------------- */

static int
fail(const char *what, int code, const LanceError *error)
{
	fprintf(stderr, "write_dataset: %s: %s (%s)\n", what, LanceErrorMessage(error), strerror(code));
	return 1;
}

/* Write data/<fragment>.lance for rows [first, first+n) and describe it as
 * fragment 'fragment_id' in 'frag' (whose arrays the caller frees). */
static int
write_fragment(const char *dir, const Kind *k, LanceFileVersion version, uint32_t fragment_id,
			   int64_t first, int64_t n, LanceSchema *schema_out, LanceFragment *frag,
			   LanceDataFile *file, int32_t *field_ids, int32_t *column_indices,
			   char *file_name, size_t file_name_size)
{
	LanceField	fields[MAX_COLUMNS];
	LanceColumn columns[MAX_COLUMNS];
	LanceColumn child[MAX_COLUMNS];
	Buffers		bufs[MAX_COLUMNS];
	LanceSchema schema;
	LanceFileWriterOptions options;
	LanceFileWriter *writer = NULL;
	LanceError	error = {{0}};
	char		path[4096];
	uint64_t	size = 0;
	int			ncols;
	int			rc;

	ncols = build_columns(k, first, n, fields, columns, child, bufs);
	/* field ids in pre-order: a list, then its item field */
	LanceSchemaInit(&schema, NULL);
	for (int c = 0; c < ncols; c++)
	{
		fields[c].id = schema.num_fields;
		fields[c].parent_id = -1;
		if ((rc = LanceSchemaAddField(&schema, &fields[c], &error)) != 0)
			return fail("schema", rc, &error);
		if (fields[c].type == LANCE_TYPE_LIST)
		{
			LanceField	item = {.name = "item", .id = schema.num_fields, .parent_id = fields[c].id,
			.type = fields[c].item_type, .nullable = true};

			if ((rc = LanceSchemaAddField(&schema, &item, &error)) != 0)
				return fail("schema", rc, &error);
		}
	}

	snprintf(file_name, file_name_size, "fragment-%u.lance", fragment_id);
	snprintf(path, sizeof(path), "%s/data/%s", dir, file_name);
	LanceFileWriterOptionsInit(&options);
	options.version = version;
	if ((rc = LanceFileWriterOpenPath(&writer, path, &schema, &options, &error)) != 0 ||
		(rc = LanceFileWriterWrite(writer, columns, ncols, &error)) != 0 ||
		(rc = LanceFileWriterFinish(writer, &size, &error)) != 0)
	{
		LanceFileWriterClose(writer);
		return fail(path, rc, &error);
	}
	LanceFileWriterClose(writer);
	free_buffers(bufs, ncols);

	/* every field has a column in 2.0; in 2.1 a list's is its item's */
	for (int32_t f = 0, col = 0; f < schema.num_fields; f++)
	{
		field_ids[f] = f;
		column_indices[f] = version == LANCE_FILE_VERSION_2_1 &&
			schema.fields[f].type == LANCE_TYPE_LIST ? -1 : col++;
	}
	memset(file, 0, sizeof(*file));
	file->path = file_name;
	file->fields = field_ids;
	file->column_indices = column_indices;
	file->num_fields = schema.num_fields;
	file->num_column_indices = schema.num_fields;
	file->major_version = 2;
	file->minor_version = version == LANCE_FILE_VERSION_2_0 ? 0 : 1;
	file->size_bytes = size;

	memset(frag, 0, sizeof(*frag));
	frag->id = fragment_id;
	frag->files = file;
	frag->num_files = 1;
	frag->physical_rows = (uint64_t) n;

	if (schema_out)
	{
		LanceSchemaInit(schema_out, NULL);
		if ((rc = LanceSchemaCopy(schema_out, &schema, &error)) != 0)
			return fail("schema", rc, &error);
	}
	LanceSchemaReset(&schema);
	return 0;
}

/* The manifest's fields (lance.file.Field) for a schema of top-level
 * fields; 'logical' holds the type strings (64 bytes each). */
static int
manifest_fields(const LanceSchema *schema, LanceManifestField *out, char (*logical)[64])
{
	LanceError	error = {{0}};
	int			rc;

	for (int32_t i = 0; i < schema->num_fields; i++)
	{
		const LanceField *f = &schema->fields[i];
		bool		var = f->type == LANCE_TYPE_UTF8 || f->type == LANCE_TYPE_BINARY ||
			f->type == LANCE_TYPE_LARGE_UTF8 || f->type == LANCE_TYPE_LARGE_BINARY;

		if ((rc = LanceLogicalTypeFormat(f, logical[i], 64, &error)) != 0)
			return fail("logical type", rc, &error);
		memset(&out[i], 0, sizeof(out[i]));
		out[i].name = f->name;
		out[i].id = f->id;
		out[i].parent_id = f->parent_id;
		out[i].logical_type = logical[i];
		out[i].nullable = f->nullable;
		out[i].encoding = var ? 2 : 1;	/* VAR_BINARY : PLAIN, as lance writes */
		out[i].extension_name = "";
	}
	return 0;
}

/* write_dataset delete DIR MODULUS */
static int
delete_rows(const char *dir, long modulus)
{
	LanceDataset ds;
	LanceError	error = {{0}};
	uint64_t	first_id = 0;
	int32_t		num_fragments;
	uint64_t   *fragment_ids;
	uint64_t   *physical_rows;
	int			rc;

	if ((rc = LanceDatasetOpen(&ds, dir, 0, NULL, &error)) != 0)
		return fail("open", rc, &error);
	/* Commits replace ds.manifest, so take the fragment list first. */
	num_fragments = ds.manifest.num_fragments;
	fragment_ids = xcalloc((size_t) num_fragments, sizeof(uint64_t));
	physical_rows = xcalloc((size_t) num_fragments, sizeof(uint64_t));
	for (int32_t f = 0; f < num_fragments; f++)
	{
		fragment_ids[f] = ds.manifest.fragments[f].id;
		physical_rows[f] = ds.manifest.fragments[f].physical_rows;
	}
	for (int32_t f = 0; f < num_fragments; f++)
	{
		uint32_t   *rows = xcalloc((size_t) physical_rows[f] + 1, sizeof(uint32_t));
		int64_t		n = 0;

		for (uint64_t r = 0; r < physical_rows[f]; r++)
			if ((first_id + r) % (uint64_t) modulus == 0)
				rows[n++] = (uint32_t) r;
		first_id += physical_rows[f];
		rc = LanceDatasetDelete(&ds, fragment_ids[f], rows, n, &error);
		free(rows);
		if (rc != 0)
			return fail("delete", rc, &error);
	}
	LanceDatasetClose(&ds);
	free(fragment_ids);
	free(physical_rows);
	return 0;
}

int
main(int argc, char **argv)
{
	const Kind *k = NULL;
	LanceFileVersion version;
	LanceManifest draft;
	LanceManifest manifest;
	LanceSchema schema;
	LanceManifestField fields[MAX_COLUMNS];
	char		logical[MAX_COLUMNS][64];
	LanceFragment *frags;
	LanceDataFile *files;
	int32_t    (*ids)[MAX_COLUMNS];
	int32_t    (*cols)[MAX_COLUMNS];
	char	   (*names)[64];
	LanceError	error = {{0}};
	struct timespec now;
	char		data_dir[4096];
	long long	rows;
	long		fragments;
	int			rc;

	if (argc == 4 && strcmp(argv[1], "delete") == 0)
	{
		long		modulus = atol(argv[3]);

		if (modulus <= 0)
		{
			fprintf(stderr, "write_dataset: MODULUS must be positive\n");
			return 2;
		}
		return delete_rows(argv[2], modulus);
	}
	if (argc != 6)
	{
		fprintf(stderr, "usage: write_dataset DIR KIND VERSION ROWS FRAGMENTS\n"
				"       write_dataset delete DIR MODULUS\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(argv[2], kinds[i].name) == 0)
			k = &kinds[i];
	if (strcmp(argv[3], "2.0") == 0)
		version = LANCE_FILE_VERSION_2_0;
	else if (strcmp(argv[3], "2.1") == 0)
		version = LANCE_FILE_VERSION_2_1;
	else
		k = NULL;
	rows = atoll(argv[4]);
	fragments = atol(argv[5]);
	if (k == NULL || rows <= 0 || fragments <= 0 || fragments > 1000 || rows % fragments != 0)
	{
		fprintf(stderr, "write_dataset: bad KIND, VERSION, ROWS or FRAGMENTS "
				"(kinds: wide, simple, simple_nullvec; versions 2.0, 2.1; ROWS a multiple of FRAGMENTS)\n");
		return 2;
	}

	snprintf(data_dir, sizeof(data_dir), "%s/data", argv[1]);
	if (mkdir(argv[1], 0755) != 0 || mkdir(data_dir, 0755) != 0)
	{
		fprintf(stderr, "write_dataset: cannot create %s: %s\n", data_dir, strerror(errno));
		return 1;
	}

	/* The data files, one fragment each. */
	frags = xcalloc((size_t) fragments, sizeof(*frags));
	files = xcalloc((size_t) fragments, sizeof(*files));
	ids = xcalloc((size_t) fragments, sizeof(*ids));
	cols = xcalloc((size_t) fragments, sizeof(*cols));
	names = xcalloc((size_t) fragments, sizeof(*names));
	for (long f = 0; f < fragments; f++)
	{
		int64_t		per = rows / fragments;

		if (write_fragment(argv[1], k, version, (uint32_t) f, f * per, per,
						   f == 0 ? &schema : NULL, &frags[f], &files[f], ids[f], cols[f],
						   names[f], sizeof(names[f])) != 0)
			return 1;
	}
	if (manifest_fields(&schema, fields, logical) != 0)
		return 1;

	/*
	 * Version 1: a draft that borrows our arrays and strings, deep-copied
	 * into a manifest that owns them (LanceManifestCopy), then committed.
	 */
	clock_gettime(CLOCK_REALTIME, &now);
	LanceManifestInit(&draft, NULL);
	draft.fields = fields;
	draft.num_fields = schema.num_fields;
	draft.fragments = frags;
	draft.num_fragments = (int32_t) fragments;
	draft.version = 1;
	draft.timestamp_seconds = now.tv_sec;
	draft.timestamp_nanos = (int32_t) now.tv_nsec;
	draft.has_max_fragment_id = true;
	draft.max_fragment_id = (uint32_t) (fragments - 1);
	draft.transaction_file = "";
	draft.writer_library = "lancedb-interop";
	draft.writer_version = "0.1.0";
	draft.data_format = "lance";
	draft.data_format_version = version == LANCE_FILE_VERSION_2_0 ? "2.0" : "2.1";

	LanceManifestInit(&manifest, NULL);
	if ((rc = LanceManifestCopy(&manifest, &draft, &error)) != 0)
		return fail("manifest", rc, &error);
	if ((rc = LanceManifestCommit(argv[1], &manifest, LANCE_NAMING_V2, &error)) != 0)
		return fail("commit", rc, &error);

	LanceManifestReset(&manifest);
	LanceSchemaReset(&schema);
	free(frags);
	free(files);
	free(ids);
	free(cols);
	free(names);
	return 0;
}
