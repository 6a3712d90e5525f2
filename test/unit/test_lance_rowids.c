/*
 * test_lance_rowids.c
 *	  Unit tests of src/lance/rowids.c: every RowIdSequence segment kind,
 *	  the encoder's choice of segment, the row ids LanceDB wrote with stable
 *	  row ids on, and corrupt sequences.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lance/lance_dataset.h"
#include "tap.h"

static bool
decodes_to(const uint8_t *bytes, size_t len, const uint64_t *want, int64_t n)
{
	LanceRowIds ids;
	LanceError	err;
	bool		ok;

	LanceRowIdsInit(&ids, NULL);
	ok = LanceRowIdsDecode(bytes, len, &ids, &err) == 0 && ids.count == n &&
		(n == 0 || memcmp(ids.ids, want, sizeof(uint64_t) * (size_t) n) == 0);
	LanceRowIdsReset(&ids);
	return ok;
}

static bool
round_trip(const uint64_t *values, int64_t n, uint8_t expect_segment_tag)
{
	LanceRowIds ids;
	LanceError	err;
	uint8_t    *bytes;
	size_t		len;
	bool		ok;

	LanceRowIdsInit(&ids, NULL);
	ids.ids = (uint64_t *) values;
	ids.count = n;
	if (LanceRowIdsEncode(&ids, &bytes, &len, &err) != 0)
		return false;
	/* RowIdSequence.segments (0x0a len) then the U64Segment's oneof tag */
	ok = decodes_to(bytes, len, values, n) && (n == 0 || (len > 3 && bytes[2] == expect_segment_tag));
	free(bytes);
	return ok;
}

int
main(void)
{
	/* hand-encoded segments, one of each kind */
	/* Range{3,5} */
	static const uint8_t range[] = {0x0a, 0x06, 0x0a, 0x04, 0x08, 0x03, 0x10, 0x05};
	/* RangeWithBitmap{20,28, bitmap 0b10100101} */
	static const uint8_t bitmap[] = {0x0a, 0x09, 0x1a, 0x07, 0x08, 0x14, 0x10, 0x1c, 0x1a, 0x01, 0xa5};
	/* sorted_array: u32{base 100, [0, 70000]} */
	static const uint8_t sorted32[] = {0x0a, 0x10, 0x22, 0x0e, 0x12, 0x0c, 0x08, 0x64, 0x12, 0x08,
	0, 0, 0, 0, 0x70, 0x11, 0x01, 0x00};
	/* array: u64 [7, 2] */
	static const uint8_t array64[] = {0x0a, 0x16, 0x2a, 0x14, 0x1a, 0x12, 0x12, 0x10,
	7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
	static const uint64_t w_range[] = {3, 4};
	static const uint64_t w_bitmap[] = {20, 22, 25, 27};
	static const uint64_t w_sorted[] = {100, 70100};
	static const uint64_t w_array[] = {7, 2};
	LanceRowIds ids;
	LanceError	err = {{0}};
	int			rc;

	tap_ok(decodes_to(range, sizeof(range), w_range, 2), "Range{3,5}");
	{
		/* RangeWithHoles{10,15, holes u16 base 10 offsets [1,3]} = 10,12,14 */
		static const uint8_t h[] = {0x0a, 0x10, 0x12, 0x0e, 0x08, 0x0a, 0x10, 0x0f, 0x1a, 0x08,
		0x0a, 0x06, 0x08, 0x0a, 0x12, 0x02, 0x01, 0x00};
		static const uint8_t h2[] = {0x0a, 0x12, 0x12, 0x10, 0x08, 0x0a, 0x10, 0x0f, 0x1a, 0x0a,
		0x0a, 0x08, 0x08, 0x0a, 0x12, 0x04, 0x01, 0x00, 0x03, 0x00};
		static const uint64_t w[] = {10, 12, 14};
		static const uint64_t w1[] = {10, 12, 13, 14};

		tap_ok(decodes_to(h, sizeof(h), w1, 4), "RangeWithHoles with one hole (11)");
		tap_ok(decodes_to(h2, sizeof(h2), w, 3), "RangeWithHoles with holes 11 and 13");
	}
	tap_ok(decodes_to(bitmap, sizeof(bitmap), w_bitmap, 4), "RangeWithBitmap, LSB first");
	tap_ok(decodes_to(sorted32, sizeof(sorted32), w_sorted, 2), "sorted_array of u32 offsets");
	tap_ok(decodes_to(array64, sizeof(array64), w_array, 2), "array of u64 values");
	tap_ok(decodes_to((const uint8_t *) "", 0, NULL, 0), "empty sequence");

	/* encoder */
	{
		static const uint64_t contiguous[] = {5, 6, 7, 8};
		static const uint64_t narrow[] = {1000, 1003, 1010};
		static const uint64_t wide[] = {1, 100000, 5000000};
		static const uint64_t huge[] = {1, (uint64_t) 1 << 40};
		static const uint64_t unsorted[] = {9, 3, 4};
		uint8_t    *bytes;
		size_t		len;

		tap_ok(round_trip(contiguous, 4, 0x0a), "contiguous ids encode as one Range");
		tap_ok(round_trip(narrow, 3, 0x22), "sparse sorted ids: sorted_array (u16 offsets)");
		tap_ok(round_trip(wide, 3, 0x22), "wider sorted ids: sorted_array (u32 offsets)");
		tap_ok(round_trip(huge, 2, 0x22), "huge gaps: sorted_array (u64 values)");
		tap_ok(round_trip(unsorted, 3, 0x2a), "unsorted ids: array");
		LanceRowIdsEncodeRange(0, 3, NULL, &bytes, &len, &err);
		tap_ok(len == 6 && memcmp(bytes, "\x0a\x04\x0a\x02\x10\x03", 6) == 0,
			   "Range{0,3} encodes as 0a 04 0a 02 10 03");
		free(bytes);
	}

	/* the row ids LanceDB wrote (stable row ids on) */
	{
		LanceManifest m;

		LanceManifestInit(&m, NULL);
		rc = LanceManifestRead("data/lance/rowids.lance", 0, &m, &err);
		LanceRowIdsInit(&ids, NULL);
		if (rc == 0)
			rc = LanceRowIdsDecode(m.fragments[0].row_ids, m.fragments[0].row_ids_len, &ids, &err);
		if (rc == 0)
			rc = LanceRowIdsDecode(m.fragments[1].row_ids, m.fragments[1].row_ids_len, &ids, &err);
		tap_ok(rc == 0 && m.fragments[0].row_ids_len == 6 &&
			   memcmp(m.fragments[0].row_ids, "\x0a\x04\x0a\x02\x10\x03", 6) == 0,
			   "LanceDB wrote fragment 0's ids as that same Range{0,3}");
		tap_ok(rc == 0 && ids.count == 5 && ids.ids[0] == 0 && ids.ids[4] == 4 &&
			   (m.reader_feature_flags & LANCE_FLAG_STABLE_ROW_IDS) && m.next_row_id == 5,
			   "LanceDB fragments: ids 0..2 and 3..4, next_row_id 5, flag 2 (%s)", err.message);
		LanceRowIdsReset(&ids);
		LanceManifestReset(&m);
	}

	/* corrupt */
	{
		static const uint8_t reversed[] = {0x0a, 0x06, 0x0a, 0x04, 0x08, 0x05, 0x10, 0x03};
		static const uint8_t giant[] = {0x0a, 0x0d, 0x0a, 0x0b, 0x10,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
		static const uint8_t odd16[] = {0x0a, 0x09, 0x22, 0x07, 0x0a, 0x05, 0x08, 0x00, 0x12, 0x01, 0x00};
		static const uint8_t short_bitmap[] = {0x0a, 0x09, 0x1a, 0x07, 0x08, 0x00, 0x10, 0x10, 0x1a, 0x01, 0xff};
		static const uint8_t empty_segment[] = {0x0a, 0x00};
		int			bad = 0;

		LanceRowIdsInit(&ids, NULL);
		bad += LanceRowIdsDecode(reversed, sizeof(reversed), &ids, &err) != EINVAL;
		bad += LanceRowIdsDecode(giant, sizeof(giant), &ids, &err) != EINVAL;
		bad += LanceRowIdsDecode(odd16, sizeof(odd16), &ids, &err) != EINVAL;
		bad += LanceRowIdsDecode(short_bitmap, sizeof(short_bitmap), &ids, &err) != EINVAL;
		bad += LanceRowIdsDecode(empty_segment, sizeof(empty_segment), &ids, &err) != EINVAL;
		bad += LanceRowIdsDecode(range, sizeof(range) - 1, &ids, &err) != EINVAL;
		tap_ok(bad == 0 && ids.count == 0,
			   "reversed range, 2^64 range, odd u16 array, short bitmap, empty segment, truncation: EINVAL");
		LanceRowIdsReset(&ids);
	}
	return tap_done();
}
