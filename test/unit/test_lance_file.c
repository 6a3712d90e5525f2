/*
 * test_lance_file.c
 *	  Unit tests of the data file writer and reader (file_writer.c,
 *	  file_reader.c, encode_v2x.c, decode_v2x.c, compress.c): round trips of
 *	  every supported type, nullable or not, in format 2.0 and 2.1; empty,
 *	  one-row, multi-page and very wide (16,000-d) files; random access
 *	  against full scans; the exact bytes lance 8 writes for the fact
 *	  sheet's worked example; global buffers; ENOTSUP for other versions.
 */
#define _GNU_SOURCE
#include "tap.h"

#include "lance/lance_file.h"
#include "lance/lance_internal.h"
#include "lance_test_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- deterministic test data ---- */
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

typedef struct Data
{
	LanceColumn col;
	LanceColumn child;
	uint8_t    *validity;
	uint8_t    *values;
	int32_t    *offsets32;
	int64_t    *offsets64;
	uint8_t    *child_values;
	uint8_t    *child_validity;
} Data;

static size_t
type_width(const LanceField *f)
{
	if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
		return LanceTypeByteWidth(f->item_type) * (size_t) f->list_size;
	return LanceTypeByteWidth(f->type);
}

static bool
is_var(LanceTypeId t)
{
	return t == LANCE_TYPE_UTF8 || t == LANCE_TYPE_BINARY || t == LANCE_TYPE_LARGE_UTF8 ||
		t == LANCE_TYPE_LARGE_BINARY;
}

/*
 * nulls: 0 none, k: every k-th row null, -1 all null; maxlen for strings;
 * item_nulls (fixed-size lists): 0 none, k: about one item in k null (in
 * null rows too), -1 all null.
 */
static void
make_data(Data *d, const LanceField *f, int64_t n, int nulls, int maxlen, int item_nulls)
{
	memset(d, 0, sizeof(*d));
	d->col.type = f->type;
	d->col.length = n;
	if (nulls != 0)
	{
		d->validity = calloc((size_t) n / 8 + 1, 1);
		for (int64_t i = 0; i < n; i++)
			if (!(nulls < 0 || i % nulls == 1))
				LanceBitSet(d->validity, (uint64_t) i, true);
			else
				d->col.null_count++;
		d->col.validity = d->validity;
	}
	if (f->type == LANCE_TYPE_BOOL)
	{
		d->values = calloc((size_t) n / 8 + 1, 1);
		for (int64_t i = 0; i < n; i++)
			LanceBitSet(d->values, (uint64_t) i, rnd() & 1);
		d->col.values = d->values;
	}
	else if (is_var(f->type))
	{
		bool		large = f->type == LANCE_TYPE_LARGE_UTF8 || f->type == LANCE_TYPE_LARGE_BINARY;
		size_t		total = 0;

		d->offsets32 = calloc((size_t) n + 1, 4);
		d->offsets64 = calloc((size_t) n + 1, 8);
		d->values = malloc((size_t) n * (size_t) maxlen + 1);
		for (int64_t i = 0; i < n; i++)
		{
			int			len = LanceColumnIsValid(&d->col, i) ? (int) (rnd() % (uint64_t) (maxlen + 1)) : 0;

			for (int j = 0; j < len; j++)
				d->values[total++] = (uint8_t) ('a' + rnd() % 26);
			d->offsets32[i + 1] = (int32_t) total;
			d->offsets64[i + 1] = (int64_t) total;
		}
		d->col.values = d->values;
		d->col.offsets = large ? (const void *) d->offsets64 : (const void *) d->offsets32;
	}
	else
	{
		size_t		w = type_width(f);

		d->values = malloc((size_t) n * w + 1);
		for (size_t i = 0; i < (size_t) n * w; i++)
			d->values[i] = (uint8_t) rnd();
		if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
		{
			d->child.type = f->item_type;
			d->child.length = n * f->list_size;
			d->child.values = d->values;
			if (item_nulls != 0)
			{
				d->child_validity = calloc((size_t) d->child.length / 8 + 1, 1);
				for (int64_t t = 0; t < d->child.length; t++)
					if (item_nulls > 0 && rnd() % (uint64_t) item_nulls != 0)
						LanceBitSet(d->child_validity, (uint64_t) t, true);
					else
						d->child.null_count++;
				d->child.validity = d->child_validity;
			}
			d->col.child = &d->child;
			d->col.list_size = f->list_size;
		}
		else
			d->col.values = d->values;
	}
}

static void
free_data(Data *d)
{
	free(d->validity);
	free(d->values);
	free(d->offsets32);
	free(d->offsets64);
	free(d->child_validity);
}

/* Does 'got' row g equal 'want' row w? */
static bool
row_equal(const LanceField *f, const LanceColumn *want, int64_t w, const LanceColumn *got, int64_t g)
{
	bool		wv = LanceColumnIsValid(want, w);
	bool		gv = LanceColumnIsValid(got, g);

	if (wv != gv)
		return false;
	if (!wv)
		return true;
	if (f->type == LANCE_TYPE_BOOL)
		return LanceBitGet(want->values, (uint64_t) (want->offset + w)) ==
			LanceBitGet(got->values, (uint64_t) (got->offset + g));
	if (is_var(f->type))
	{
		bool		large = f->type == LANCE_TYPE_LARGE_UTF8 || f->type == LANCE_TYPE_LARGE_BINARY;
		int64_t		wa,
					wb,
					ga,
					gb;

		if (large)
		{
			wa = ((const int64_t *) want->offsets)[want->offset + w];
			wb = ((const int64_t *) want->offsets)[want->offset + w + 1];
			ga = ((const int64_t *) got->offsets)[got->offset + g];
			gb = ((const int64_t *) got->offsets)[got->offset + g + 1];
		}
		else
		{
			wa = ((const int32_t *) want->offsets)[want->offset + w];
			wb = ((const int32_t *) want->offsets)[want->offset + w + 1];
			ga = ((const int32_t *) got->offsets)[got->offset + g];
			gb = ((const int32_t *) got->offsets)[got->offset + g + 1];
		}
		return wb - wa == gb - ga &&
			memcmp((const uint8_t *) want->values + wa, (const uint8_t *) got->values + ga,
				   (size_t) (wb - wa)) == 0;
	}
	if (f->type == LANCE_TYPE_FIXED_SIZE_LIST && want->child->validity != NULL)
	{
		/* item by item: the same validity, and the same value when valid */
		size_t		iw = LanceTypeByteWidth(f->item_type);

		for (int64_t j = 0; j < f->list_size; j++)
		{
			int64_t		wi = (want->offset + w) * f->list_size + j;
			int64_t		gi = (got->offset + g) * f->list_size + j;
			bool		valid = LanceColumnIsValid(want->child, wi);

			if (LanceColumnIsValid(got->child, gi) != valid ||
				(valid && memcmp((const uint8_t *) want->child->values + (size_t) wi * iw,
								 (const uint8_t *) got->child->values + (size_t) gi * iw, iw) != 0))
				return false;
		}
		return true;
	}
	{
		size_t		width = type_width(f);
		const uint8_t *wp = f->type == LANCE_TYPE_FIXED_SIZE_LIST ? want->child->values : want->values;
		const uint8_t *gp = f->type == LANCE_TYPE_FIXED_SIZE_LIST ? got->child->values : got->values;

		return memcmp(wp + (size_t) (want->offset + w) * width,
					  gp + (size_t) (got->offset + g) * width, width) == 0 &&
			(got->child == NULL || got->child->validity == NULL ||
			 got->child->null_count == 0);
	}
}

/*
 * Write one column (plus an int64 id column) of n rows, read it back by
 * range and by take, and compare.  Returns true if everything matched.
 * item_nulls: null items of a fixed-size list, as make_data takes it.
 */
static bool
round_trip_items(LanceField f, LanceFileVersion version, int64_t n, int nulls, int item_nulls,
				 int maxlen, size_t page_bytes, const char *what)
{
	LanceSchema schema;
	LanceField	idf = field_of("id", 0, LANCE_TYPE_INT64, false);
	Data		d,
				ids;
	LanceColumn cols[2];
	LanceFileWriterOptions opts;
	LanceFileWriter *w = NULL;
	LanceFileReader *r = NULL;
	LanceFileIo io;
	LanceMemoryFile mem;
	Sink		sink = {0};
	LanceError	e = {{0}};
	LanceArray	arr;
	bool		ok = true;
	int			rc;

	f.id = 1;
	LanceSchemaInit(&schema, NULL);
	LanceSchemaAddField(&schema, &idf, NULL);
	LanceSchemaAddField(&schema, &f, NULL);
	make_data(&ids, &idf, n, 0, 0, 0);
	make_data(&d, &f, n, nulls, maxlen, item_nulls);
	cols[0] = ids.col;
	cols[1] = d.col;
	LanceFileWriterOptionsInit(&opts);
	opts.version = version;
	opts.page_bytes = page_bytes;
	rc = LanceFileWriterOpen(&w, sink_write, &sink, &schema, &opts, &e);
	/* write in two batches, the second a slice (offset != 0) */
	if (rc == 0 && n > 0)
	{
		LanceColumn a[2] = {cols[0], cols[1]};
		LanceColumn b[2] = {cols[0], cols[1]};
		int64_t		half = n / 2;

		a[0].length = a[1].length = half;
		b[0].offset = b[1].offset = half;
		b[0].length = b[1].length = n - half;
		rc = LanceFileWriterWrite(w, a, 2, &e);
		if (rc == 0)
			rc = LanceFileWriterWrite(w, b, 2, &e);
	}
	if (rc == 0)
		rc = LanceFileWriterFinish(w, NULL, &e);
	LanceFileWriterClose(w);
	if (rc != 0)
	{
		tap_diag("%s: write failed: %s", what, e.message);
		ok = false;
		goto out;
	}
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	if ((rc = LanceFileReaderOpen(&r, &io, NULL, &e)) != 0)
	{
		tap_diag("%s: open failed: %s", what, e.message);
		ok = false;
		goto out;
	}
	ok = LanceFileReaderNumRows(r) == (uint64_t) n &&
		LanceFileReaderSchema(r)->num_fields == 2 &&
		LanceFileReaderSchema(r)->fields[1].type == f.type &&
		LanceFileReaderVersion(r) == (version == LANCE_FILE_VERSION_2_0 ? LANCE_FILE_VERSION_2_0 : LANCE_FILE_VERSION_2_1);
	if (!ok)
		tap_diag("%s: header mismatch", what);
	/* full scan */
	LanceArrayInit(&arr, NULL);
	if ((rc = LanceFileReaderReadRange(r, 1, 0, (uint64_t) n, &arr, &e)) != 0)
	{
		tap_diag("%s: scan failed: %s", what, e.message);
		ok = false;
	}
	else
	{
		for (int64_t i = 0; ok && i < n; i++)
			if (!row_equal(&f, &d.col, i, &arr.column, i))
			{
				tap_diag("%s: row %lld differs after a scan", what, (long long) i);
				ok = false;
			}
		ok = ok && arr.column.length == n && arr.column.null_count == d.col.null_count;
	}
	LanceArrayReset(&arr);
	/* a middle range */
	if (ok && n > 3)
	{
		uint64_t	a = (uint64_t) n / 3,
					cnt = (uint64_t) n / 2;

		if ((rc = LanceFileReaderReadRange(r, 1, a, cnt, &arr, &e)) != 0)
		{
			tap_diag("%s: range failed: %s", what, e.message);
			ok = false;
		}
		for (uint64_t i = 0; ok && i < cnt; i++)
			if (!row_equal(&f, &d.col, (int64_t) (a + i), &arr.column, (int64_t) i))
			{
				tap_diag("%s: row %llu differs in a range", what, (unsigned long long) (a + i));
				ok = false;
			}
		LanceArrayReset(&arr);
	}
	/* random access, unsorted with repeats */
	if (ok && n > 0)
	{
		size_t		k = (size_t) (n < 300 ? n : 300);
		uint64_t   *rows = malloc(k * sizeof(uint64_t));

		for (size_t i = 0; i < k; i++)
			rows[i] = rnd() % (uint64_t) n;
		if ((rc = LanceFileReaderTake(r, 1, rows, k, &arr, &e)) != 0)
		{
			tap_diag("%s: take failed: %s", what, e.message);
			ok = false;
		}
		for (size_t i = 0; ok && i < k; i++)
			if (!row_equal(&f, &d.col, (int64_t) rows[i], &arr.column, (int64_t) i))
			{
				tap_diag("%s: take row %zu (%llu) differs", what, i, (unsigned long long) rows[i]);
				ok = false;
			}
		LanceArrayReset(&arr);
		/* ids by take, sorted */
		for (size_t i = 0; i < k; i++)
			rows[i] = (uint64_t) i * (uint64_t) n / k;
		if (ok && (rc = LanceFileReaderTake(r, 0, rows, k, &arr, &e)) != 0)
		{
			tap_diag("%s: take of ids failed: %s", what, e.message);
			ok = false;
		}
		for (size_t i = 0; ok && i < k; i++)
			ok = row_equal(&idf, &ids.col, (int64_t) rows[i], &arr.column, (int64_t) i);
		LanceArrayReset(&arr);
		free(rows);
	}
out:
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);
	free_data(&ids);
	LanceSchemaReset(&schema);
	return ok;
}

static bool
round_trip(LanceField f, LanceFileVersion version, int64_t n, int nulls, int maxlen,
		   size_t page_bytes, const char *what)
{
	return round_trip_items(f, version, n, nulls, 0, maxlen, page_bytes, what);
}

static void
test_types(void)
{
	static const LanceTypeId prims[] = {
		LANCE_TYPE_BOOL, LANCE_TYPE_INT8, LANCE_TYPE_INT16, LANCE_TYPE_INT32, LANCE_TYPE_INT64,
		LANCE_TYPE_UINT8, LANCE_TYPE_UINT16, LANCE_TYPE_UINT32, LANCE_TYPE_UINT64,
		LANCE_TYPE_FLOAT16, LANCE_TYPE_FLOAT32, LANCE_TYPE_FLOAT64, LANCE_TYPE_DATE32,
		LANCE_TYPE_TIMESTAMP_US, LANCE_TYPE_UTF8, LANCE_TYPE_BINARY, LANCE_TYPE_LARGE_UTF8,
		LANCE_TYPE_LARGE_BINARY
	};
	static const LanceFileVersion versions[] = {LANCE_FILE_VERSION_2_1, LANCE_FILE_VERSION_2_0};

	for (int v = 0; v < 2; v++)
		for (int nullable = 0; nullable < 2; nullable++)
		{
			int			pass = 0,
						total = 0;

			for (size_t t = 0; t < sizeof(prims) / sizeof(prims[0]); t++)
			{
				LanceField	f = field_of("c", 1, prims[t], nullable);
				char		what[64];

				snprintf(what, sizeof(what), "type %d v%d nullable %d", (int) prims[t], (int) versions[v], nullable);
				if (prims[t] == LANCE_TYPE_TIMESTAMP_US)
					f.timezone = "UTC";
				total++;
				pass += round_trip(f, versions[v], 5000, nullable ? 7 : 0, 40, 0, what);
			}
			/* fixed-size lists: narrow (mini-block), wide (full-zip), uint8, f16 */
			{
				static const struct
				{
					LanceTypeId item;
					int			n;
				}			fsl[] = {
					{LANCE_TYPE_FLOAT32, 4}, {LANCE_TYPE_FLOAT32, 128}, {LANCE_TYPE_UINT8, 16},
					{LANCE_TYPE_FLOAT16, 200}, {LANCE_TYPE_FLOAT32, 63}, {LANCE_TYPE_FLOAT32, 64}
				};

				for (size_t i = 0; i < sizeof(fsl) / sizeof(fsl[0]); i++)
				{
					LanceField	f = field_of("v", 1, LANCE_TYPE_FIXED_SIZE_LIST, nullable);
					char		what[64];

					f.item_type = fsl[i].item;
					f.list_size = fsl[i].n;
					snprintf(what, sizeof(what), "fsl %d x %d v%d", (int) fsl[i].item, fsl[i].n, (int) versions[v]);
					total++;
					pass += round_trip(f, versions[v], 1500, nullable ? 5 : 0, 0, 0, what);
				}
			}
			tap_ok(pass == total, "format %s, %s: %d/%d types round trip (scan, range, take)",
				   v == 0 ? "2.1" : "2.0", nullable ? "nullable with nulls" : "not nullable", pass, total);
		}
}

static void
test_shapes(void)
{
	LanceField	i64 = field_of("x", 1, LANCE_TYPE_INT64, true);
	LanceField	str = field_of("s", 1, LANCE_TYPE_UTF8, true);
	LanceField	wide = field_of("v", 1, LANCE_TYPE_FIXED_SIZE_LIST, true);
	LanceField	vec = field_of("v", 1, LANCE_TYPE_FIXED_SIZE_LIST, false);

	wide.item_type = LANCE_TYPE_FLOAT32;
	wide.list_size = 16000;
	vec.item_type = LANCE_TYPE_FLOAT32;
	vec.list_size = 128;
	for (int v = 0; v < 2; v++)
	{
		LanceFileVersion ver = v ? LANCE_FILE_VERSION_2_0 : LANCE_FILE_VERSION_2_1;
		const char *vs = v ? "2.0" : "2.1";

		tap_ok(round_trip(i64, ver, 0, 0, 0, 0, "empty"), "%s: empty file", vs);
		tap_ok(round_trip(i64, ver, 1, 0, 0, 0, "one row"), "%s: one-row file", vs);
		tap_ok(round_trip(str, ver, 1, -1, 0, 0, "one null row"), "%s: one null string", vs);
		tap_ok(round_trip(i64, ver, 3000, -1, 0, 0, "all null"), "%s: all-null column", vs);
		tap_ok(round_trip(str, ver, 3000, -1, 0, 0, "all null strings"), "%s: all-null strings", vs);
		tap_ok(round_trip(i64, ver, 100000, 3, 0, 8192, "multi-page int64"),
			   "%s: multi-page int64 column with nulls (8 KiB pages)", vs);
		tap_ok(round_trip(str, ver, 20000, 4, 300, 16384, "multi-page long strings"),
			   "%s: multi-page strings up to 300 bytes (full-zip in 2.1)", vs);
		tap_ok(round_trip(str, ver, 20000, 0, 20, 4096, "multi-page short strings"),
			   "%s: multi-page short strings (mini-block)", vs);
		tap_ok(round_trip(vec, ver, 5000, 0, 0, 100000, "multi-page vectors"),
			   "%s: multi-page 128-d vectors", vs);
		tap_ok(round_trip(wide, ver, 40, 3, 0, 0, "16000-d"), "%s: 16,000-d vectors with nulls", vs);
	}
}

/*
 * Fixed-size lists with null items (has_validity in 2.1, nullable items in
 * 2.0): mini-block in several chunks (dims 3 and 4, so chunks start inside
 * a validity byte), full-zip, several pages, all items null, rows that are
 * never null.
 */
static void
test_fsl_null_items(void)
{
	static const struct
	{
		LanceTypeId item;
		int			dim;
		bool		nullable;
		int			item_nulls;
		int64_t		rows;
		size_t		page_bytes;
		const char *what;
	}			cases[] = {
		{LANCE_TYPE_FLOAT32, 4, true, 7, 3000, 0, "fsl<float,4>, mini-block chunks"},
		{LANCE_TYPE_FLOAT32, 3, true, 5, 5000, 16384, "fsl<float,3>, several pages"},
		{LANCE_TYPE_FLOAT32, 128, true, 9, 700, 0, "fsl<float,128>, full-zip"},
		{LANCE_TYPE_FLOAT32, 128, true, 9, 700, 65536, "fsl<float,128>, full-zip pages"},
		{LANCE_TYPE_UINT8, 16, false, 3, 2000, 0, "fsl<uint8,16>, rows never null"},
		{LANCE_TYPE_FLOAT16, 200, true, 4, 300, 0, "fsl<float16,200>"},
		{LANCE_TYPE_FLOAT32, 4, true, -1, 1000, 0, "fsl<float,4>, every item null"},
		{LANCE_TYPE_FLOAT32, 128, false, -1, 100, 0, "fsl<float,128>, every item null"},
	};

	for (int v = 0; v < 2; v++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			LanceField	f = field_of("v", 1, LANCE_TYPE_FIXED_SIZE_LIST, cases[i].nullable);
			LanceFileVersion ver = v ? LANCE_FILE_VERSION_2_0 : LANCE_FILE_VERSION_2_1;

			f.item_type = cases[i].item;
			f.list_size = cases[i].dim;
			tap_ok(round_trip_items(f, ver, cases[i].rows, cases[i].nullable ? 6 : 0,
									cases[i].item_nulls, 0, cases[i].page_bytes, cases[i].what),
				   "%s: %s with null items round trips (scan, range, take)", v ? "2.0" : "2.1",
				   cases[i].what);
		}
}

/* The fact sheet's worked example (2.4.2), byte for byte. */
static void
test_exact_bytes(void)
{
	LanceSchema s;
	LanceField	f;
	int64_t		ids[5] = {0, 1, 2, 3, 4};
	int32_t		offs[6] = {0, 2, 2, 4, 4, 6};
	uint8_t		valid = 0x15;
	LanceColumn cols[2];
	LanceFileWriter *w;
	Sink		sink = {0};
	static const uint8_t id_chunk[] = {0x00, 0x00, 0x28, 0x00, 0xfe, 0xfe, 0xfe, 0xfe};
	static const uint8_t text_chunk[] = {
		0x05, 0x00, 0x0a, 0x00, 0x20, 0x00, 0xfe, 0xfe, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0x18, 0x00, 0x00, 0x00,
		0x1a, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x1c, 0x00,
		0x00, 0x00, 0x1e, 0x00, 0x00, 0x00, 's', '0', 's', '2', 's', '4', 0x48, 0x48
	};
	static const uint8_t layout[] = {
		0x0a, 0x0d, 0x1a, 0x04, 0x0a, 0x02, 0x08, 0x40, 0x32, 0x01, 0x01, 0x38, 0x01, 0x48, 0x05
	};
	bool		ok;

	LanceSchemaInit(&s, NULL);
	f = field_of("id", 0, LANCE_TYPE_INT64, false);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("text", 1, LANCE_TYPE_UTF8, true);
	LanceSchemaAddField(&s, &f, NULL);
	memset(cols, 0, sizeof(cols));
	cols[0].type = LANCE_TYPE_INT64;
	cols[0].length = 5;
	cols[0].values = ids;
	cols[1].type = LANCE_TYPE_UTF8;
	cols[1].length = 5;
	cols[1].values = "s0s2s4";
	cols[1].offsets = offs;
	cols[1].validity = &valid;
	LanceFileWriterOpen(&w, sink_write, &sink, &s, NULL, NULL);
	LanceFileWriterWrite(w, cols, 2, NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	LanceFileWriterClose(w);
	ok = sink.len > 0x100 && sink.data[0] == 0x50 && sink.data[1] == 0x00 && sink.data[2] == 0x48 &&
		memcmp(sink.data + 0x40, id_chunk, sizeof(id_chunk)) == 0 &&
		LanceLoadU64(sink.data + 0x48 + 32) == 4 &&
		sink.data[0x80] == 0x60 && memcmp(sink.data + 0xc0, text_chunk, sizeof(text_chunk)) == 0 &&
		memmem(sink.data, sink.len, layout, sizeof(layout)) != NULL &&
		memcmp(sink.data + sink.len - 8, "\x02\x00\x01\x00LANC", 8) == 0;
	tap_ok(ok, "2.1 bytes of the fact sheet's 5-row example match lance 8");
	/* the footer's tables: GBO[0] is the descriptor right after the data */
	ok = LanceLoadU64(sink.data + sink.len - 40 + 16) + 16 == sink.len - 40 &&
		LanceLoadU64(sink.data + LanceLoadU64(sink.data + sink.len - 24)) == 0x100 &&
		LanceLoadU32(sink.data + sink.len - 16) == 1 && LanceLoadU32(sink.data + sink.len - 12) == 2;
	tap_ok(ok, "footer: descriptor at 0x100 (64-aligned), 1 global buffer, 2 columns");
	free(sink.data);
	LanceSchemaReset(&s);
}

static void
test_misc(void)
{
	LanceSchema s;
	LanceField	f = field_of("x", 0, LANCE_TYPE_INT32, false);
	LanceFileWriter *w;
	LanceFileReader *r = NULL;
	Sink		sink = {0};
	LanceError	e;
	uint32_t	gi = 0;
	int32_t		vals[3] = {1, 2, 3};
	uint8_t		valid = 0x5;
	LanceColumn c;
	LanceFileIo io;
	LanceMemoryFile mem;
	LanceArray	arr;
	int			rc;

	LanceSchemaInit(&s, NULL);
	LanceSchemaAddField(&s, &f, NULL);
	LanceFileWriterOpen(&w, sink_write, &sink, &s, NULL, NULL);
	memset(&c, 0, sizeof(c));
	c.type = LANCE_TYPE_INT32;
	c.length = 3;
	c.values = vals;
	c.validity = &valid;
	rc = LanceFileWriterWrite(w, &c, 1, &e);
	tap_ok(rc == EINVAL && strstr(e.message, "not nullable"), "a null in a non-nullable column: %s", e.message);
	c.validity = NULL;
	c.type = LANCE_TYPE_INT64;
	tap_ok(LanceFileWriterWrite(w, &c, 1, &e) == EINVAL, "a column of the wrong type: %s", e.message);
	c.type = LANCE_TYPE_INT32;
	tap_ok(LanceFileWriterAddGlobalBuffer(w, "hello", 5, &gi, &e) == 0 && gi == 1, "global buffer 1 added");
	LanceFileWriterWrite(w, &c, 1, NULL);
	LanceFileWriterAddMetadata(w, "lance:index", "{}", NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	tap_ok(LanceFileWriterWrite(w, &c, 1, &e) == EINVAL, "no writes after finish");
	LanceFileWriterClose(w);
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	rc = LanceFileReaderOpen(&r, &io, NULL, &e);
	LanceArrayInit(&arr, NULL);
	tap_ok(rc == 0 && LanceFileReaderNumGlobalBuffers(r) == 2 &&
		   LanceFileReaderReadGlobalBuffer(r, 1, &arr, NULL) == 0 && arr.column.length == 5 &&
		   memcmp(arr.column.values, "hello", 5) == 0 &&
		   LanceFileReaderSchema(r)->num_metadata == 1, "global buffer and schema metadata read back");
	LanceArrayReset(&arr);
	tap_ok(LanceFileReaderReadRange(r, 0, 2, 5, &arr, &e) == EINVAL, "range past the end: %s", e.message);
	tap_ok(LanceFileReaderReadRange(r, 4, 0, 1, &arr, &e) == ENOENT, "unknown field: %s", e.message);
	{
		uint64_t	bad = 3;

		tap_ok(LanceFileReaderTake(r, 0, &bad, 1, &arr, &e) == EINVAL, "take past the end: %s", e.message);
	}
	LanceFileReaderClose(r);

	/* versions */
	{
		static const struct
		{
			uint16_t	major,
						minor;
			int			rc;
		}			vs[] = {{0, 2, ENOTSUP}, {2, 2, ENOTSUP}, {3, 0, ENOTSUP}, {0, 3, ENOTSUP}, {2, 0, ENOTSUP}};
		int			good = 0;

		for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
		{
			uint8_t    *copy = malloc(sink.len);

			memcpy(copy, sink.data, sink.len);
			LanceStoreU16(copy + sink.len - 8, vs[i].major);
			LanceStoreU16(copy + sink.len - 6, vs[i].minor);
			LanceFileIoInitMemory(&io, &mem, copy, sink.len);
			rc = LanceFileReaderOpen(&r, &io, NULL, &e);
			/* a 2.1 file relabelled 2.0 has the wrong page encoding type */
			if (rc == vs[i].rc && (vs[i].major != 0 || vs[i].minor != 3 || strstr(e.message, "ArrayEncoding")))
				good++;
			else
				tap_diag("version %u.%u: %d %s", vs[i].major, vs[i].minor, rc, e.message);
			if (rc == 0)
			{
				LanceArrayInit(&arr, NULL);
				(void) LanceFileReaderReadRange(r, 0, 0, 3, &arr, &e);
				LanceArrayReset(&arr);
			}
			LanceFileReaderClose(r);
			r = NULL;
			free(copy);
		}
		tap_ok(good == 5, "footer versions 0.2, 2.2, 3.0 are ENOTSUP; 0.3/2.0 read as 2.0 (and refuse 2.1 pages)");
		LanceStoreU16(sink.data + sink.len - 8, 2);
		LanceStoreU16(sink.data + sink.len - 6, 7);
		LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
		tap_ok(LanceFileReaderOpen(&r, &io, NULL, &e) == ENOTSUP && strstr(e.message, "2.7"),
			   "unknown version named: %s", e.message);
	}
	free(sink.data);
	LanceSchemaReset(&s);

	/* lists of anything but fixed-width items are refused by the writer */
	{
		LanceField	l = field_of("l", 0, LANCE_TYPE_LIST, true);
		LanceField	it = field_of("item", 1, LANCE_TYPE_UTF8, true);

		LanceFileWriterOptions o;

		it.parent_id = 0;
		LanceSchemaInit(&s, NULL);
		LanceSchemaAddField(&s, &l, NULL);
		LanceSchemaAddField(&s, &it, NULL);
		LanceFileWriterOptionsInit(&o);
		o.version = LANCE_FILE_VERSION_2_0;
		tap_ok(LanceFileWriterOpen(&w, sink_write, &sink, &s, &o, &e) == ENOTSUP,
			   "lists of strings in format 2.0: %s", e.message);
		LanceSchemaReset(&s);
		LanceSchemaInit(&s, NULL);
		LanceSchemaAddField(&s, &l, NULL);
		LanceSchemaAddField(&s, &it, NULL);
		tap_ok(LanceFileWriterOpen(&w, sink_write, &sink, &s, NULL, &e) == ENOTSUP,
			   "lists of strings: %s", e.message);
		LanceSchemaReset(&s);
	}
}

/* Files on disk through the pread back end. */
static void
test_fd(void)
{
	char		path[] = "/tmp/test_lance_file_XXXXXX";
	int			fd = mkstemp(path);
	LanceSchema s;
	LanceField	f = field_of("v", 0, LANCE_TYPE_FIXED_SIZE_LIST, false);
	Data		d;
	LanceFileWriter *w;
	LanceFileReader *r = NULL;
	LanceFileIo io;
	LanceArray	arr;
	LanceError	e;
	uint64_t	size = 0;
	int			rc;
	bool		ok;

	f.item_type = LANCE_TYPE_FLOAT32;
	f.list_size = 784;
	LanceSchemaInit(&s, NULL);
	LanceSchemaAddField(&s, &f, NULL);
	make_data(&d, &f, 1000, 0, 0, 0);
	rc = LanceFileWriterOpenPath(&w, path, &s, NULL, &e);
	if (rc == 0)
		rc = LanceFileWriterWrite(w, &d.col, 1, &e);
	if (rc == 0)
		rc = LanceFileWriterFinish(w, &size, &e);
	LanceFileWriterClose(w);
	if (rc == 0)
		rc = LanceFileIoInitFd(&io, fd, &e);
	if (rc == 0)
		rc = LanceFileReaderOpen(&r, &io, NULL, &e);
	LanceArrayInit(&arr, NULL);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 0, 0, 1000, &arr, &e);
	ok = rc == 0 && io.size == size &&
		memcmp(arr.column.child->values, d.values, 1000 * 784 * 4) == 0;
	tap_ok(ok, "784-d vectors through a file and pread (%s)", rc ? e.message : "ok");
	LanceArrayReset(&arr);
	LanceFileReaderClose(r);
	free_data(&d);
	LanceSchemaReset(&s);
	close(fd);
	unlink(path);
}

/* Several threads reading one reader at once must all see the right data. */
typedef struct ThreadArg
{
	const LanceFileReader *r;
	const void *want;			/* the column's values as written */
	int			seed;
	int			bad;
} ThreadArg;

/* A thread's own random numbers (rnd() is not thread-safe): the next of *s */
static uint64_t
thread_rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return *s >> 33;
}

/* 4 threads running 'fn' on one reader at once; the wrong reads of all, or 1 */
static int
run_readers(const LanceFileReader *r, const void *want, void *(*fn) (void *))
{
	pthread_t	th[4];
	ThreadArg	args[4];
	int			bad = 0;

	for (int i = 0; i < 4; i++)
	{
		args[i] = (ThreadArg) {r, want, i, 0};
		pthread_create(&th[i], NULL, fn, &args[i]);
	}
	for (int i = 0; i < 4; i++)
	{
		pthread_join(th[i], NULL);
		bad += args[i].bad;
	}
	return bad;
}

static void *
reader_thread(void *p)
{
	ThreadArg  *t = p;
	uint64_t	s = 0x1234567ull * (uint64_t) (t->seed + 1);

	for (int iter = 0; iter < 40; iter++)
	{
		uint64_t	rows[64];
		LanceArray	a;
		LanceError	e;

		for (int i = 0; i < 64; i++)
			rows[i] = thread_rnd(&s) % 3000;
		LanceArrayInit(&a, NULL);
		if (LanceFileReaderTake(t->r, 0, rows, 64, &a, &e) != 0)
			t->bad++;
		else
			for (int i = 0; i < 64; i++)
				if (memcmp((const float *) a.column.child->values + i * 96,
						   (const float *) t->want + rows[i] * 96, 96 * 4) != 0)
					t->bad++;
		LanceArrayReset(&a);
		if (LanceFileReaderReadRange(t->r, 0, rows[0], 100 > 3000 - rows[0] ? 3000 - rows[0] : 100, &a, &e) != 0 ||
			memcmp(a.column.child->values, (const float *) t->want + rows[0] * 96,
				   (size_t) a.column.length * 96 * 4) != 0)
			t->bad++;
		LanceArrayReset(&a);
	}
	return NULL;
}

/*
 * A file of 'rows' fixed_size_list<float32, 96> vectors (full-zip, several
 * pages of about 100 kB) in 'sink'; the values stay in 'd'.
 */
/* 96-dim float vectors, every 'nulls'-th row null (0: none), pages of ~100 kB */
static void
write_vectors(Sink *sink, Data *d, int rows, LanceFileVersion version, int nulls)
{
	LanceSchema s;
	LanceField	f = field_of("v", 0, LANCE_TYPE_FIXED_SIZE_LIST, nulls != 0);
	LanceFileWriter *w;
	LanceFileWriterOptions o;

	f.item_type = LANCE_TYPE_FLOAT32;
	f.list_size = 96;
	LanceSchemaInit(&s, NULL);
	LanceSchemaAddField(&s, &f, NULL);
	make_data(d, &f, rows, nulls, 0, 0);
	LanceFileWriterOptionsInit(&o);
	o.version = version;
	o.page_bytes = 100000;
	LanceFileWriterOpen(&w, sink_write, sink, &s, &o, NULL);
	LanceFileWriterWrite(w, &d->col, 1, NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	LanceFileWriterClose(w);
	LanceSchemaReset(&s);
}

static void
write_vector_file(Sink *sink, Data *d, int rows)
{
	write_vectors(sink, d, rows, LANCE_FILE_VERSION_2_1, 0);
}

static void
test_threads(void)
{
	Data		d;
	LanceFileReader *r = NULL;
	Sink		sink = {0};
	LanceFileIo io;
	LanceMemoryFile mem;
	int			bad = 1;

	write_vector_file(&sink, &d, 3000);
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	if (LanceFileReaderOpen(&r, &io, NULL, NULL) == 0)
		bad = run_readers(r, d.values, reader_thread);
	tap_ok(bad == 0, "4 threads taking and scanning one reader at once agree with the data (%d bad)", bad);
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);
}

/* A read over memory that counts its calls (atomically: threads share it) */
typedef struct CountCtx
{
	LanceMemoryFile *mem;
	int			calls;
} CountCtx;

static int
count_read(void *ctx, uint64_t offset, size_t length, void *dest)
{
	CountCtx   *c = ctx;

	__atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
	if (offset > c->mem->size || length > c->mem->size - offset)
		return EINVAL;
	memcpy(dest, c->mem->data + offset, length);
	return 0;
}

#define CODE_ROWS 20000
#define CODE_BYTES 104

/* ReadRange of 'count' rows of the code column at 'first', checked */
static bool
read_codes(const LanceFileReader *r, const uint8_t *want, uint64_t first, uint64_t count)
{
	LanceArray	a;
	LanceError	e;
	bool		ok;

	LanceArrayInit(&a, NULL);
	ok = LanceFileReaderReadRange(r, 0, first, count, &a, &e) == 0 &&
		(uint64_t) a.column.length == count &&
		memcmp(LanceArrayListItems(&a), want + first * CODE_BYTES, count * CODE_BYTES) == 0;
	LanceArrayReset(&a);
	return ok;
}

static void *
range_thread(void *p)
{
	ThreadArg  *t = p;
	uint64_t	s = 0x9e3779b97f4a7c15ull * (uint64_t) (t->seed + 1);

	for (int iter = 0; iter < 200; iter++)
	{
		uint64_t	first = thread_rnd(&s) % (CODE_ROWS - 300);

		if (!read_codes(t->r, t->want, first, 1 + thread_rnd(&s) % 300))
			t->bad++;
	}
	return NULL;
}

/*
 * A mini-block page's chunk map is decoded once per reader: reading a part
 * of the page (as a lance_ivf list is read) costs the same read calls the
 * second time as the hundredth, and fewer than the first, which also read
 * the map.  Four threads that start on a fresh reader at once (racing to
 * publish the map) all read the right rows.
 */
static void
test_chunk_map_cache(void)
{
	LanceField	f = field_of("code", 0, LANCE_TYPE_FIXED_SIZE_LIST, false);
	LanceSchema s;
	LanceFileWriter *w;
	LanceFileWriterOptions o;
	Data		d;
	Sink		sink = {0};
	LanceMemoryFile mem;
	CountCtx	count = {&mem, 0};
	LanceFileIo io = {0};
	LanceFileReader *r = NULL;
	int			first_calls,
				second_calls,
				later_calls = 0;
	bool		ok = true;
	int			bad = 1;

	f.item_type = LANCE_TYPE_UINT8;
	f.list_size = CODE_BYTES;
	LanceSchemaInit(&s, NULL);
	LanceSchemaAddField(&s, &f, NULL);
	make_data(&d, &f, CODE_ROWS, 0, 0, 0);
	LanceFileWriterOptionsInit(&o);
	o.page_bytes = 8 * 1024 * 1024;	/* one page, many chunks */
	LanceFileWriterOpen(&w, sink_write, &sink, &s, &o, NULL);
	LanceFileWriterWrite(w, &d.col, 1, NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	LanceFileWriterClose(w);
	LanceSchemaReset(&s);

	mem.data = sink.data;
	mem.size = sink.len;
	io.read = count_read;
	io.ctx = &count;
	io.size = sink.len;
	tap_ok(LanceFileReaderOpen(&r, &io, NULL, NULL) == 0, "a one-page file of 104-byte codes opens");
	count.calls = 0;
	ok &= read_codes(r, d.values, 100, 245);
	first_calls = count.calls;
	count.calls = 0;
	ok &= read_codes(r, d.values, 9000, 245);
	second_calls = count.calls;
	for (int i = 0; i < 100; i++)
	{
		count.calls = 0;
		ok &= read_codes(r, d.values, (uint64_t) (i * 197) % (CODE_ROWS - 245), 245);
		if (count.calls > later_calls)
			later_calls = count.calls;
	}
	tap_ok(ok, "ranges of the page read back");
	tap_ok(second_calls < first_calls && later_calls == second_calls,
		   "the chunk map is read once: %d read calls the first time, %d the second, at most %d later",
		   first_calls, second_calls, later_calls);
	{
		/* what a caller keeps of a range (lance_ivf keeps lists) is its size */
		LanceArray	a;
		LanceError	e;
		size_t		kept = 0;

		LanceArrayInit(&a, NULL);
		ok = LanceFileReaderReadRange(r, 0, 100, 245, &a, &e) == 0;
		for (int i = 0; i < 4; i++)
			kept += a.sizes[i];
		tap_ok(ok && kept <= 245 * CODE_BYTES + 64,
			   "a range of 245 codes keeps %zu bytes for %d of data", kept, 245 * CODE_BYTES);
		LanceArrayReset(&a);
	}
	LanceFileReaderClose(r);

	r = NULL;
	if (LanceFileReaderOpen(&r, &io, NULL, NULL) == 0)
		bad = run_readers(r, d.values, range_thread);
	tap_ok(bad == 0, "4 threads reading ranges of a fresh reader's page at once agree (%d bad)", bad);
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);
}

/* A read_many over memory that counts its calls and ranges. */
typedef struct ManyCtx
{
	LanceMemoryFile *mem;
	int			calls;
	size_t		ranges;
} ManyCtx;

static int
many_read_one(void *ctx, uint64_t offset, size_t length, void *dest)
{
	ManyCtx    *m = ctx;

	if (offset > m->mem->size || length > m->mem->size - offset)
		return EINVAL;
	memcpy(dest, m->mem->data + offset, length);
	return 0;
}

static int
many_read(void *ctx, const LanceReadRange *ranges, size_t n)
{
	ManyCtx    *m = ctx;

	m->calls++;
	m->ranges += n;
	for (size_t i = 0; i < n; i++)
	{
		int			rc = many_read_one(ctx, ranges[i].offset, ranges[i].length, ranges[i].dest);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Take of scattered vectors from full-zip pages hands the rows of all its
 * pages to read_many in one call, in any order asked, and gets them right;
 * so does a take in row order, whose output grows page by page while the
 * reads wait.
 */
static void
test_read_many(void)
{
	Data		d;
	LanceFileReader *r = NULL;
	Sink		sink = {0};
	LanceFileIo io;
	LanceMemoryFile mem;
	ManyCtx		many = {&mem, 0, 0};
	uint64_t	rows[40];
	LanceArray	a;
	LanceError	e;
	int			bad = 0;

	write_vector_file(&sink, &d, 3000);
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	io.read = many_read_one;
	io.read_many = many_read;
	io.view = NULL;
	io.ctx = &many;
	tap_ok(LanceFileReaderOpen(&r, &io, NULL, &e) == 0, "open with read_many: %s", e.message);
	for (int i = 0; i < 40; i++)
		rows[i] = (uint64_t) ((i * 7919) % 3000);	/* scattered, unsorted */
	many.calls = 0;
	many.ranges = 0;
	LanceArrayInit(&a, NULL);
	tap_ok(r != NULL && LanceFileReaderTake(r, 0, rows, 40, &a, &e) == 0, "take 40 scattered rows: %s",
		   e.message);
	for (int i = 0; r != NULL && i < 40; i++)
		if (memcmp((const float *) LanceArrayListItems(&a) + i * 96,
				   (const float *) d.values + rows[i] * 96, 96 * sizeof(float)) != 0)
			bad++;
	tap_ok(bad == 0, "every row taken through read_many is right (%d bad)", bad);
	tap_ok(many.ranges == 40 && many.calls == 1,
		   "40 rows over several pages in %zu ranges, %d read_many call",
		   many.ranges, many.calls);
	LanceArrayReset(&a);

	for (int i = 0; i < 40; i++)
		rows[i] = (uint64_t) (i * 73);	/* in order, every page */
	many.calls = 0;
	many.ranges = 0;
	LanceArrayInit(&a, NULL);
	tap_ok(r != NULL && LanceFileReaderTake(r, 0, rows, 40, &a, &e) == 0, "take 40 rows in order: %s",
		   e.message);
	bad = 0;
	for (int i = 0; r != NULL && i < 40; i++)
		if (memcmp((const float *) LanceArrayListItems(&a) + i * 96,
				   (const float *) d.values + rows[i] * 96, 96 * sizeof(float)) != 0)
			bad++;
	tap_ok(bad == 0 && many.calls == 1,
		   "every row taken in order is right (%d bad), in %d read_many call", bad, many.calls);
	LanceArrayReset(&a);
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);
}

/* A view over memory that shows only every other 1 kB (by offset) and counts */
typedef struct HalfView
{
	LanceMemoryFile *mem;
	int			shown;
	int			refused;
} HalfView;

static int
half_read(void *ctx, uint64_t offset, size_t length, void *dest)
{
	HalfView   *h = ctx;

	if (!LanceRangeOk(offset, length, h->mem->size))
		return EINVAL;
	memcpy(dest, h->mem->data + offset, length);
	return 0;
}

static const void *
half_view(void *ctx, uint64_t offset, size_t length)
{
	HalfView   *h = ctx;

	if (!LanceRangeOk(offset, length, h->mem->size) || (offset / 1024) % 2 == 1)
	{
		h->refused++;
		return NULL;
	}
	h->shown++;
	return h->mem->data + offset;
}

/*
 * Checks LanceFileReaderTakeViews on 40 scattered rows (some repeated) of a
 * file written by write_vectors: every value right, null rows NULL; returns
 * how many pointers point into the file's own bytes (shown in place).
 */
static int
check_views(LanceFileReader *r, const Data *d, const Sink *sink, int *bad, const char *what)
{
	uint64_t	rows[40];
	const void *values[40];
	LanceArray	spill;
	LanceError	e;
	int			in_place = 0;

	*bad = 0;
	for (int i = 0; i < 40; i++)
		rows[i] = (uint64_t) ((i * 7919) % 3000);
	rows[39] = rows[3];
	LanceArrayInit(&spill, NULL);
	if (LanceFileReaderTakeViews(r, 0, rows, 40, values, &spill, &e) != 0)
	{
		tap_diag("%s: %s", what, e.message);
		*bad = 40;
		return 0;
	}
	for (int i = 0; i < 40; i++)
	{
		bool		valid = d->col.validity == NULL || LanceBitGet(d->col.validity, rows[i]);
		const uint8_t *p = values[i];

		if (!valid)
			*bad += p != NULL;
		else if (p == NULL ||
				 memcmp(p, (const float *) d->values + rows[i] * 96, 96 * sizeof(float)) != 0)
			(*bad)++;
		if (p != NULL && p >= sink->data && p < sink->data + sink->len)
			in_place++;
	}
	LanceArrayReset(&spill);
	return in_place;
}

/* check_views on a file of write_vectors(version, nulls) in memory: bad rows */
static int
views_of_file(LanceFileVersion version, int nulls, int *in_place)
{
	Data		d;
	Sink		sink = {0};
	LanceFileIo io;
	LanceMemoryFile mem;
	LanceFileReader *r = NULL;
	LanceError	e;
	int			bad = 40;

	*in_place = 0;
	write_vectors(&sink, &d, 3000, version, nulls);
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	if (LanceFileReaderOpen(&r, &io, NULL, &e) == 0)
		*in_place = check_views(r, &d, &sink, &bad, "views_of_file");
	else
		tap_diag("open: %s", e.message);
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);
	return bad;
}

static void
test_take_views(void)
{
	Data		d;
	LanceFileReader *r = NULL;
	Sink		sink = {0};
	LanceFileIo io;
	LanceMemoryFile mem;
	HalfView	half = {&mem, 0, 0};
	LanceArray	spill;
	LanceError	e;
	uint64_t	past = 3000;
	const void *value;
	int			bad;
	int			in_place;

	write_vector_file(&sink, &d, 3000);
	LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
	tap_ok(LanceFileReaderOpen(&r, &io, NULL, &e) == 0, "open a 2.1 vector file: %s", e.message);
	in_place = check_views(r, &d, &sink, &bad, "2.1, all shown");
	tap_ok(bad == 0 && in_place == 40,
		   "2.1 full-zip vectors: all 40 rows shown in place and right (%d in place, %d bad)",
		   in_place, bad);
	LanceArrayInit(&spill, NULL);
	tap_ok(LanceFileReaderTakeViews(r, 0, &past, 1, &value, &spill, &e) == EINVAL,
		   "a row past the end is EINVAL: %s", e.message);
	LanceFileReaderClose(r);

	/* the back end shows some and not others: the others are read */
	io.read = half_read;
	io.view = half_view;
	io.ctx = &half;
	tap_ok(LanceFileReaderOpen(&r, &io, NULL, &e) == 0, "open with a partial view: %s", e.message);
	in_place = check_views(r, &d, &sink, &bad, "2.1, half shown");
	tap_ok(bad == 0 && in_place == half.shown && half.shown > 5 && half.refused > 5,
		   "rows the view refuses are read, the rest shown, all right "
		   "(%d shown, %d refused, %d in place, %d bad)",
		   half.shown, half.refused, in_place, bad);
	LanceFileReaderClose(r);
	free(sink.data);
	free_data(&d);

	/* null rows need control words, and 2.0 pages are never shown */
	bad = views_of_file(LANCE_FILE_VERSION_2_1, 5, &in_place);
	tap_ok(bad == 0 && in_place == 0,
		   "2.1 vectors with null rows: read, not shown; null rows NULL (%d in place, %d bad)",
		   in_place, bad);
	bad = views_of_file(LANCE_FILE_VERSION_2_0, 0, &in_place);
	tap_ok(bad == 0 && in_place == 0, "2.0 vectors: all read, none in place (%d in place, %d bad)",
		   in_place, bad);
}

/*
 * Files LanceDB 0.31.0 wrote (data/lancedb_dict.js made them): id int64 =
 * row, cat utf8 = null when row % 7 == 3, else a colour; lance picks a
 * dictionary for cat.  The 2.1 file's indices and ids are inline-bitpacked
 * (InlineBitpacking(32) indices, InlineBitpacking(64) ids).
 */
static void
test_lancedb_files(void)
{
	static const char *colors[] = {"red", "green", "blue", "white"};
	static const char *files[] = {"data/lancedb_dict_v20.lance", "data/lancedb_dict_v21.lance"};

	for (int v = 0; v < 2; v++)
	{
		FILE	   *fp = fopen(files[v], "rb");
		uint8_t    *buf = malloc(1 << 16);
		size_t		len = fp ? fread(buf, 1, 1 << 16, fp) : 0;
		LanceMemoryFile mem;
		LanceFileIo io;
		LanceFileReader *r = NULL;
		LanceArray	ids,
					cats;
		LanceError	e = {{0}};
		int			rc;
		bool		ok = true;

		if (fp)
			fclose(fp);
		LanceFileIoInitMemory(&io, &mem, buf, len);
		LanceArrayInit(&ids, NULL);
		LanceArrayInit(&cats, NULL);
		rc = LanceFileReaderOpen(&r, &io, NULL, &e);
		if (rc == 0)
			rc = LanceFileReaderReadRange(r, 1, 0, 200, &cats, &e);
		if (rc == 0)
			rc = LanceFileReaderReadRange(r, 0, 0, 200, &ids, &e);
		for (int i = 0; rc == 0 && ok && i < 200; i++)
		{
			const int32_t *o = cats.column.offsets;
			const char *want = i % 7 == 3 ? NULL : colors[(i * 5) % 4];

			ok = ((const int64_t *) ids.column.values)[i] == i &&
				LanceColumnIsValid(&cats.column, i) == (want != NULL) &&
				(want == NULL || ((size_t) (o[i + 1] - o[i]) == strlen(want) &&
								  memcmp((const char *) cats.column.values + o[i], want, strlen(want)) == 0));
			if (!ok)
				tap_diag("row %d differs", i);
		}
		tap_ok(rc == 0 && ok, "LanceDB %s file with a dictionary column reads back (%s)",
			   v == 0 ? "2.0" : "2.1", rc ? e.message : "200 rows");
		LanceArrayReset(&ids);
		LanceArrayReset(&cats);
		LanceFileReaderClose(r);
		free(buf);
	}
}

/* data/lancedb_list_v21.lance (made by data/lancedb_list.js with LanceDB) */
static void
test_lancedb_list(void)
{
	FILE	   *fp = fopen("data/lancedb_list_v21.lance", "rb");
	uint8_t    *buf = malloc(1 << 16);
	size_t		len = fp ? fread(buf, 1, 1 << 16, fp) : 0;
	LanceMemoryFile mem;
	LanceFileIo io;
	LanceFileReader *r = NULL;
	LanceArray	a;
	LanceError	e = {{0}};
	uint64_t	rows[6] = {29, 3, 7, 0, 3, 14};
	bool		ok = true;
	int			rc;

	if (fp)
		fclose(fp);
	LanceFileIoInitMemory(&io, &mem, buf, len);
	LanceArrayInit(&a, NULL);
	rc = LanceFileReaderOpen(&r, &io, NULL, &e);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 1, 0, 30, &a, &e);
	for (int i = 0; rc == 0 && i < 30; i++)
		if (!lancedb_list_row_ok(&a, i, i))
		{
			tap_diag("list row %d differs", i);
			ok = false;
		}
	tap_ok(rc == 0 && ok && a.column.type == LANCE_TYPE_LIST && a.child.type == LANCE_TYPE_FLOAT32,
		   "LanceDB 2.1 list<float> with null lists, empty lists and null items reads back (%s)",
		   rc ? e.message : "30 rows");
	LanceArrayReset(&a);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 1, 7, 9, &a, &e);
	for (int i = 0; rc == 0 && ok && i < 9; i++)
		ok = lancedb_list_row_ok(&a, i, 7 + i);
	LanceArrayReset(&a);
	if (rc == 0)
		rc = LanceFileReaderTake(r, 1, rows, 6, &a, &e);
	for (int i = 0; rc == 0 && ok && i < 6; i++)
		ok = lancedb_list_row_ok(&a, i, (int) rows[i]);
	tap_ok(rc == 0 && ok, "list rows by range and by unsorted take (%s)", rc ? e.message : "ok");
	LanceArrayReset(&a);
	LanceFileReaderClose(r);
	free(buf);
}

/*
 * Lists written by us in format 'version': byte-identical to LanceDB for
 * the fixtures' rows (data/lancedb_list.js, and for 2.0
 * data/lancedb_listempty.js), and random lists (null lists, empty lists,
 * null items; several chunks and pages, in 2.0 offsets pages and item
 * pages that do not line up) read back by range and take.
 */
static void
test_list_writer(LanceFileVersion version)
{
	const char *vs = version == LANCE_FILE_VERSION_2_0 ? "2.0" : "2.1";
	LanceFileWriterOptions vopt = {.version = version};
	LanceSchema s,
				s_notnull;
	LanceField	f;
	int64_t		ids[30];
	int32_t		offs[31];
	float		items[200];
	uint8_t		lv[4] = {0},
				iv[32] = {0};
	int			n = 0;
	LanceColumn child,
				cols[2];
	LanceFileWriter *w;
	Sink		sink = {0};
	FILE	   *fp;
	uint8_t    *ref = malloc(1 << 16);
	size_t		ref_len;

	LanceSchemaInit(&s, NULL);
	f = field_of("id", 0, LANCE_TYPE_INT64, false);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("lf", 1, LANCE_TYPE_LIST, true);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("item", 2, LANCE_TYPE_FLOAT32, true);
	f.parent_id = 1;
	LanceSchemaAddField(&s, &f, NULL);
	/* the same with neither lists nor items nullable */
	LanceSchemaInit(&s_notnull, NULL);
	LanceSchemaCopy(&s_notnull, &s, NULL);
	s_notnull.fields[1].nullable = false;
	s_notnull.fields[2].nullable = false;
	offs[0] = 0;
	for (int i = 0; i < 30; i++)
	{
		ids[i] = i;
		if (i % 5 != 2)
			lv[i / 8] |= (uint8_t) (1 << (i % 8));
		if (i % 5 != 2 && i % 5 != 4)
			for (int j = 0; j < i % 4 + 1; j++)
			{
				items[n] = (i + j) % 6 == 5 ? 0 : (float) (i * 10 + j);
				if ((i + j) % 6 != 5)
					iv[n / 8] |= (uint8_t) (1 << (n % 8));
				n++;
			}
		offs[i + 1] = n;
	}
	memset(&child, 0, sizeof(child));
	memset(cols, 0, sizeof(cols));
	child.type = LANCE_TYPE_FLOAT32;
	child.length = n;
	child.values = items;
	child.validity = iv;
	cols[0].type = LANCE_TYPE_INT64;
	cols[0].length = 30;
	cols[0].values = ids;
	cols[1].type = LANCE_TYPE_LIST;
	cols[1].length = 30;
	cols[1].offsets = offs;
	cols[1].child = &child;
	cols[1].validity = lv;
	LanceFileWriterOpen(&w, sink_write, &sink, &s, &vopt, NULL);
	LanceFileWriterWrite(w, cols, 2, NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	LanceFileWriterClose(w);
	fp = fopen(version == LANCE_FILE_VERSION_2_0 ? "data/lancedb_list_v20.lance" :
			   "data/lancedb_list_v21.lance", "rb");
	ref_len = fp ? fread(ref, 1, 1 << 16, fp) : 0;
	if (fp)
		fclose(fp);
	tap_ok(ref_len > 0 && sink.len == ref_len && memcmp(sink.data, ref, ref_len) == 0,
		   "%s: a list<float> file byte-identical to LanceDB's (%zu bytes)", vs, sink.len);
	free(sink.data);

	/*
	 * random lists, small pages: several chunks and pages; v 2 has pages of
	 * a few hundred bytes, so some hold rows without items
	 */
	for (int v = 0; v < 3; v++)
	{
		enum
		{
			R = 6000
		};
		int32_t    *o = malloc((R + 1) * sizeof(int32_t));
		float	   *it = malloc(R * 12 * sizeof(float));
		uint8_t    *lval = calloc(R / 8 + 1, 1);
		uint8_t    *ival = calloc(R * 12 / 8 + 1, 1);
		int64_t    *id = malloc(R * sizeof(int64_t));
		LanceFileWriterOptions opt;
		LanceFileReader *r = NULL;
		LanceMemoryFile mem;
		LanceFileIo io;
		LanceArray	a;
		LanceError	e = {{0}};
		uint64_t	take[100];
		int			rc;
		bool		ok = true;

		n = 0;
		o[0] = 0;
		for (int i = 0; i < R; i++)
		{
			int			len = (int) (rnd() % (v == 2 ? 3 : 12));
			bool		null = v >= 1 && rnd() % 9 == 0;

			id[i] = i;
			if (!null)
				lval[i / 8] |= (uint8_t) (1 << (i % 8));
			for (int j = 0; !null && j < len; j++)
			{
				it[n] = (float) rnd();
				if (v == 0 || rnd() % 7 != 0)
					ival[n / 8] |= (uint8_t) (1 << (n % 8));
				n++;
			}
			o[i + 1] = n;
		}
		child.length = n;
		child.values = it;
		child.validity = v ? ival : NULL;
		cols[0].length = cols[1].length = R;
		cols[0].values = id;
		cols[1].offsets = o;
		cols[1].validity = v ? lval : NULL;
		memset(&sink, 0, sizeof(sink));
		LanceFileWriterOptionsInit(&opt);
		opt.version = version;
		opt.page_bytes = v == 2 ? 200 : 30000;
		rc = LanceFileWriterOpen(&w, sink_write, &sink, v == 0 ? &s_notnull : &s, &opt, &e);
		if (rc == 0)
			rc = LanceFileWriterWrite(w, cols, 2, &e);
		if (rc == 0)
			rc = LanceFileWriterFinish(w, NULL, &e);
		LanceFileWriterClose(w);
		LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
		if (rc == 0)
			rc = LanceFileReaderOpen(&r, &io, NULL, &e);
		LanceArrayInit(&a, NULL);
		for (int pass = 0; rc == 0 && pass < 2; pass++)
		{
			int			k = pass == 0 ? R : 100;

			for (int i = 0; i < 100; i++)
				take[i] = rnd() % R;
			rc = pass == 0 ? LanceFileReaderReadRange(r, 1, 0, R, &a, &e) :
				LanceFileReaderTake(r, 1, take, 100, &a, &e);
			for (int q = 0; rc == 0 && ok && q < k; q++)
			{
				int			i = pass == 0 ? q : (int) take[q];
				const int32_t *ao = a.column.offsets;
				bool		valid = cols[1].validity == NULL || LanceBitGet(lval, (uint64_t) i);

				ok = LanceColumnIsValid(&a.column, q) == valid;
				if (ok && valid)
				{
					ok = ao[q + 1] - ao[q] == o[i + 1] - o[i];
					for (int j = 0; ok && j < o[i + 1] - o[i]; j++)
					{
						bool		iv_ok = child.validity == NULL || LanceBitGet(ival, (uint64_t) (o[i] + j));

						ok = LanceColumnIsValid(&a.child, ao[q] + j) == iv_ok &&
							(!iv_ok || ((const float *) a.child.values)[ao[q] + j] == it[o[i] + j]);
					}
				}
				if (!ok)
					tap_diag("list row %d (pass %d) differs", i, pass);
			}
			LanceArrayReset(&a);
		}
		tap_ok(rc == 0 && ok, "%s: %d random lists%s in several chunks and pages%s read back (%s)", vs, R,
			   v ? " with null lists and null items" : " (not nullable)", v == 2 ? " of 200 bytes" : "",
			   rc ? e.message : "range and take");
		LanceFileReaderClose(r);
		free(sink.data);
		free(o);
		free(it);
		free(lval);
		free(ival);
		free(id);
	}
	/* a page of only null and empty lists (all-null layout with levels) */
	{
		int32_t		eo[11] = {0};
		uint8_t		elv[2] = {0x55, 0x01};	/* even rows empty, odd rows null */
		LanceFileReader *r = NULL;
		LanceMemoryFile mem;
		LanceFileIo io;
		LanceArray	a;
		int			rc;
		bool		ok;

		child.length = 0;
		child.validity = NULL;
		cols[0].length = cols[1].length = 10;
		cols[0].values = ids;
		cols[1].offsets = eo;
		cols[1].validity = elv;
		memset(&sink, 0, sizeof(sink));
		rc = LanceFileWriterOpen(&w, sink_write, &sink, &s, &vopt, NULL);
		if (rc == 0)
			rc = LanceFileWriterWrite(w, cols, 2, NULL);
		if (rc == 0)
			rc = LanceFileWriterFinish(w, NULL, NULL);
		LanceFileWriterClose(w);
		if (version == LANCE_FILE_VERSION_2_0)
		{
			/* data/lancedb_listempty.js wrote the same rows */
			fp = fopen("data/lancedb_listempty_v20.lance", "rb");
			ref_len = fp ? fread(ref, 1, 1 << 16, fp) : 0;
			if (fp)
				fclose(fp);
			tap_ok(rc == 0 && ref_len > 0 && sink.len == ref_len && memcmp(sink.data, ref, ref_len) == 0,
				   "2.0: a list column without items (one empty item page) byte-identical to LanceDB's (%zu bytes)",
				   sink.len);
		}
		LanceFileIoInitMemory(&io, &mem, sink.data, sink.len);
		LanceArrayInit(&a, NULL);
		if (rc == 0)
			rc = LanceFileReaderOpen(&r, &io, NULL, NULL);
		if (rc == 0)
			rc = LanceFileReaderReadRange(r, 1, 0, 10, &a, NULL);
		ok = rc == 0 && a.column.null_count == 5;
		for (int i = 0; ok && i < 10; i++)
			ok = LanceColumnIsValid(&a.column, i) == (i % 2 == 0 || i == 8) &&
				((const int32_t *) a.column.offsets)[i + 1] == 0;
		tap_ok(ok, "%s: a page of only empty and null lists round trips", vs);
		LanceArrayReset(&a);
		LanceFileReaderClose(r);
		free(sink.data);
	}
	free(ref);
	LanceSchemaReset(&s);
	LanceSchemaReset(&s_notnull);
}

/*
 * Every byte the reader allocates, protobuf metadata included, comes from
 * the caller's allocator and goes back to it; and running out of memory at
 * any allocation of Open fails cleanly with ENOMEM, leaking nothing.
 */
static void
test_reader_allocator(void)
{
	FILE	   *fp = fopen("data/lancedb_dict_v21.lance", "rb");
	uint8_t    *buf = malloc(1 << 16);
	size_t		len = fp ? fread(buf, 1, 1 << 16, fp) : 0;
	CountingAllocator counter = {0, 0, -1};
	LanceAllocator alloc = {counting_alloc, counting_realloc, counting_free, &counter};
	LanceMemoryFile mem;
	LanceFileIo io;
	LanceFileReader *r = NULL;
	LanceArray	a;
	int64_t		open_calls;
	bool		clean = true;
	int			in_protobuf = 0;
	int			rc;

	if (fp)
		fclose(fp);
	LanceFileIoInitMemory(&io, &mem, buf, len);
	rc = LanceFileReaderOpen(&r, &io, &alloc, NULL);
	open_calls = counter.calls;
	LanceArrayInit(&a, &alloc);
	if (rc == 0)
		rc = LanceFileReaderReadRange(r, 1, 0, 200, &a, NULL);
	tap_ok(rc == 0 && open_calls > 0, "open and read with a counting allocator (%lld allocations in open)",
		   (long long) open_calls);
	LanceArrayReset(&a);
	LanceFileReaderClose(r);
	tap_ok(counter.live_bytes == 0, "every byte allocated is freed (%lld left)", (long long) counter.live_bytes);

	for (int64_t budget = 0; budget < open_calls; budget++)
	{
		LanceError	e = {{0}};

		counter = (CountingAllocator) {0, 0, budget};
		r = NULL;
		rc = LanceFileReaderOpen(&r, &io, &alloc, &e);
		if (rc == ENOMEM && strstr(e.message, "ran out of memory decoding") != NULL)
			in_protobuf++;
		if (rc != ENOMEM || counter.live_bytes != 0)
		{
			clean = false;
			tap_diag("allocation %lld failing: rc %d (%s), %lld bytes left", (long long) budget, rc,
					 e.message, (long long) counter.live_bytes);
			if (rc == 0)
				LanceFileReaderClose(r);
			break;
		}
	}
	tap_ok(clean, "out of memory at each of the %lld allocations of open is ENOMEM and leaks nothing",
		   (long long) open_calls);
	tap_ok(in_protobuf > 0, "%d of them fail inside protobuf-c and say memory ran out (not corrupt)",
		   in_protobuf);
	free(buf);
}

int
main(void)
{
	rng_state = 0x9e3779b97f4a7c15ull;
	test_exact_bytes();
	test_types();
	test_shapes();
	test_fsl_null_items();
	test_misc();
	test_fd();
	test_threads();
	test_chunk_map_cache();
	test_read_many();
	test_take_views();
	test_lancedb_files();
	test_lancedb_list();
	test_list_writer(LANCE_FILE_VERSION_2_1);
	test_list_writer(LANCE_FILE_VERSION_2_0);
	test_reader_allocator();
	return tap_done();
}
