/*
 * test_lance_corrupt.c
 *	  Corrupt and truncated data files: every truncation of a small file
 *	  and every single-byte change of it (three ways) must give an error or
 *	  a successful read, never a crash or an out-of-bounds access (this
 *	  test is meant to run under ASan/UBSan).  Uses small 2.1 and 2.0 files
 *	  holding every page layout the writer makes, and a LanceDB-written
 *	  file with a list column.
 */
#include "tap.h"

#include "lance/lance_file.h"
#include "lance/lance_internal.h"
#include "lance_test_util.h"

#include <stdlib.h>
#include <string.h>

/* id int64, vec fsl<float,64> nullable (full-zip), s utf8 nullable, b bool, n all-null int32 */
static void
make_file(Sink *sink, LanceFileVersion version)
{
	enum
	{
		N = 12
	};
	LanceSchema s;
	LanceField	f;
	int64_t		ids[N];
	float		vec[N * 64];
	int32_t		offs[N + 1];
	char		bytes[N * 300];
	uint8_t		valid[2] = {0xfb, 0x0e};
	uint8_t		none[2] = {0, 0};
	uint8_t		bools[2] = {0x5a, 0x03};
	int32_t		ints[N] = {0};
	LanceColumn cols[5];
	LanceColumn child;
	LanceFileWriterOptions o;
	LanceFileWriter *w;
	size_t		total = 0;

	LanceSchemaInit(&s, NULL);
	f = field_of("id", 0, LANCE_TYPE_INT64, false);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("vec", 1, LANCE_TYPE_FIXED_SIZE_LIST, true);
	f.item_type = LANCE_TYPE_FLOAT32;
	f.list_size = 64;
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("s", 2, LANCE_TYPE_UTF8, true);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("b", 3, LANCE_TYPE_BOOL, false);
	LanceSchemaAddField(&s, &f, NULL);
	f = field_of("n", 4, LANCE_TYPE_INT32, true);
	LanceSchemaAddField(&s, &f, NULL);
	offs[0] = 0;
	for (int i = 0; i < N; i++)
	{
		int			len = i == 3 ? 260 : i % 5;	/* one long string: full-zip in 2.1 */

		ids[i] = i * 7;
		for (int j = 0; j < 64; j++)
			vec[i * 64 + j] = (float) (i + j);
		for (int j = 0; j < len; j++)
			bytes[total++] = (char) ('a' + (i + j) % 26);
		offs[i + 1] = (int32_t) total;
	}
	memset(cols, 0, sizeof(cols));
	memset(&child, 0, sizeof(child));
	child.type = LANCE_TYPE_FLOAT32;
	child.length = N * 64;
	child.values = vec;
	cols[0].type = LANCE_TYPE_INT64;
	cols[0].values = ids;
	cols[1].type = LANCE_TYPE_FIXED_SIZE_LIST;
	cols[1].child = &child;
	cols[1].list_size = 64;
	cols[1].validity = valid;
	cols[2].type = LANCE_TYPE_UTF8;
	cols[2].offsets = offs;
	cols[2].values = bytes;
	cols[2].validity = valid;
	cols[3].type = LANCE_TYPE_BOOL;
	cols[3].values = bools;
	cols[4].type = LANCE_TYPE_INT32;
	cols[4].values = ints;
	cols[4].validity = none;
	for (int i = 0; i < 5; i++)
		cols[i].length = N;
	LanceFileWriterOptionsInit(&o);
	o.version = version;
	LanceFileWriterOpen(&w, sink_write, sink, &s, &o, NULL);
	LanceFileWriterWrite(w, cols, 5, NULL);
	LanceFileWriterFinish(w, NULL, NULL);
	LanceFileWriterClose(w);
	LanceSchemaReset(&s);
}

/* Open and read everything; 0 if all of it worked, else the first error. */
static int
read_all(const uint8_t *data, size_t len, LanceError *e)
{
	LanceMemoryFile mem;
	LanceFileIo io;
	LanceFileReader *r;
	int			rc;

	LanceFileIoInitMemory(&io, &mem, data, len);
	rc = LanceFileReaderOpen(&r, &io, NULL, e);
	if (rc != 0)
		return rc;
	for (int32_t f = 0; f < LanceFileReaderSchema(r)->num_fields; f++)
	{
		LanceArray	a;
		uint64_t	n = LanceFileReaderNumRows(r);
		uint64_t	rows[3] = {n ? n - 1 : 0, 0, n / 2};
		int			rc2;

		if (LanceFileReaderSchema(r)->fields[f].parent_id != -1)
			continue;
		if (n > 100000)
			n = 100000;
		LanceArrayInit(&a, NULL);
		rc2 = LanceFileReaderReadRange(r, f, 0, n, &a, e);
		LanceArrayReset(&a);
		if (rc2 == 0 && n > 0)
			rc2 = LanceFileReaderTake(r, f, rows, 3, &a, e);
		LanceArrayReset(&a);
		if (rc == 0)
			rc = rc2;
	}
	LanceFileReaderClose(r);
	return rc;
}

static void
run(LanceFileVersion version, const char *name, const char *fixture)
{
	Sink		sink = {0};
	LanceError	e;
	uint8_t    *copy;
	int			truncated_ok = 0,
				bad_message = 0,
				flipped = 0,
				flip_errors = 0;

	if (fixture != NULL)
	{
		FILE	   *fp = fopen(fixture, "rb");

		sink.data = malloc(1 << 16);
		sink.len = fp ? fread(sink.data, 1, 1 << 16, fp) : 0;
		if (fp)
			fclose(fp);
	}
	else
		make_file(&sink, version);
	tap_ok(read_all(sink.data, sink.len, &e) == 0, "%s: the intact file reads (%zu bytes)", name, sink.len);
	copy = malloc(sink.len);
	for (size_t cut = 0; cut < sink.len; cut++)
	{
		/* a fresh allocation of exactly 'cut' bytes, so ASan sees any overread */
		uint8_t    *t = malloc(cut ? cut : 1);
		int			rc;

		memcpy(t, sink.data, cut);
		e.message[0] = '\0';
		rc = read_all(t, cut, &e);
		if (rc == EINVAL || rc == ENOTSUP)
			truncated_ok++;
		if (rc != 0 && e.message[0] == '\0')
			bad_message++;
		free(t);
	}
	tap_ok(truncated_ok == (int) sink.len, "%s: all %zu truncations are refused with EINVAL/ENOTSUP (%d)",
		   name, sink.len, truncated_ok);
	for (size_t pos = 0; pos < sink.len; pos++)
	{
		static const uint8_t changes[3] = {0xff, 0x01, 0x80};

		for (int c = 0; c < 3; c++)
		{
			int			rc;

			memcpy(copy, sink.data, sink.len);
			copy[pos] ^= changes[c];
			e.message[0] = '\0';
			rc = read_all(copy, sink.len, &e);
			flipped++;
			if (rc != 0)
				flip_errors++;
			if (rc != 0 && e.message[0] == '\0')
				bad_message++;
		}
	}
	tap_ok(true, "%s: %d corrupted copies read without a crash (%d gave errors)", name, flipped, flip_errors);
	tap_ok(bad_message == 0, "%s: every error has a message (%d without)", name, bad_message);
	free(copy);
	free(sink.data);
}

int
main(void)
{
	run(LANCE_FILE_VERSION_2_1, "2.1", NULL);
	run(LANCE_FILE_VERSION_2_0, "2.0", NULL);
	run(LANCE_FILE_VERSION_2_1, "LanceDB list file", "data/lancedb_list_v21.lance");
	run(LANCE_FILE_VERSION_2_0, "LanceDB 2.0 list file", "data/lancedb_list_v20.lance");
	run(LANCE_FILE_VERSION_2_0, "LanceDB 2.0 list file without items", "data/lancedb_listempty_v20.lance");
	run(LANCE_FILE_VERSION_2_1, "LanceDB fixed-size-list null-item file", "data/lancedb_fslnull_v21.lance");
	run(LANCE_FILE_VERSION_2_0, "LanceDB 2.0 fixed-size-list null-item file", "data/lancedb_fslnull_v20.lance");
	run(LANCE_FILE_VERSION_2_1, "LanceDB all-null-item file", "data/lancedb_fslallnull_v21.lance");
	run(LANCE_FILE_VERSION_2_0, "LanceDB 2.0 all-null-item file", "data/lancedb_fslallnull_v20.lance");
	run(LANCE_FILE_VERSION_2_1, "LanceDB dictionary file", "data/lancedb_dict_v21.lance");
	run(LANCE_FILE_VERSION_2_1, "LanceDB General-compressed dictionary file", "data/lancedb_dictz_v21.lance");
	return tap_done();
}
