/*
 * make_fixtures.c
 *	  Inputs for the lance-inspect tests (test/tools/run.sh), written with the
 *	  Lance library's writer so the expected dump output is known exactly:
 *
 *	  make_fixtures DIR
 *
 *	DIR/special.lance   one 2.1 data file, 5 rows of values that exercise
 *						every rule of the JSON format (integers beyond 2^53,
 *						NaN, -0, float16, escapes, hex, dates, nulls)
 *	DIR/special_v20.lance  the same rows in a 2.0 file
 *	DIR/ds              a 2.1 dataset: id int64 not null, name utf8, score
 *						double; fragments 0 and 1 of 3 rows each (ids 0..5,
 *						version 1), then row 1 of fragment 0 deleted
 *						(version 2)
 *
 * DIR must exist.  Errors go to stderr with exit status 1.
 */
#include "lance/lance.h"
#include "lance/lance_dataset.h"
#include "lance/lance_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
fail(const char *what, int rc, const LanceError *error)
{
	fprintf(stderr, "make_fixtures: %s: %s (%d)\n", what, LanceErrorMessage(error), rc);
	exit(1);
}

static void
add_field(LanceSchema *s, const char *name, int32_t id, LanceTypeId type, bool nullable,
		  LanceTypeId item, int32_t size, char *tz)
{
	LanceField	f = {0};
	LanceError	error = {{0}};
	int			rc;

	f.name = (char *) name;
	f.id = id;
	f.parent_id = -1;
	f.type = type;
	f.nullable = nullable;
	f.item_type = item;
	f.list_size = size;
	f.timezone = tz;
	if ((rc = LanceSchemaAddField(s, &f, &error)) != 0)
		fail("schema", rc, &error);
}

static LanceColumn
fixed(LanceTypeId type, int64_t n, const void *values, const uint8_t *validity, int64_t nulls)
{
	LanceColumn c = {0};

	c.type = type;
	c.length = n;
	c.values = values;
	c.validity = validity;
	c.null_count = nulls;
	return c;
}

static void
write_file(const char *path, const LanceSchema *schema, const LanceColumn *cols, int32_t ncols,
		   LanceFileVersion version, uint64_t *size)
{
	LanceFileWriter *w = NULL;
	LanceFileWriterOptions options;
	LanceError	error = {{0}};
	int			rc;

	LanceFileWriterOptionsInit(&options);
	options.version = version;
	if ((rc = LanceFileWriterOpenPath(&w, path, schema, &options, &error)) != 0 ||
		(rc = LanceFileWriterWrite(w, cols, ncols, &error)) != 0 ||
		(rc = LanceFileWriterFinish(w, size, &error)) != 0)
		fail(path, rc, &error);
	LanceFileWriterClose(w);
}

/* One row of every kind of value the JSON format has a rule for. */
static void
write_special(const char *dir)
{
	static const int64_t i64[] = {0, -12, INT64_C(9007199254740991), INT64_C(9007199254740992), INT64_MIN};
	static const uint64_t u64[] = {42, UINT64_MAX, 0, UINT64_C(9007199254740992), 7};
	static const uint16_t f16[] = {0x3e00, 0x8000, 0x7c00, 0x0001, 0x7e00};	/* 1.5 -0 inf min-subnormal NaN */
	static const int32_t days[] = {0, -1, 19000, -719528, 2932897};	/* 0000-01-01, 10000-01-01 */
	static const int64_t ts[] = {1600000000000000, -1, 0, INT64_C(9007199254740993), 5};
	static const uint8_t bools = 0x05;	/* true false true false false */
	static const uint8_t valid_i64 = 0x1b;	/* row 2 null */
	static const uint8_t valid_vec = 0x1d;	/* row 1 null */
	static const char text[] = "a\"b\\c\n\t\x01\x7f/\xc3\xa9";
	static const int32_t text_off[] = {0, 3, 5, 9, 9, 13};
	static const uint8_t bin[] = {0x00, 0xff, 0x10};
	static const int32_t bin_off[] = {0, 2, 2, 3, 3, 3};
	static const float vec[] = {0.1f, -2, 0, 0, 1e20f, 1.17549435e-38f, 3, 4, -0.0f, 16777216};
	float		f32[5] = {0.1f, -0.0f, NAN, -INFINITY, 3};
	double		f64[5] = {0.1, 1e300, INFINITY, -0.0, 123456789.125};
	LanceSchema s;
	LanceColumn cols[11];
	LanceColumn vchild;
	char		path[4096];
	char		utc[] = "UTC";

	LanceSchemaInit(&s, NULL);
	add_field(&s, "i64", 0, LANCE_TYPE_INT64, true, 0, 0, NULL);
	add_field(&s, "u64", 1, LANCE_TYPE_UINT64, false, 0, 0, NULL);
	add_field(&s, "f32", 2, LANCE_TYPE_FLOAT32, false, 0, 0, NULL);
	add_field(&s, "f64", 3, LANCE_TYPE_FLOAT64, false, 0, 0, NULL);
	add_field(&s, "h", 4, LANCE_TYPE_FLOAT16, false, 0, 0, NULL);
	add_field(&s, "b", 5, LANCE_TYPE_BOOL, false, 0, 0, NULL);
	add_field(&s, "text", 6, LANCE_TYPE_UTF8, false, 0, 0, NULL);
	add_field(&s, "bin", 7, LANCE_TYPE_BINARY, false, 0, 0, NULL);
	add_field(&s, "d", 8, LANCE_TYPE_DATE32, false, 0, 0, NULL);
	add_field(&s, "ts", 9, LANCE_TYPE_TIMESTAMP_US, false, 0, 0, utc);
	add_field(&s, "vec", 10, LANCE_TYPE_FIXED_SIZE_LIST, true, LANCE_TYPE_FLOAT32, 2, NULL);
	cols[0] = fixed(LANCE_TYPE_INT64, 5, i64, &valid_i64, 1);
	cols[1] = fixed(LANCE_TYPE_UINT64, 5, u64, NULL, 0);
	cols[2] = fixed(LANCE_TYPE_FLOAT32, 5, f32, NULL, 0);
	cols[3] = fixed(LANCE_TYPE_FLOAT64, 5, f64, NULL, 0);
	cols[4] = fixed(LANCE_TYPE_FLOAT16, 5, f16, NULL, 0);
	cols[5] = fixed(LANCE_TYPE_BOOL, 5, &bools, NULL, 0);
	cols[6] = fixed(LANCE_TYPE_UTF8, 5, text, NULL, 0);
	cols[6].offsets = text_off;
	cols[7] = fixed(LANCE_TYPE_BINARY, 5, bin, NULL, 0);
	cols[7].offsets = bin_off;
	cols[8] = fixed(LANCE_TYPE_DATE32, 5, days, NULL, 0);
	cols[9] = fixed(LANCE_TYPE_TIMESTAMP_US, 5, ts, NULL, 0);
	vchild = fixed(LANCE_TYPE_FLOAT32, 10, vec, NULL, 0);
	cols[10] = fixed(LANCE_TYPE_FIXED_SIZE_LIST, 5, NULL, &valid_vec, 1);
	cols[10].child = &vchild;
	cols[10].list_size = 2;
	snprintf(path, sizeof(path), "%s/special.lance", dir);
	write_file(path, &s, cols, 11, LANCE_FILE_VERSION_2_1, NULL);
	snprintf(path, sizeof(path), "%s/special_v20.lance", dir);
	write_file(path, &s, cols, 11, LANCE_FILE_VERSION_2_0, NULL);
	LanceSchemaReset(&s);
}

/* A dataset of two fragments, then a deletion. */
static void
write_dataset(const char *dir)
{
	static const char *const names[6] = {"zero", "one", NULL, "three", "", "five"};
	LanceSchema s;
	LanceFragment frags[2];
	LanceDataFile files[2];
	int32_t		ids[3] = {0, 1, 2};
	char		file_names[2][32];
	char		path[4096];
	LanceDataset ds;
	LanceError	error = {{0}};
	uint32_t	del = 1;
	int			rc;

	LanceSchemaInit(&s, NULL);
	add_field(&s, "id", 0, LANCE_TYPE_INT64, false, 0, 0, NULL);
	add_field(&s, "name", 1, LANCE_TYPE_UTF8, true, 0, 0, NULL);
	add_field(&s, "score", 2, LANCE_TYPE_FLOAT64, true, 0, 0, NULL);
	snprintf(path, sizeof(path), "%s/ds", dir);
	if (mkdir(path, 0755) != 0)
		fail(path, 1, NULL);
	snprintf(path, sizeof(path), "%s/ds/data", dir);
	if (mkdir(path, 0755) != 0)
		fail(path, 1, NULL);
	for (int f = 0; f < 2; f++)
	{
		int64_t		id[3];
		double		score[3];
		char		text[32] = "";
		int32_t		off[4] = {0};
		uint8_t		valid = 0;
		LanceColumn cols[3];
		uint64_t	size;

		for (int r = 0; r < 3; r++)
		{
			const char *name = names[f * 3 + r];

			id[r] = f * 3 + r;
			score[r] = (f * 3 + r) * 0.5;
			if (name)
			{
				valid |= (uint8_t) (1 << r);
				strcat(text, name);
			}
			off[r + 1] = (int32_t) strlen(text);
		}
		cols[0] = fixed(LANCE_TYPE_INT64, 3, id, NULL, 0);
		cols[1] = fixed(LANCE_TYPE_UTF8, 3, text, valid == 7 ? NULL : &valid, valid == 7 ? 0 : 1);
		cols[1].offsets = off;
		cols[2] = fixed(LANCE_TYPE_FLOAT64, 3, score, NULL, 0);
		snprintf(file_names[f], sizeof(file_names[f]), "part-%d.lance", f);
		snprintf(path, sizeof(path), "%s/ds/data/%s", dir, file_names[f]);
		write_file(path, &s, cols, 3, LANCE_FILE_VERSION_2_1, &size);
		memset(&files[f], 0, sizeof(files[f]));
		files[f].path = file_names[f];
		files[f].fields = ids;
		files[f].column_indices = ids;
		files[f].num_fields = 3;
		files[f].num_column_indices = 3;
		files[f].major_version = 2;
		files[f].minor_version = 1;
		files[f].size_bytes = size;
		memset(&frags[f], 0, sizeof(frags[f]));
		frags[f].id = (uint64_t) f;
		frags[f].files = &files[f];
		frags[f].num_files = 1;
		frags[f].physical_rows = 3;
	}
	snprintf(path, sizeof(path), "%s/ds", dir);
	if ((rc = LanceDatasetCreate(path, &s, frags, 2, "2.1", false, NULL, &error)) != 0)
		fail("create", rc, &error);
	if ((rc = LanceDatasetOpen(&ds, path, 0, NULL, &error)) != 0 ||
		(rc = LanceDatasetDelete(&ds, 0, &del, 1, &error)) != 0)
		fail("delete", rc, &error);
	LanceDatasetClose(&ds);
	LanceSchemaReset(&s);
}

int
main(int argc, char **argv)
{
	if (argc != 2)
	{
		fprintf(stderr, "usage: make_fixtures DIR\n");
		return 2;
	}
	write_special(argv[1]);
	write_dataset(argv[1]);
	return 0;
}
