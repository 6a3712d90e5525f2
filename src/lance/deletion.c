/*
 * deletion.c
 *	  Deletion files: which row offsets of a fragment are deleted.
 *
 * Two forms exist (fact sheet 3.6), chosen by DeletionFile.file_type:
 *	  .arrow  an Arrow IPC file with one uint32 column "row_id" (arrow_ipc.c);
 *	          lance writes it while fewer than 5000 rows are deleted
 *	  .bin    a 32-bit RoaringBitmap in the portable serialization
 * We read both and write the .bin form (any size), which LanceDB reads by
 * the file type recorded in the manifest.
 *
 * The .bin form is parsed here rather than with CRoaring: CRoaring 0.2.66's
 * "safe" deserializer checks lengths but not container contents (sorted
 * arrays, run bounds, bitset cardinalities), and converting an inconsistent
 * bitmap to an array can write out of bounds.  The portable format is small:
 *	  cookie 12346 (no runs): u32 cookie, u32 n, then n x (u16 key, u16 card-1),
 *	      n x u32 offsets, containers
 *	  cookie 12347 (runs):    u32 (cookie | (n-1) << 16), ceil(n/8) bytes of
 *	      run flags, n x (u16 key, u16 card-1), offsets only if n >= 4, containers
 *	  container: run (u16 count, count x (u16 start, u16 len-1)), array
 *	      (card <= 4096 sorted u16), or bitset (8192 bytes)
 * CRoaring writes the file (its output is trusted input to itself).
 */
#include <inttypes.h>
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/arrow_ipc.h"
#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"

#define SERIAL_COOKIE_NO_RUN 12346
#define SERIAL_COOKIE 12347
#define NO_OFFSET_THRESHOLD 4
#define ARRAY_MAX 4096

void
LanceDeletionVectorInit(LanceDeletionVector *v, const LanceAllocator *allocator)
{
	v->rows = NULL;
	v->count = 0;
	v->allocator = allocator;
}

void
LanceDeletionVectorReset(LanceDeletionVector *v)
{
	LanceFree(v->allocator, v->rows, sizeof(uint32_t) * (size_t) v->count);
	LanceDeletionVectorInit(v, v->allocator);
}

bool
LanceDeletionVectorContains(const LanceDeletionVector *v, uint32_t row)
{
	int64_t		lo = 0;
	int64_t		hi = v->count;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (v->rows[mid] < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->count && v->rows[lo] == row;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

/* Sort and drop duplicates in place; returns the new count. */
static int64_t
sort_unique(uint32_t *rows, int64_t n)
{
	int64_t		k = 0;

	if (n <= 1)
		return n;
	qsort(rows, (size_t) n, sizeof(uint32_t), cmp_u32);
	for (int64_t i = 1; i < n; i++)
		if (rows[i] != rows[k])
			rows[++k] = rows[i];
	return k + 1;
}

/* Take ownership of 'rows' (allocated with room for 'n'), sorted or not. */
static int
adopt_rows(LanceDeletionVector *v, uint32_t *rows, int64_t n, LanceError *error)
{
	int64_t		k = sort_unique(rows, n);

	if (k < n && k > 0)
	{
		uint32_t   *p = LanceRealloc(v->allocator, rows, sizeof(uint32_t) * (size_t) n,
								   sizeof(uint32_t) * (size_t) k);

		if (p == NULL)
		{
			LanceFree(v->allocator, rows, sizeof(uint32_t) * (size_t) n);
			return LanceErrorSet(error, ENOMEM, "out of memory building a deletion vector");
		}
		rows = p;
	}
	v->rows = rows;
	v->count = k;
	return 0;
}

int
LanceDeletionVectorAdd(LanceDeletionVector *v, const uint32_t *rows, int64_t count,
					   LanceError *error)
{
	uint32_t   *merged;
	int64_t		n;

	if (count <= 0)
		return 0;
	if (count > INT64_MAX / 8 - v->count)
		return LanceErrorSet(error, EINVAL, "too many deleted rows");
	n = v->count + count;
	merged = LanceAlloc(v->allocator, sizeof(uint32_t) * (size_t) n);
	if (merged == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory building a deletion vector");
	if (v->count > 0)
		memcpy(merged, v->rows, sizeof(uint32_t) * (size_t) v->count);
	memcpy(merged + v->count, rows, sizeof(uint32_t) * (size_t) count);
	LanceDeletionVectorReset(v);
	return adopt_rows(v, merged, n, error);
}

int
LanceDeletionDecodeArrow(const uint8_t *bytes, size_t len, LanceDeletionVector *v,
						 LanceError *error)
{
	uint32_t   *rows;
	int64_t		n;
	int			rc;

	LanceDeletionVectorReset(v);
	rc = LanceArrowIpcReadUInt32(bytes, len, "row_id", v->allocator, &rows, &n, error);
	if (rc != 0)
		return rc;
	if (n == 0)
		return 0;
	return adopt_rows(v, rows, n, error);
}

/* ---- the portable RoaringBitmap form ---- */

int
LanceDeletionDecodeBitmap(const uint8_t *bytes, size_t len, LanceDeletionVector *v,
						  LanceError *error)
{
	uint32_t	cookie;
	uint32_t	n;
	bool		has_runs;
	const uint8_t *run_flags = NULL;
	const uint8_t *headers;
	size_t		pos;
	uint64_t	total = 0;
	uint32_t   *rows;
	int64_t		k = 0;
	int32_t		prev_key = -1;

	LanceDeletionVectorReset(v);
	if (len < 4)
		return LanceErrorSet(error, EINVAL, "expected a RoaringBitmap of at least 4 bytes but found %zu",
						len);
	cookie = LanceLoadU32(bytes);
	if ((cookie & 0xFFFF) == SERIAL_COOKIE)
	{
		has_runs = true;
		n = (cookie >> 16) + 1;
		pos = 4;
		if ((size_t) (n + 7) / 8 > len - pos)
			return LanceErrorSet(error, EINVAL, "RoaringBitmap run flags out of bounds");
		run_flags = bytes + pos;
		pos += (n + 7) / 8;
	}
	else if (cookie == SERIAL_COOKIE_NO_RUN)
	{
		has_runs = false;
		if (len < 8)
			return LanceErrorSet(error, EINVAL, "RoaringBitmap header truncated");
		n = LanceLoadU32(bytes + 4);
		pos = 8;
		if (n > 65536)
			return LanceErrorSet(error, EINVAL, "expected at most 65536 RoaringBitmap containers but found %u",
							n);
	}
	else
		return LanceErrorSet(error, EINVAL,
						"expected a RoaringBitmap cookie (12346 or 12347) but found %u",
						cookie & 0xFFFF);
	if ((uint64_t) n * 4 > len - pos)
		return LanceErrorSet(error, EINVAL, "RoaringBitmap container headers out of bounds");
	headers = bytes + pos;
	pos += (size_t) n * 4;
	if (!has_runs || n >= NO_OFFSET_THRESHOLD)
	{
		/* offsets are redundant with the sizes; skip them and read sequentially */
		if ((uint64_t) n * 4 > len - pos)
			return LanceErrorSet(error, EINVAL, "RoaringBitmap offset header out of bounds");
		pos += (size_t) n * 4;
	}
	for (uint32_t i = 0; i < n; i++)
	{
		int32_t		key = LanceLoadU16(headers + 4 * i);

		if (key <= prev_key)
			return LanceErrorSet(error, EINVAL, "RoaringBitmap container keys are not increasing");
		prev_key = key;
		total += (uint64_t) LanceLoadU16(headers + 4 * i + 2) + 1;
	}
	if (total == 0)
		return 0;
	rows = LanceAlloc(v->allocator, sizeof(uint32_t) * (size_t) total);
	if (rows == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory reading a RoaringBitmap");

	for (uint32_t i = 0; i < n; i++)
	{
		uint32_t	high = (uint32_t) LanceLoadU16(headers + 4 * i) << 16;
		uint32_t	card = (uint32_t) LanceLoadU16(headers + 4 * i + 2) + 1;
		int64_t		start = k;
		const char *bad = NULL;

		if (has_runs && (run_flags[i / 8] >> (i % 8)) & 1)
		{
			uint32_t	nruns;
			int32_t		last = -1;

			if (len - pos < 2)
				bad = "run container truncated";
			else
			{
				nruns = LanceLoadU16(bytes + pos);
				pos += 2;
				if ((uint64_t) nruns * 4 > len - pos)
					bad = "run container truncated";
				for (uint32_t r = 0; bad == NULL && r < nruns; r++)
				{
					uint32_t	s = LanceLoadU16(bytes + pos + 4 * r);
					uint32_t	l = LanceLoadU16(bytes + pos + 4 * r + 2);

					if ((int32_t) s <= last || s + l > 0xFFFF ||
						(uint64_t) (k - start) + l + 1 > card)
						bad = "run container runs overlap, overflow or exceed the cardinality";
					else
					{
						for (uint32_t x = s; x <= s + l; x++)
							rows[k++] = high | x;
						last = (int32_t) (s + l);
					}
				}
				if (bad == NULL)
					pos += (size_t) nruns * 4;
			}
		}
		else if (card <= ARRAY_MAX)
		{
			if ((uint64_t) card * 2 > len - pos)
				bad = "array container truncated";
			for (uint32_t j = 0; bad == NULL && j < card; j++)
			{
				uint32_t	x = LanceLoadU16(bytes + pos + 2 * j);

				if (j > 0 && x <= (rows[k - 1] & 0xFFFF))
					bad = "array container values are not increasing";
				else
					rows[k++] = high | x;
			}
			if (bad == NULL)
				pos += (size_t) card * 2;
		}
		else
		{
			if (len - pos < 8192)
				bad = "bitset container truncated";
			for (uint32_t x = 0; bad == NULL && x < 65536; x++)
			{
				if ((bytes[pos + x / 8] >> (x % 8)) & 1)
				{
					if ((uint64_t) (k - start) >= card)
						bad = "bitset container holds more values than its cardinality";
					else
						rows[k++] = high | x;
				}
			}
			if (bad == NULL)
				pos += 8192;
		}
		if (bad == NULL && (uint64_t) (k - start) != card)
			bad = "container cardinality does not match its contents";
		if (bad != NULL)
		{
			LanceFree(v->allocator, rows, sizeof(uint32_t) * (size_t) total);
			return LanceErrorSet(error, EINVAL, "corrupt RoaringBitmap container %u: %s", i, bad);
		}
	}
	v->rows = rows;
	v->count = k;
	return 0;
}

int
LanceDeletionEncodeBitmap(const LanceDeletionVector *v, uint8_t **bytes, size_t *len,
						  LanceError *error)
{
	roaring_bitmap_t *r;
	size_t		n;
	uint8_t    *out;

	*bytes = NULL;
	*len = 0;
	r = roaring_bitmap_create();
	if (r == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory building a RoaringBitmap");
	if (v->count > 0)
		roaring_bitmap_add_many(r, (size_t) v->count, v->rows);
	n = roaring_bitmap_portable_size_in_bytes(r);
	out = LanceAlloc(v->allocator, n);
	if (out == NULL)
	{
		roaring_bitmap_free(r);
		return LanceErrorSet(error, ENOMEM, "out of memory serializing a RoaringBitmap");
	}
	*len = roaring_bitmap_portable_serialize(r, (char *) out);
	roaring_bitmap_free(r);
	*bytes = out;
	return 0;
}

int
LanceDeletionFormatPath(uint64_t fragment_id, const LanceDeletionFileRef *ref, char *buffer,
						size_t buffer_size, LanceError *error)
{
	int			n = snprintf(buffer, buffer_size, "_deletions/%" PRIu64 "-%" PRIu64 "-%" PRIu64 ".%s",
							 fragment_id, ref->read_version, ref->id,
							 ref->type == LANCE_DELETION_BITMAP ? "bin" : "arrow");

	if (n < 0 || (size_t) n >= buffer_size)
		return LanceErrorSet(error, ENAMETOOLONG, "buffer too small for a deletion file path");
	return 0;
}

int
LanceDeletionRead(const char *dataset_dir, const LanceFragment *fragment,
				  LanceDeletionVector *v, LanceError *error)
{
	char		rel[128];
	char		path[4096];
	uint8_t    *bytes;
	size_t		len;
	int			rc;

	LanceDeletionVectorReset(v);
	if (!fragment->has_deletion_file)
		return 0;
	if (fragment->deletion_file.has_base_id)
		return LanceErrorSet(error, ENOTSUP,
						"deletion file of fragment %" PRIu64 " lives in another base path",
						fragment->id);
	if ((rc = LanceDeletionFormatPath(fragment->id, &fragment->deletion_file, rel, sizeof(rel),
									  error)) != 0 ||
		(rc = LancePathJoin(path, sizeof(path), dataset_dir, rel, error)) != 0 ||
		(rc = LanceFileReadAll(path, v->allocator, &bytes, &len, error)) != 0)
		return rc;
	if (fragment->deletion_file.type == LANCE_DELETION_BITMAP)
		rc = LanceDeletionDecodeBitmap(bytes, len, v, error);
	else
		rc = LanceDeletionDecodeArrow(bytes, len, v, error);
	LanceFree(v->allocator, bytes, len);
	/* very old manifests did not record the count (0); check it when present */
	if (rc == 0 && fragment->deletion_file.num_deleted_rows != 0 &&
		(uint64_t) v->count != fragment->deletion_file.num_deleted_rows)
		rc = LanceErrorSet(error, EINVAL,
					  "expected %" PRIu64 " deleted rows in \"%s\" but found %" PRId64,
					  fragment->deletion_file.num_deleted_rows, path, v->count);
	if (rc == 0 && v->count > 0 && v->rows[v->count - 1] >= fragment->physical_rows)
		rc = LanceErrorSet(error, EINVAL,
					  "deletion file \"%s\" deletes row %u but the fragment has %" PRIu64 " rows",
					  path, v->rows[v->count - 1], fragment->physical_rows);
	if (rc != 0)
		LanceDeletionVectorReset(v);
	return rc;
}
