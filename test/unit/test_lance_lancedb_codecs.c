/*
 * test_lance_lancedb_codecs.c
 *	  Files written by the real LanceDB (npm 0.31.0, lance 8.0.0) with its
 *	  default settings and per-field compression requests, read end to end
 *	  through the public reader API (LanceFileReader*), so that every
 *	  compressive encoding lance picks reaches the dispatcher (compress.c)
 *	  and the page decoders (decode_v21.c) the way it does on disk.
 *
 * The files and the values LanceDB was given come from
 * data/lancedb_codecs.js; the expected values are recomputed here from the
 * same formulas, and every row is compared (whole range, a sub-range across
 * chunks, and an unsorted take).
 */
#include "tap.h"

#include "lance/lance_file.h"
#include "lance/lance_internal.h"
#include "lance_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * data/lancedb_codecs_v21.lance (made by data/lancedb_codecs.js with
 * LanceDB): 2000 rows, one column per compressive encoding lance 8 picks
 * (the script's header lists them); the values are recomputed here from
 * the script's formulas.
 */
#define CODECS_ROWS 2000

static void
codecs_words(int i, char *buf, size_t len)
{
	static const char *const w[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"};
	uint32_t	h = ((uint32_t) i * 2654435761u) >> 7;

	snprintf(buf, len, "%s %s item %d %s", w[h % 8], w[(h >> 3) % 8], i, w[i % 8]);
}

/* Does row k of 'a' (column 'col' of the file) hold file row i? */
static bool
codecs_row_ok(const LanceArray *a, int col, int64_t k, int i)
{
	const LanceColumn *c = &a->column;
	char		want[64];

	switch (col)
	{
		case 0:
			return ((const int64_t *) c->values)[k] == i;
		case 1:
			return ((const int32_t *) c->values)[k] == (i / 40) % 7;
		case 2:
			if (i % 11 == 5)
				return !LanceColumnIsValid(c, k);
			codecs_words(i, want, sizeof(want));
			break;
		case 3:
		case 4:
			return ((const int64_t *) c->values)[k] == (int64_t) i * 1000 - 7;
		case 5:
			return ((const double *) c->values)[k] == i * 0.25;
		case 6:
			return ((const int64_t *) c->values)[k] == (int64_t) (i % 16) * 1000000007;
		default:
			snprintf(want, sizeof(want), "s%d", i);
	}
	{
		const int32_t *o = c->offsets;

		return LanceColumnIsValid(c, k) && (size_t) (o[k + 1] - o[k]) == strlen(want) &&
			memcmp((const char *) c->values + o[k], want, strlen(want)) == 0;
	}
}

static void
test_lancedb_codecs(void)
{
	static const char *const what[] = {
		"InlineBitpacking int64", "Rle int32", "Fsst strings, OutOfLineBitpacking def levels",
		"General zstd(ByteStreamSplit) int64", "General lz4(ByteStreamSplit) int64",
		"General zstd(ByteStreamSplit) float64", "General zstd(InlineBitpacking) int64",
		"General zstd(Variable) strings"
	};
	Fixture		fx;
	uint64_t	rows[7] = {1999, 0, 1024, 1023, 5, 777, 1500};
	LanceFileReader *r = NULL;
	LanceError	e = {{0}};
	int			rc;

	rc = fixture_open(&fx, "data/lancedb_codecs_v21.lance", &r, &e);
	tap_ok(rc == 0, "open the LanceDB codecs file (%s)", rc ? e.message : "ok");
	for (int col = 0; col < 8; col++)
	{
		LanceArray	a;
		int			bad = 0;

		LanceArrayInit(&a, NULL);
		rc = r ? LanceFileReaderReadRange(r, col, 0, CODECS_ROWS, &a, &e) : EINVAL;
		for (int i = 0; rc == 0 && i < CODECS_ROWS; i++)
			if (!codecs_row_ok(&a, col, i, i) && bad++ < 3)
				tap_diag("column %d row %d differs", col, i);
		LanceArrayReset(&a);
		/* a sub-range crossing chunks, and an unsorted take */
		if (rc == 0)
			rc = LanceFileReaderReadRange(r, col, 1000, 900, &a, &e);
		for (int i = 0; rc == 0 && i < 900; i++)
			bad += !codecs_row_ok(&a, col, i, 1000 + i);
		LanceArrayReset(&a);
		if (rc == 0)
			rc = LanceFileReaderTake(r, col, rows, 7, &a, &e);
		for (int i = 0; rc == 0 && i < 7; i++)
			bad += !codecs_row_ok(&a, col, i, (int) rows[i]);
		LanceArrayReset(&a);
		tap_ok(rc == 0 && bad == 0, "LanceDB 2.1 %s: every row by range, sub-range and take (%s)",
			   what[col], rc ? e.message : bad ? "values differ" : "2000 rows");
	}
	LanceFileReaderClose(r);
	free(fx.data);
}

/*
 * Read column 0 of the fixture at 'path' whole (nrows rows) and by an
 * unsorted take of 'take', checking every row with 'row_ok'; one assertion.
 */
static void
check_range_and_take(const char *path, int nrows, const uint64_t *take, int ntake,
					 bool (*row_ok) (const LanceArray *, int64_t, int), const char *what)
{
	Fixture		fx;
	LanceFileReader *r = NULL;
	LanceArray	a;
	LanceError	e = {{0}};
	int			bad = 0;
	int			rc;

	LanceArrayInit(&a, NULL);
	rc = fixture_open(&fx, path, &r, &e);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 0, 0, (uint64_t) nrows, &a, &e);
	for (int i = 0; rc == 0 && i < nrows; i++)
		bad += !row_ok(&a, i, i);
	LanceArrayReset(&a);
	if (rc == 0)
		rc = LanceFileReaderTake(r, 0, take, (size_t) ntake, &a, &e);
	for (int i = 0; rc == 0 && i < ntake; i++)
		bad += !row_ok(&a, i, (int) take[i]);
	tap_ok(rc == 0 && bad == 0, "%s, by range and take (%s)", what,
		   rc ? e.message : bad ? "values differ" : "all rows");
	LanceArrayReset(&a);
	LanceFileReaderClose(r);
	free(fx.data);
}

/* data/lancedb_fullzip_v21.lance: a full-zip page of FSST strings (lancedb_codecs.js) */
static bool
fullzip_row_ok(const LanceArray *a, int64_t k, int i)
{
	const int32_t *o = a->column.offsets;
	char		want[1024];
	size_t		n = 0;

	if (i % 9 == 4)
		return !LanceColumnIsValid(&a->column, k);
	for (int j = 0; j < 16; j++)
	{
		if (j > 0)
			n += (size_t) snprintf(want + n, sizeof(want) - n, " | ");
		codecs_words(i + j, want + n, sizeof(want) - n);
		n += strlen(want + n);
	}
	return LanceColumnIsValid(&a->column, k) && (size_t) (o[k + 1] - o[k]) == n &&
		memcmp((const char *) a->column.values + o[k], want, n) == 0;
}

static void
test_lancedb_fullzip_fsst(void)
{
	static const uint64_t rows[5] = {119, 4, 0, 60, 61};

	check_range_and_take("data/lancedb_fullzip_v21.lance", 120, rows, 5, fullzip_row_ok,
						 "LanceDB 2.1 full-zip Fsst strings with nulls (120 rows)");
}

/*
 * data/lancedb_dictz_v21.lance (lancedb_codecs.js): a dictionary page whose
 * indices are General zstd(ByteStreamSplit) and whose def levels are
 * out-of-line bitpacked.
 */
static bool
dictz_row_ok(const LanceArray *a, int64_t k, int i)
{
	const int32_t *o = a->column.offsets;
	char		want[160];
	int			c = (i * 7) % 40;
	int			n;

	if (i % 13 == 1)
		return !LanceColumnIsValid(&a->column, k);
	n = snprintf(want, sizeof(want), "category-number-%d-", c);
	memset(want + n, 'x', (size_t) c * 3);
	n += c * 3;
	return LanceColumnIsValid(&a->column, k) && o[k + 1] - o[k] == n &&
		memcmp((const char *) a->column.values + o[k], want, (size_t) n) == 0;
}

static void
test_lancedb_dict_general(void)
{
	static const uint64_t rows[5] = {2999, 1, 0, 1500, 14};

	check_range_and_take("data/lancedb_dictz_v21.lance", 3000, rows, 5, dictz_row_ok,
						 "LanceDB 2.1 dictionary with General zstd indices and bitpacked def levels (3000 rows)");
}

/*
 * data/lancedb_list_v20.lance (made by "node data/lancedb_list.js DIR 2.0"
 * with LanceDB): format 2.0, 30 rows of (id int64, lf list<float32>); row
 * i is null if i % 5 == 2, empty if i % 5 == 4, else i % 4 + 1 items
 * (item j = i * 10 + j, null when (i + j) % 6 == 5).  The list field's
 * column holds List-encoded offsets, the item field's column the items.
 */
static void
test_lancedb_list_v20(void)
{
	Fixture		fx;
	LanceFileReader *r = NULL;
	LanceArray	a;
	LanceError	e = {{0}};
	uint64_t	rows[8] = {29, 3, 7, 0, 3, 14, 2, 4};
	bool		ok = true;
	int			rc;

	LanceArrayInit(&a, NULL);
	rc = fixture_open(&fx, "data/lancedb_list_v20.lance", &r, &e);
	tap_ok(rc == 0 && LanceFileReaderVersion(r) == LANCE_FILE_VERSION_2_0 &&
		   LanceFileReaderNumColumns(r) == 3,
		   "LanceDB 2.0 list file opens: 3 columns (id, list offsets, items) (%s)",
		   rc ? e.message : "ok");
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 1, 0, 30, &a, &e);
	for (int i = 0; rc == 0 && i < 30; i++)
		if (!lancedb_list_row_ok(&a, i, i))
		{
			tap_diag("2.0 list row %d differs", i);
			ok = false;
		}
	tap_ok(rc == 0 && ok && a.column.type == LANCE_TYPE_LIST && a.child.type == LANCE_TYPE_FLOAT32 &&
		   a.column.null_count == 6 && a.child.length == 43,
		   "LanceDB 2.0 list<float> with null lists, empty lists and null items reads back (%s)",
		   rc ? e.message : "30 rows, 43 items");
	LanceArrayReset(&a);
	for (int first = 0; rc == 0 && first < 30; first += 7)
	{
		int			n = first + 9 <= 30 ? 9 : 30 - first;

		rc = LanceFileReaderReadRange(r, 1, (uint64_t) first, (uint64_t) n, &a, &e);
		for (int i = 0; rc == 0 && ok && i < n; i++)
			ok = lancedb_list_row_ok(&a, i, first + i);
		LanceArrayReset(&a);
	}
	tap_ok(rc == 0 && ok, "2.0 list sub-ranges (%s)", rc ? e.message : "ok");
	if (rc == 0)
		rc = LanceFileReaderTake(r, 1, rows, 8, &a, &e);
	for (int i = 0; rc == 0 && ok && i < 8; i++)
		ok = lancedb_list_row_ok(&a, i, (int) rows[i]);
	tap_ok(rc == 0 && ok && a.column.length == 8,
		   "2.0 list rows by unsorted take with repeats (%s)", rc ? e.message : "ok");
	LanceArrayReset(&a);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 1, 2, 1, &a, &e);
	tap_ok(rc == 0 && a.column.length == 1 && a.column.null_count == 1 && a.child.length == 0,
		   "a lone null 2.0 list reads as one null row, no items (%s)", rc ? e.message : "ok");
	LanceArrayReset(&a);
	LanceFileReaderClose(r);
	free(fx.data);
}

/*
 * data/lancedb_listempty_v20.lance (data/lancedb_listempty.js): 10 rows of
 * list<float32>, null when the row is odd and empty otherwise; LanceDB
 * writes the item column as one page of zero rows.
 */
static void
test_lancedb_list_v20_no_items(void)
{
	Fixture		fx;
	LanceFileReader *r = NULL;
	LanceArray	a;
	LanceError	e = {{0}};
	uint64_t	rows[4] = {9, 0, 4, 3};
	bool		ok = true;
	int			rc;

	LanceArrayInit(&a, NULL);
	rc = fixture_open(&fx, "data/lancedb_listempty_v20.lance", &r, &e);
	tap_ok(rc == 0, "LanceDB 2.0 list file whose item column is a zero-row page opens (%s)",
		   rc ? e.message : "ok");
	for (int pass = 0; rc == 0 && pass < 2; pass++)
	{
		int			n = pass == 0 ? 10 : 4;

		rc = pass == 0 ? LanceFileReaderReadRange(r, 1, 0, 10, &a, &e) :
			LanceFileReaderTake(r, 1, rows, 4, &a, &e);
		ok = ok && rc == 0 && a.column.length == n && a.child.length == 0;
		for (int k = 0; ok && k < n; k++)
		{
			int			i = pass == 0 ? k : (int) rows[k];

			ok = LanceColumnIsValid(&a.column, k) == (i % 2 == 0) &&
				((const int32_t *) a.column.offsets)[k + 1] == 0;
		}
		LanceArrayReset(&a);
	}
	tap_ok(rc == 0 && ok, "its null and empty lists read back by range and take (%s)",
		   rc ? e.message : "ok");
	LanceFileReaderClose(r);
	free(fx.data);
}

/*
 * data/lancedb_fslnull_v2{1,0}.lance (data/lancedb_fslnull.js): 24 rows of
 * fixed_size_list<float32,4> 'v' (field 1; 2.1 mini-block) and <float32,128>
 * 'w' (field 2; 2.1 full-zip) with null rows and null items in valid rows.
 * data/lancedb_fslallnull_v2{1,0}.lance (the script's 'allnull' mode):
 * every item null, null rows only in 'v'; lance writes both as full-zip
 * pages of Constant{} values in 2.1, items nullable{all_nulls} in 2.0.
 */
static bool
row_null(bool allnull, int dim, int i)
{
	return i % 7 == 3 && !(allnull && dim == 128);
}

static bool
item_null(bool allnull, int dim, int i, int j)
{
	return allnull || (dim == 4 ? (i * 4 + j) % 5 == 2 : (i + j) % 9 == 0);
}

static bool
fsl_row_ok(const LanceArray *a, bool allnull, int dim, int64_t k, int i)
{
	if (a->column.list_size != dim || a->child.validity == NULL)
		return false;
	if (row_null(allnull, dim, i))
		return !LanceColumnIsValid(&a->column, k);
	if (!LanceColumnIsValid(&a->column, k))
		return false;
	for (int j = 0; j < dim; j++)
	{
		int64_t		t = k * dim + j;
		bool		null = item_null(allnull, dim, i, j);
		float		want = (float) (dim == 4 ? i * 10 + j : i * 1000 + j);

		if (LanceColumnIsValid(&a->child, t) == null)
			return false;
		if (null && !allnull)
			continue;
		if (null)
			want = 0;			/* no values stored: the reader gives zeros */
		if (((const float *) a->child.values)[t] != want)
			return false;
	}
	return true;
}

/* Null rows, and null items among the valid rows, of the n rows from 'first'. */
static int64_t
fsl_nulls(bool allnull, int dim, int first, int n, int64_t *null_items)
{
	int64_t		rows = 0;

	*null_items = 0;
	for (int i = first; i < first + n; i++)
	{
		rows += row_null(allnull, dim, i);
		for (int j = 0; !row_null(allnull, dim, i) && j < dim; j++)
			*null_items += item_null(allnull, dim, i, j);
	}
	return rows;
}

static void
test_lancedb_fsl_item_validity(const char *path, LanceFileVersion v, const char *name, bool allnull)
{
	Fixture		fx;
	LanceFileReader *r = NULL;
	LanceArray	a;
	LanceError	e = {{0}};
	uint64_t	rows[7] = {23, 3, 5, 0, 5, 17, 10};
	int			rc;

	LanceArrayInit(&a, NULL);
	rc = fixture_open(&fx, path, &r, &e);
	tap_ok(rc == 0 && LanceFileReaderVersion(r) == v, "%s fixed-size-list null-item file opens (%s)",
		   name, rc ? e.message : "ok");
	for (int field = 1; rc == 0 && field <= 2; field++)
	{
		int			dim = field == 1 ? 4 : 128;
		bool		ok = true;
		int64_t		null_rows,
					null_items;

		rc = LanceFileReaderReadRange(r, field, 0, 24, &a, &e);
		for (int i = 0; rc == 0 && i < 24; i++)
			if (!fsl_row_ok(&a, allnull, dim, i, i))
			{
				tap_diag("%s dim %d row %d differs", name, dim, i);
				ok = false;
			}
		/* items of null rows count as valid */
		null_rows = fsl_nulls(allnull, dim, 0, 24, &null_items);
		tap_ok(rc == 0 && ok && a.column.null_count == null_rows && a.child.null_count == null_items &&
			   a.child.length == 24 * dim,
			   "%s fixed_size_list<float,%d>: every item's validity and value (%s, %lld null items)",
			   name, dim, rc ? e.message : "ok", (long long) a.child.null_count);
		LanceArrayReset(&a);
		for (int first = 0; rc == 0 && ok && first < 24; first += 5)
		{
			int			n = first + 8 <= 24 ? 8 : 24 - first;

			rc = LanceFileReaderReadRange(r, field, (uint64_t) first, (uint64_t) n, &a, &e);
			for (int i = 0; rc == 0 && ok && i < n; i++)
				ok = fsl_row_ok(&a, allnull, dim, i, first + i);
			null_rows = fsl_nulls(allnull, dim, first, n, &null_items);
			ok = ok && a.column.null_count == null_rows && a.child.null_count == null_items;
			LanceArrayReset(&a);
		}
		tap_ok(rc == 0 && ok, "%s fixed_size_list<float,%d> sub-ranges keep item validity (%s)",
			   name, dim, rc ? e.message : "ok");
		if (rc == 0)
			rc = LanceFileReaderTake(r, field, rows, 7, &a, &e);
		for (int i = 0; rc == 0 && ok && i < 7; i++)
			ok = fsl_row_ok(&a, allnull, dim, i, (int) rows[i]);
		tap_ok(rc == 0 && ok && a.column.length == 7,
			   "%s fixed_size_list<float,%d> unsorted take keeps item validity (%s)",
			   name, dim, rc ? e.message : "ok");
		LanceArrayReset(&a);
	}
	LanceFileReaderClose(r);
	free(fx.data);
}

/*
 * Our writer, given what data/lancedb_fslnull.js gave LanceDB (apache-arrow
 * also marks the items of a null row null, with value 0), writes the same
 * bytes in both formats.
 */
static void
test_writer_fsl_null_items(const char *path, LanceFileVersion v, const char *name, bool allnull)
{
	LanceSchema s;
	LanceField	f;
	int64_t		ids[24];
	float		vals[2][24 * 128];
	uint8_t		rowv[2][3],
				itemv[2][24 * 128 / 8];
	LanceColumn child[2],
				cols[3];
	LanceFileWriterOptions o = {.version = v};
	LanceFileWriter *w = NULL;
	LanceError	e = {{0}};
	Sink		sink = {0};
	Fixture		fx;
	LanceFileReader *r = NULL;
	int			rc;

	LanceSchemaInit(&s, NULL);
	f = field_of("id", 0, LANCE_TYPE_INT64, false);
	LanceSchemaAddField(&s, &f, NULL);
	memset(rowv, 0, sizeof(rowv));
	memset(itemv, 0, sizeof(itemv));
	memset(child, 0, sizeof(child));
	memset(cols, 0, sizeof(cols));
	for (int i = 0; i < 24; i++)
		ids[i] = i;
	cols[0] = (LanceColumn) {.type = LANCE_TYPE_INT64, .length = 24, .values = ids};
	for (int c = 0; c < 2; c++)
	{
		int			dim = c == 0 ? 4 : 128;

		f = field_of(c == 0 ? "v" : "w", c + 1, LANCE_TYPE_FIXED_SIZE_LIST, true);
		f.item_type = LANCE_TYPE_FLOAT32;
		f.list_size = dim;
		LanceSchemaAddField(&s, &f, NULL);
		for (int i = 0; i < 24; i++)
		{
			if (!row_null(allnull, dim, i))
				rowv[c][i / 8] |= (uint8_t) (1 << (i % 8));
			for (int j = 0; j < dim; j++)
			{
				int			t = i * dim + j;
				bool		null = row_null(allnull, dim, i) || item_null(allnull, dim, i, j);

				vals[c][t] = null ? 0 : (float) (dim == 4 ? i * 10 + j : i * 1000 + j);
				if (!null)
					itemv[c][t / 8] |= (uint8_t) (1 << (t % 8));
			}
		}
		child[c] = (LanceColumn) {.type = LANCE_TYPE_FLOAT32, .length = 24 * dim,
		.values = vals[c], .validity = itemv[c]};
		cols[c + 1] = (LanceColumn) {.type = LANCE_TYPE_FIXED_SIZE_LIST, .length = 24,
			.validity = rowv[c], .child = &child[c], .list_size = dim};
	}
	rc = LanceFileWriterOpen(&w, sink_write, &sink, &s, &o, &e);
	if (rc == 0)
		rc = LanceFileWriterWrite(w, cols, 3, &e);
	if (rc == 0)
		rc = LanceFileWriterFinish(w, NULL, &e);
	LanceFileWriterClose(w);
	fixture_open(&fx, path, &r, NULL);
	LanceFileReaderClose(r);
	tap_ok(rc == 0 && fx.len > 0 && sink.len == fx.len && memcmp(sink.data, fx.data, fx.len) == 0,
		   "%s fixed-size lists with null items: byte-identical to LanceDB's file (%s, %zu bytes)",
		   name, rc ? e.message : "ok", sink.len);
	free(fx.data);
	free(sink.data);
	LanceSchemaReset(&s);
}

static void
test_lancedb_fsl_null_items(void)
{
	static const struct
	{
		const char *path;
		LanceFileVersion v;
		const char *name;
		bool		allnull;
	}			files[] = {
		{"data/lancedb_fslnull_v21.lance", LANCE_FILE_VERSION_2_1, "2.1", false},
		{"data/lancedb_fslnull_v20.lance", LANCE_FILE_VERSION_2_0, "2.0", false},
		{"data/lancedb_fslallnull_v21.lance", LANCE_FILE_VERSION_2_1, "2.1 all-null items", true},
		{"data/lancedb_fslallnull_v20.lance", LANCE_FILE_VERSION_2_0, "2.0 all-null items", true},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
	{
		test_writer_fsl_null_items(files[i].path, files[i].v, files[i].name, files[i].allnull);
		test_lancedb_fsl_item_validity(files[i].path, files[i].v, files[i].name, files[i].allnull);
	}
}

int
main(void)
{
	test_lancedb_fsl_null_items();
	test_lancedb_codecs();
	test_lancedb_fullzip_fsst();
	test_lancedb_dict_general();
	test_lancedb_list_v20();
	test_lancedb_list_v20_no_items();
	return tap_done();
}
