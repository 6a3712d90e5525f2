/*
 * test_lance_manifest.c
 *	  Unit tests of src/lance/manifest.c and versions.c: manifest encode and
 *	  decode round trips (with and without deletion files, row ids, index
 *	  and transaction sections, unmodelled fields), the 16-byte tail framing,
 *	  corrupt and truncated manifests, version file names, and manifests
 *	  written by LanceDB 0.31.0 (test/unit/data/lance/, see README there).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/lance_dataset.h"
#include "lance_test_util.h"
#include "tap.h"

#ifndef DATA_DIR
#define DATA_DIR "data/lance"
#endif

static void
fill_manifest(LanceManifest *m)
{
	LanceManifestField f = {0};
	LanceFragment frag = {0};
	LanceDataFile df = {0};
	int32_t		fields[] = {0, 1};
	int32_t		cols[] = {0, 1};
	LanceKeyValue kv = {(char *) "k", (uint8_t *) "v", 1};
	LanceError	err;

	f.name = (char *) "id";
	f.id = 0;
	f.parent_id = -1;
	f.logical_type = (char *) "int64";
	f.encoding = 1;
	LanceManifestAddField(m, &f, &err);
	f.name = (char *) "vec";
	f.id = 1;
	f.logical_type = (char *) "fixed_size_list:float:4";
	f.nullable = true;
	f.metadata = &kv;
	f.num_metadata = 1;
	LanceManifestAddField(m, &f, &err);

	df.path = (char *) "a.lance";
	df.fields = fields;
	df.column_indices = cols;
	df.num_fields = 2;
	df.num_column_indices = 2;
	df.major_version = 2;
	df.minor_version = 1;
	df.size_bytes = 1011;
	frag.id = 0;
	frag.files = &df;
	frag.num_files = 1;
	frag.physical_rows = 5;
	LanceManifestAddFragment(m, &frag, &err);
	frag.id = 1;
	frag.has_deletion_file = true;
	frag.deletion_file.type = LANCE_DELETION_BITMAP;
	frag.deletion_file.read_version = 1;
	frag.deletion_file.id = 15887569176806614413ULL;
	frag.deletion_file.num_deleted_rows = 2;
	frag.row_ids = (uint8_t *) "\x0a\x06\x0a\x04\x08\x00\x10\x05";
	frag.row_ids_len = 8;
	LanceManifestAddFragment(m, &frag, &err);

	m->version = 3;
	m->timestamp_seconds = 1700000000;
	m->timestamp_nanos = 123;
	m->reader_feature_flags = 1;
	m->writer_feature_flags = 1;
	m->has_max_fragment_id = true;
	m->max_fragment_id = 1;
	m->writer_library = strdup("lancedb-pg");
	m->writer_version = strdup("0.1.0");
	m->data_format = strdup("lance");
	m->data_format_version = strdup("2.1");
	m->transaction_file = strdup("");
	m->schema_metadata = calloc(1, sizeof(LanceKeyValue));
	m->schema_metadata[0].key = strdup("embedding");
	m->schema_metadata[0].value = (uint8_t *) strdup("{}");
	m->schema_metadata[0].value_len = 2;
	m->num_schema_metadata = 1;
}

static bool
same_manifest(const LanceManifest *a, const LanceManifest *b)
{
	if (a->num_fields != b->num_fields || a->num_fragments != b->num_fragments ||
		a->version != b->version || a->timestamp_seconds != b->timestamp_seconds ||
		a->timestamp_nanos != b->timestamp_nanos ||
		a->reader_feature_flags != b->reader_feature_flags ||
		a->has_max_fragment_id != b->has_max_fragment_id ||
		a->max_fragment_id != b->max_fragment_id ||
		strcmp(a->writer_library, b->writer_library) != 0 ||
		strcmp(a->data_format_version, b->data_format_version) != 0 ||
		a->num_schema_metadata != b->num_schema_metadata ||
		a->index_section_len != b->index_section_len ||
		a->transaction_len != b->transaction_len || a->extra_len != b->extra_len)
		return false;
	for (int i = 0; i < a->num_fields; i++)
		if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
			strcmp(a->fields[i].logical_type, b->fields[i].logical_type) != 0 ||
			a->fields[i].id != b->fields[i].id || a->fields[i].parent_id != b->fields[i].parent_id ||
			a->fields[i].nullable != b->fields[i].nullable ||
			a->fields[i].num_metadata != b->fields[i].num_metadata)
			return false;
	for (int i = 0; i < a->num_fragments; i++)
	{
		const LanceFragment *x = &a->fragments[i];
		const LanceFragment *y = &b->fragments[i];

		if (x->id != y->id || x->physical_rows != y->physical_rows ||
			x->num_files != y->num_files || x->has_deletion_file != y->has_deletion_file ||
			x->row_ids_len != y->row_ids_len ||
			(x->row_ids_len && memcmp(x->row_ids, y->row_ids, x->row_ids_len) != 0) ||
			x->deletion_file.id != y->deletion_file.id ||
			x->deletion_file.type != y->deletion_file.type ||
			x->deletion_file.num_deleted_rows != y->deletion_file.num_deleted_rows)
			return false;
		for (int j = 0; j < x->num_files; j++)
			if (strcmp(x->files[j].path, y->files[j].path) != 0 ||
				x->files[j].num_fields != y->files[j].num_fields ||
				x->files[j].size_bytes != y->files[j].size_bytes ||
				x->files[j].minor_version != y->files[j].minor_version ||
				memcmp(x->files[j].column_indices, y->files[j].column_indices,
					   sizeof(int32_t) * (size_t) x->files[j].num_fields) != 0)
				return false;
	}
	return true;
}

static void
test_round_trip(void)
{
	LanceManifest m;
	LanceManifest d;
	LanceManifest c;
	LanceError	err = {{0}};
	uint8_t    *bytes;
	size_t		len;
	int			rc;

	LanceManifestInit(&m, NULL);
	fill_manifest(&m);
	rc = LanceManifestEncode(&m, &bytes, &len, &err);
	tap_ok(rc == 0, "encode a manifest (%s)", err.message);
	tap_ok(len > 16 && memcmp(bytes + len - 4, "LANC", 4) == 0 &&
		   bytes[len - 8] == 0 && bytes[len - 6] == 2, "tail ends with major 0, minor 2, LANC");
	tap_ok(bytes[len - 16] == 0 && bytes[len - 15] == 0, "without sections the manifest is at offset 0");
	LanceManifestInit(&d, NULL);
	rc = LanceManifestDecode(bytes, len, &d, &err);
	tap_ok(rc == 0 && same_manifest(&m, &d), "decode gives the same manifest (%s)", err.message);
	tap_ok(d.fragments[1].has_deletion_file && !d.fragments[0].has_deletion_file &&
		   d.fragments[1].deletion_file.id == 15887569176806614413ULL,
		   "deletion file reference survives");
	tap_ok(LanceFragmentLiveRows(&d.fragments[1]) == 3, "live rows = physical - deleted");
	tap_ok(d.fields[0].parent_id == -1 && d.fields[1].num_metadata == 1 &&
		   d.fields[1].metadata[0].value_len == 1, "parent id -1 and field metadata survive");

	/* copy, then every truncation must fail cleanly */
	LanceManifestInit(&c, NULL);
	rc = LanceManifestCopy(&c, &d, &err);
	tap_ok(rc == 0 && same_manifest(&c, &d), "deep copy");
	LanceManifestReset(&c);
	{
		int			bad = 0;

		for (size_t n = 0; n < len; n++)
		{
			LanceManifest t;

			LanceManifestInit(&t, NULL);
			if (LanceManifestDecode(bytes, n, &t, &err) != EINVAL)
				bad++;
			LanceManifestReset(&t);
		}
		tap_ok(bad == 0, "all %zu truncations give EINVAL (%d did not)", len, bad);
	}
	{
		int			crashes_or_ok = 0;
		uint8_t    *copy = malloc(len);

		/* flip every byte of the tail but the minor version, which is not checked */
		for (size_t i = len - 16; i < len; i++)
		{
			LanceManifest t;

			if (i == len - 6 || i == len - 5)
				continue;
			memcpy(copy, bytes, len);
			copy[i] ^= 0x5a;
			LanceManifestInit(&t, NULL);
			if (LanceManifestDecode(copy, len, &t, &err) == 0)
				crashes_or_ok++;
			LanceManifestReset(&t);
		}
		tap_ok(crashes_or_ok == 0, "corrupt tails are refused (%d accepted)", crashes_or_ok);
		free(copy);
	}
	{
		CountingAllocator counter;
		LanceAllocator alloc = {counting_alloc, counting_realloc, counting_free, &counter};
		int			bad = 0,
					in_protobuf = 0;
		int64_t		budget;

		/* out of memory at each allocation: ENOMEM, never "corrupt", no leak */
		for (budget = 0;; budget++)
		{
			LanceManifest t;

			counter = (CountingAllocator) {0, 0, budget};
			LanceManifestInit(&t, &alloc);
			rc = LanceManifestDecode(bytes, len, &t, &err);
			LanceManifestReset(&t);
			if (rc == 0)
				break;
			if (rc != ENOMEM || counter.live_bytes != 0)
			{
				tap_diag("allocation %lld failing: rc %d (%s), %lld bytes left", (long long) budget,
						 rc, err.message, (long long) counter.live_bytes);
				bad++;
			}
			in_protobuf += strstr(err.message, "ran out of memory decoding") != NULL;
		}
		tap_ok(bad == 0 && in_protobuf > 0,
			   "decode out of memory at each of %lld allocations: ENOMEM (%d inside protobuf-c), no leak",
			   (long long) budget, in_protobuf);
	}
	free(bytes);
	LanceManifestReset(&d);
	LanceManifestReset(&m);
}

static void
test_sections_and_extra(void)
{
	LanceManifest m;
	LanceManifest d;
	LanceManifest d2;
	LanceError	err = {{0}};
	uint8_t    *bytes;
	size_t		len;
	uint8_t    *bytes2;
	size_t		len2;
	/* unknown field 99 (varint 7) and config map entry {"a":"b"} (field 16) */
	static const uint8_t extra[] = {0x98, 0x06, 0x07,
	0x82, 0x01, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b'};
	int			rc;

	LanceManifestInit(&m, NULL);
	fill_manifest(&m);
	m.index_section = malloc(3);
	memcpy(m.index_section, "\x0a\x01\x00", 3);
	m.index_section_len = 3;
	m.transaction = malloc(2);
	memcpy(m.transaction, "\x08\x02", 2);
	m.transaction_len = 2;
	m.extra = malloc(sizeof(extra));
	memcpy(m.extra, extra, sizeof(extra));
	m.extra_len = sizeof(extra);
	rc = LanceManifestEncode(&m, &bytes, &len, &err);
	tap_ok(rc == 0, "encode with index section, transaction and extra fields (%s)", err.message);
	tap_ok(bytes[0] == 3 && bytes[4] == 0x0a && bytes[7] == 2 && bytes[11] == 0x08,
		   "index section at 0, transaction after it, both length-prefixed");
	LanceManifestInit(&d, NULL);
	rc = LanceManifestDecode(bytes, len, &d, &err);
	tap_ok(rc == 0 && d.index_section_len == 3 && memcmp(d.index_section, "\x0a\x01\x00", 3) == 0 &&
		   d.transaction_len == 2 && memcmp(d.transaction, "\x08\x02", 2) == 0,
		   "sections come back (%s)", err.message);
	tap_ok(rc == 0 && d.extra_len > 0, "unmodelled fields are kept as extra bytes");
	rc = LanceManifestEncode(&d, &bytes2, &len2, &err);
	tap_ok(rc == 0 && len2 == len && memcmp(bytes, bytes2, len) == 0,
		   "re-encoding a decoded manifest gives identical bytes");
	LanceManifestInit(&d2, NULL);
	rc = LanceManifestDecode(bytes2, len2, &d2, &err);
	tap_ok(rc == 0 && same_manifest(&d, &d2), "and decodes to the same model");

	/* an index section pointing past the manifest start is corrupt */
	{
		LanceManifest t;

		bytes[0] = 0xff;
		LanceManifestInit(&t, NULL);
		rc = LanceManifestDecode(bytes, len, &t, &err);
		tap_ok(rc == EINVAL, "index section overrunning the manifest: EINVAL (%s)", err.message);
		LanceManifestReset(&t);
	}
	free(bytes);
	free(bytes2);
	LanceManifestReset(&d);
	LanceManifestReset(&d2);
	LanceManifestReset(&m);
}

static void
test_flags(void)
{
	LanceManifest m;
	LanceError	err = {{0}};

	LanceManifestInit(&m, NULL);
	m.reader_feature_flags = 1 | 2 | 16;
	tap_ok(LanceManifestCheckReadable(&m, &err) == 0, "reader flags 1|2|16 are readable");
	m.reader_feature_flags = 64;
	tap_ok(LanceManifestCheckReadable(&m, &err) == ENOTSUP, "reader flag 64 is ENOTSUP (%s)",
		   err.message);
	LanceManifestReset(&m);
}

static void
test_version_names(void)
{
	char		buf[64];
	uint64_t	v;
	LanceVersionNaming n;
	LanceError	err;

	LanceVersionFormatName(LANCE_NAMING_V2, 1, buf, sizeof(buf), &err);
	tap_ok(strcmp(buf, "18446744073709551614.manifest") == 0, "V2 name of version 1: %s", buf);
	LanceVersionFormatName(LANCE_NAMING_V1, 12, buf, sizeof(buf), &err);
	tap_ok(strcmp(buf, "12.manifest") == 0, "V1 name of version 12: %s", buf);
	tap_ok(LanceVersionParseName("18446744073709551613.manifest", &v, &n) == 0 && v == 2 &&
		   n == LANCE_NAMING_V2, "parse V2 name");
	tap_ok(LanceVersionParseName("7.manifest", &v, &n) == 0 && v == 7 && n == LANCE_NAMING_V1,
		   "parse V1 name");
	tap_ok(LanceVersionParseName("d7.manifest", &v, &n) == ENOENT &&
		   LanceVersionParseName(".7.manifest.123.tmp", &v, &n) == ENOENT &&
		   LanceVersionParseName("latest_version_hint.json", &v, &n) == ENOENT &&
		   LanceVersionParseName("99999999999999999999999.manifest", &v, &n) == ENOENT &&
		   LanceVersionParseName("0.manifest", &v, &n) == ENOENT &&
		   LanceVersionParseName(".manifest", &v, &n) == ENOENT,
		   "detached, temp, hint, overflowing and zero names are not versions");
	tap_ok(LanceVersionFormatName(LANCE_NAMING_V2, 0, buf, sizeof(buf), &err) == EINVAL,
		   "version 0 has no name");
}

/* Manifests written by LanceDB 0.31.0 (see data/lance/README.md). */
static void
test_lancedb_fixtures(void)
{
	static const struct
	{
		const char *dir;
		uint64_t	version;
		int			fragments;
		bool		deletions;
		bool		row_ids;
		int			fields;
		bool		index;
	}			cases[] = {
		{"plain.lance", 3, 2, false, false, 3, true},
		{"deleted.lance", 2, 1, true, false, 3, false},
		{"rowids.lance", 3, 2, true, true, 3, false},
		{"v1names.lance", 1, 1, false, false, 3, false},
		{"v20.lance", 1, 1, false, false, 3, false},
		{"bitmap.lance", 2, 1, true, false, 1, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		path[512];
		LanceManifest m;
		LanceError	err = {{0}};
		int			rc;
		bool		dels = false;
		bool		rids = true;

		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, cases[i].dir);
		LanceManifestInit(&m, NULL);
		rc = LanceManifestRead(path, 0, &m, &err);
		if (!tap_ok(rc == 0, "read LanceDB manifest %s (%s)", cases[i].dir, err.message))
			continue;
		for (int f = 0; f < m.num_fragments; f++)
		{
			dels |= m.fragments[f].has_deletion_file;
			rids &= m.fragments[f].row_ids != NULL;
		}
		tap_ok(m.version == cases[i].version && m.num_fragments == cases[i].fragments &&
			   dels == cases[i].deletions && rids == cases[i].row_ids &&
			   strcmp(m.writer_library, "lance") == 0 && m.num_fields == cases[i].fields &&
			   (m.index_section != NULL) == cases[i].index &&
			   strcmp(m.fields[0].name, "id") == 0 && m.fields[0].parent_id == -1 &&
			   LanceManifestCheckReadable(&m, &err) == 0,
			   "%s: version %llu, %d fragments, deletions %d, row ids %d", cases[i].dir,
			   (unsigned long long) m.version, m.num_fragments, dels, rids);
		{
			uint8_t    *bytes;
			size_t		len;
			LanceManifest d;

			LanceManifestInit(&d, NULL);
			rc = LanceManifestEncode(&m, &bytes, &len, &err);
			if (rc == 0)
				rc = LanceManifestDecode(bytes, len, &d, &err);
			tap_ok(rc == 0 && same_manifest(&m, &d), "%s re-encodes losslessly", cases[i].dir);
			if (rc == 0)
				free(bytes);
			LanceManifestReset(&d);
		}
		LanceManifestReset(&m);
	}
}

int
main(void)
{
	test_round_trip();
	test_sections_and_extra();
	test_flags();
	test_version_names();
	test_lancedb_fixtures();
	return tap_done();
}
