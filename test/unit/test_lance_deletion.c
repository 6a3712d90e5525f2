/*
 * test_lance_deletion.c
 *	  Unit tests of src/lance/deletion.c and arrow_ipc.c: reading the .arrow
 *	  (Arrow IPC, raw and ZSTD) and .bin (RoaringBitmap) deletion files that
 *	  LanceDB wrote, writing the .bin form, bitmaps with run, array and bitset
 *	  containers, and truncated or corrupt files (errors, never crashes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roaring/roaring.h>

#include "lance/lance_dataset.h"
#include "tap.h"

#define DATA_DIR "data/lance"

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	*len = fread(buf, 1, (size_t) n, f);
	fclose(f);
	return buf;
}

/* the first file in a directory (the fixtures have exactly one) */
static uint8_t *
slurp_dir(const char *dir, size_t *len)
{
	char		cmd[512];
	char		name[512] = "";
	FILE	   *p;

	snprintf(cmd, sizeof(cmd), "ls %s", dir);
	p = popen(cmd, "r");
	if (p == NULL || fgets(name, sizeof(name), p) == NULL)
	{
		if (p)
			pclose(p);
		return NULL;
	}
	pclose(p);
	name[strcspn(name, "\n")] = '\0';
	snprintf(cmd, sizeof(cmd), "%s/%s", dir, name);
	return slurp(cmd, len);
}

typedef int (*DecodeFn) (const uint8_t *, size_t, LanceDeletionVector *, LanceError *);

/* Every truncation must fail; random corruption must never crash. */
static void
abuse(const char *what, DecodeFn fn, const uint8_t *bytes, size_t len)
{
	uint8_t    *copy = malloc(len);
	int			accepted = 0;
	unsigned	seed = 12345;

	for (size_t n = 0; n < len; n++)
	{
		LanceDeletionVector v;
		LanceError	err;

		/* a fresh heap copy so ASan sees reads past the end */
		uint8_t    *t = malloc(n + 1);

		memcpy(t, bytes, n);
		LanceDeletionVectorInit(&v, NULL);
		if (fn(t, n, &v, &err) == 0)
			accepted++;
		LanceDeletionVectorReset(&v);
		free(t);
	}
	tap_ok(accepted == 0, "%s: every truncation is refused (%d accepted)", what, accepted);
	for (int round = 0; round < 3000; round++)
	{
		LanceDeletionVector v;
		LanceError	err;

		memcpy(copy, bytes, len);
		for (int k = 0; k < 1 + round % 4; k++)
		{
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] ^= (uint8_t) (1u << ((seed >> 3) % 8));
		}
		LanceDeletionVectorInit(&v, NULL);
		(void) fn(copy, len, &v, &err);
		LanceDeletionVectorReset(&v);
	}
	tap_ok(true, "%s: 3000 corrupted copies decoded without a crash", what);
	free(copy);
}

static void
test_arrow(void)
{
	LanceDeletionVector v;
	LanceError	err = {{0}};
	uint8_t    *bytes;
	size_t		len = 0;
	int			rc;
	bool		good = true;

	bytes = slurp_dir(DATA_DIR "/deleted.lance/_deletions", &len);
	LanceDeletionVectorInit(&v, NULL);
	rc = LanceDeletionDecodeArrow(bytes, len, &v, &err);
	tap_ok(rc == 0 && v.count == 3 && v.rows[0] == 1 && v.rows[1] == 3 && v.rows[2] == 5,
		   "LanceDB .arrow deletion file (uncompressed buffers): rows 1, 3, 5 (%s)", err.message);
	tap_ok(LanceDeletionVectorContains(&v, 3) && !LanceDeletionVectorContains(&v, 4) &&
		   !LanceDeletionVectorContains(&v, 0) && !LanceDeletionVectorContains(&v, 6),
		   "contains");
	LanceDeletionVectorReset(&v);
	tap_ok(LanceDeletionDecodeBitmap(bytes, len, &v, &err) == EINVAL,
		   "an Arrow file is not a bitmap: EINVAL (%s)", err.message);
	abuse(".arrow", LanceDeletionDecodeArrow, bytes, len);
	free(bytes);

	bytes = slurp(DATA_DIR "/zstd_deletions.arrow", &len);
	rc = LanceDeletionDecodeArrow(bytes, len, &v, &err);
	for (uint32_t i = 0, k = 0; rc == 0 && i < 4500; i++)
		if (i % 10 != 0)
			good &= k < v.count && v.rows[k++] == i;
	tap_ok(rc == 0 && v.count == 4050 && good,
		   "LanceDB .arrow deletion file with a ZSTD body: 4050 rows (%s)", err.message);
	LanceDeletionVectorReset(&v);
	abuse(".arrow zstd", LanceDeletionDecodeArrow, bytes, len);
	free(bytes);
}

static void
test_bitmap(void)
{
	LanceDeletionVector v;
	LanceDeletionVector w;
	LanceError	err = {{0}};
	uint8_t    *bytes;
	size_t		len = 0;
	uint8_t    *enc;
	size_t		enc_len;
	int			rc;
	bool		good = true;

	bytes = slurp_dir(DATA_DIR "/bitmap.lance/_deletions", &len);
	LanceDeletionVectorInit(&v, NULL);
	rc = LanceDeletionDecodeBitmap(bytes, len, &v, &err);
	for (uint32_t i = 0, k = 0; rc == 0 && i < 9000; i++)
		if (i % 9 != 0)
			good &= k < v.count && v.rows[k++] == i;
	tap_ok(rc == 0 && v.count == 8000 && good, "LanceDB .bin deletion file: 8000 rows (%s)",
		   err.message);
	abuse(".bin", LanceDeletionDecodeBitmap, bytes, len);
	free(bytes);

	rc = LanceDeletionEncodeBitmap(&v, &enc, &enc_len, &err);
	LanceDeletionVectorInit(&w, NULL);
	if (rc == 0)
		rc = LanceDeletionDecodeBitmap(enc, enc_len, &w, &err);
	tap_ok(rc == 0 && w.count == v.count &&
		   memcmp(w.rows, v.rows, sizeof(uint32_t) * (size_t) v.count) == 0,
		   "encode .bin and decode it back");
	{
		roaring_bitmap_t *r = roaring_bitmap_portable_deserialize_safe((const char *) enc, enc_len);

		tap_ok(r != NULL && roaring_bitmap_get_cardinality(r) == 8000 &&
			   roaring_bitmap_contains(r, 8999) && !roaring_bitmap_contains(r, 9),
			   "CRoaring reads what we wrote");
		roaring_bitmap_free(r);
	}
	free(enc);
	LanceDeletionVectorReset(&w);
	LanceDeletionVectorReset(&v);

	/* run, array and bitset containers, several keys, as CRoaring writes them */
	{
		roaring_bitmap_t *r = roaring_bitmap_create();
		char	   *buf;
		size_t		n;
		uint64_t	card;

		roaring_bitmap_add_range(r, 10, 5000);	/* run after optimize */
		for (uint32_t x = 70000; x < 70100; x += 3)
			roaring_bitmap_add(r, x);	/* array */
		for (uint32_t x = 200000; x < 260000; x += 2)
			roaring_bitmap_add(r, x);	/* bitset */
		roaring_bitmap_add(r, UINT32_MAX);
		for (int key = 0; key < 6; key++)
			roaring_bitmap_add(r, (uint32_t) (1000000 + key * 65536));
		roaring_bitmap_run_optimize(r);
		card = roaring_bitmap_get_cardinality(r);
		n = roaring_bitmap_portable_size_in_bytes(r);
		buf = malloc(n);
		roaring_bitmap_portable_serialize(r, buf);
		LanceDeletionVectorInit(&v, NULL);
		rc = LanceDeletionDecodeBitmap((uint8_t *) buf, n, &v, &err);
		good = rc == 0 && (uint64_t) v.count == card;
		for (int64_t i = 0; good && i < v.count; i++)
			good = roaring_bitmap_contains(r, v.rows[i]) && (i == 0 || v.rows[i] > v.rows[i - 1]);
		tap_ok(good, "run + array + bitset containers from CRoaring (%llu values) (%s)",
			   (unsigned long long) card, err.message);
		LanceDeletionVectorReset(&v);
		abuse(".bin with runs", LanceDeletionDecodeBitmap, (uint8_t *) buf, n < 600 ? n : 600);
		free(buf);
		roaring_bitmap_free(r);
	}
}

static void
test_vector_and_files(void)
{
	LanceDeletionVector v;
	LanceManifest m;
	LanceError	err = {{0}};
	uint32_t	rows[] = {9, 2, 2, 7};
	uint32_t	more[] = {1, 9};
	LanceDeletionFileRef ref = {LANCE_DELETION_BITMAP, 1, 15887569176806614413ULL, 2, false, 0};
	char		path[128];
	int			rc;

	LanceDeletionVectorInit(&v, NULL);
	LanceDeletionVectorAdd(&v, rows, 4, &err);
	LanceDeletionVectorAdd(&v, more, 2, &err);
	tap_ok(v.count == 4 && v.rows[0] == 1 && v.rows[1] == 2 && v.rows[2] == 7 && v.rows[3] == 9,
		   "add keeps rows sorted and unique");
	LanceDeletionVectorReset(&v);

	LanceDeletionFormatPath(3, &ref, path, sizeof(path), &err);
	tap_ok(strcmp(path, "_deletions/3-1-15887569176806614413.bin") == 0, "path %s", path);
	ref.type = LANCE_DELETION_ARROW;
	LanceDeletionFormatPath(0, &ref, path, sizeof(path), &err);
	tap_ok(strcmp(path, "_deletions/0-1-15887569176806614413.arrow") == 0, "path %s", path);

	LanceManifestInit(&m, NULL);
	rc = LanceManifestRead(DATA_DIR "/rowids.lance", 0, &m, &err);
	if (rc == 0)
		rc = LanceDeletionRead(DATA_DIR "/rowids.lance", &m.fragments[0], &v, &err);
	tap_ok(rc == 0 && v.count == 1 && v.rows[0] == 1,
		   "read the deletion file a manifest names (%s)", err.message);
	LanceDeletionVectorReset(&v);
	if (rc == 0)
	{
		m.fragments[0].deletion_file.num_deleted_rows = 2;
		rc = LanceDeletionRead(DATA_DIR "/rowids.lance", &m.fragments[0], &v, &err);
		tap_ok(rc == EINVAL, "a count that disagrees with the file: EINVAL (%s)", err.message);
		m.fragments[0].deletion_file.id++;
		rc = LanceDeletionRead(DATA_DIR "/rowids.lance", &m.fragments[0], &v, &err);
		tap_ok(rc == ENOENT, "a missing deletion file: ENOENT");
		rc = LanceDeletionRead(DATA_DIR "/rowids.lance", &m.fragments[1], &v, &err);
		tap_ok(rc == 0 && v.count == 0, "a fragment without deletion file: empty");
	}
	LanceManifestReset(&m);
}

int
main(void)
{
	test_arrow();
	test_bitmap();
	test_vector_and_files();
	return tap_done();
}
