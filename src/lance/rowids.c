/*
 * rowids.c
 *	  Stable row ids: decode and encode a fragment's RowIdSequence.
 *
 * With stable row ids on (reader/writer flag 2), every fragment stores the
 * id of each of its rows, in row offset order, as a RowIdSequence of
 * segments (fact sheet 3.8):
 *	  Range [start, end)                  the common case (fresh appends)
 *	  RangeWithHoles [start, end) - holes (holes: absolute values, sorted)
 *	  RangeWithBitmap [start, end) where bit i (LSB first) marks start + i present
 *	  sorted_array / array                an EncodedU64Array: base + u16 or
 *	                                      u32 LE offsets, or raw u64 LE values
 * We expand a sequence into a plain array of ids (LanceRowIds): simple, and
 * the tableam needs random access by row offset anyway.  Encoding writes a
 * single Range when the ids are contiguous, otherwise one array segment with
 * the narrowest offsets that fit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"
#include "lance/proto/rowids.pb-c.h"

/* Upper bound on ids a sequence may expand to; guards against "ranges" of 2^64. */
#define MAX_IDS ((int64_t) 1 << 32)

void
LanceRowIdsInit(LanceRowIds *ids, const LanceAllocator *allocator)
{
	ids->ids = NULL;
	ids->count = 0;
	ids->allocator = allocator;
}

void
LanceRowIdsReset(LanceRowIds *ids)
{
	LanceFree(ids->allocator, ids->ids, sizeof(uint64_t) * (size_t) ids->count);
	LanceRowIdsInit(ids, ids->allocator);
}

/* Make room for 'more' ids; the array is always sized exactly to count + more. */
static int
reserve(LanceRowIds *ids, uint64_t more, LanceError *error)
{
	uint64_t   *p;

	if (more > (uint64_t) (MAX_IDS - ids->count))
		return LanceErrorSet(error, EINVAL, "row id sequence longer than %" PRId64 " ids", MAX_IDS);
	if (more == 0)
		return 0;
	p = LanceRealloc(ids->allocator, ids->ids, sizeof(uint64_t) * (size_t) ids->count,
				   sizeof(uint64_t) * (size_t) (ids->count + (int64_t) more));
	if (p == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory decoding row ids");
	ids->ids = p;
	return 0;
}

/* Expand an EncodedU64Array into the end of ids (room already reserved). */
static int
array_count(const Lance__Table__EncodedU64Array *a, uint64_t *n, LanceError *error)
{
	if (a == NULL)
		return LanceErrorSet(error, EINVAL, "row id segment without its array");
	switch (a->array_case)
	{
		case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U16_ARRAY:
			if (a->u16_array->offsets.len % 2 != 0)
				return LanceErrorSet(error, EINVAL, "u16 row id array of odd length %zu",
								a->u16_array->offsets.len);
			*n = a->u16_array->offsets.len / 2;
			return 0;
		case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U32_ARRAY:
			if (a->u32_array->offsets.len % 4 != 0)
				return LanceErrorSet(error, EINVAL, "u32 row id array length %zu not a multiple of 4",
								a->u32_array->offsets.len);
			*n = a->u32_array->offsets.len / 4;
			return 0;
		case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U64_ARRAY:
			if (a->u64_array->values.len % 8 != 0)
				return LanceErrorSet(error, EINVAL, "u64 row id array length %zu not a multiple of 8",
								a->u64_array->values.len);
			*n = a->u64_array->values.len / 8;
			return 0;
		default:
			return LanceErrorSet(error, EINVAL, "row id array of unknown kind %d", (int) a->array_case);
	}
}

static uint64_t
array_get(const Lance__Table__EncodedU64Array *a, uint64_t i)
{
	switch (a->array_case)
	{
		case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U16_ARRAY:
			return a->u16_array->base_value + LanceLoadU16(a->u16_array->offsets.data + 2 * i);
		case LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U32_ARRAY:
			return a->u32_array->base_value + LanceLoadU32(a->u32_array->offsets.data + 4 * i);
		default:
			return LanceLoadU64(a->u64_array->values.data + 8 * i);
	}
}

static int
decode_segment(const Lance__Table__U64Segment *s, LanceRowIds *ids, LanceError *error)
{
	uint64_t	start;
	uint64_t	end;
	uint64_t	n;
	int			rc;

	switch (s->segment_case)
	{
		case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE:
			start = s->range->start;
			end = s->range->end;
			if (end < start)
				return LanceErrorSet(error, EINVAL, "row id range [%" PRIu64 ", %" PRIu64 ") is reversed",
								start, end);
			if ((rc = reserve(ids, end - start, error)) != 0)
				return rc;
			for (uint64_t v = start; v < end; v++)
				ids->ids[ids->count++] = v;
			return 0;

		case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_HOLES:
			{
				const Lance__Table__EncodedU64Array *holes = s->range_with_holes->holes;
				uint64_t	h = 0;
				uint64_t	nholes;

				start = s->range_with_holes->start;
				end = s->range_with_holes->end;
				if (end < start)
					return LanceErrorSet(error, EINVAL, "row id range with holes is reversed");
				if ((rc = array_count(holes, &nholes, error)) != 0)
					return rc;
				if (end - start > (uint64_t) MAX_IDS)
					return LanceErrorSet(error, EINVAL, "row id range too long");
				if ((rc = reserve(ids, end - start, error)) != 0)
					return rc;
				/* both are sorted: walk them together */
				for (uint64_t v = start; v < end; v++)
				{
					while (h < nholes && array_get(holes, h) < v)
						h++;
					if (h < nholes && array_get(holes, h) == v)
						continue;
					ids->ids[ids->count++] = v;
				}
				return 0;
			}

		case LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE_WITH_BITMAP:
			{
				const ProtobufCBinaryData *bm = &s->range_with_bitmap->bitmap;

				start = s->range_with_bitmap->start;
				end = s->range_with_bitmap->end;
				if (end < start)
					return LanceErrorSet(error, EINVAL, "row id range with bitmap is reversed");
				if ((end - start + 7) / 8 > bm->len)
					return LanceErrorSet(error, EINVAL,
									"row id bitmap of %zu bytes is too short for %" PRIu64 " ids",
									bm->len, end - start);
				if ((rc = reserve(ids, end - start, error)) != 0)
					return rc;
				for (uint64_t i = 0; i < end - start; i++)
					if ((bm->data[i / 8] >> (i % 8)) & 1)
						ids->ids[ids->count++] = start + i;
				return 0;
			}

		case LANCE__TABLE__U64_SEGMENT__SEGMENT_SORTED_ARRAY:
		case LANCE__TABLE__U64_SEGMENT__SEGMENT_ARRAY:
			{
				const Lance__Table__EncodedU64Array *a =
					s->segment_case == LANCE__TABLE__U64_SEGMENT__SEGMENT_ARRAY ?
					s->array : s->sorted_array;

				if ((rc = array_count(a, &n, error)) != 0 || (rc = reserve(ids, n, error)) != 0)
					return rc;
				for (uint64_t i = 0; i < n; i++)
					ids->ids[ids->count++] = array_get(a, i);
				return 0;
			}

		default:
			return LanceErrorSet(error, EINVAL, "row id segment of unknown kind %d",
							(int) s->segment_case);
	}
}

int
LanceRowIdsDecode(const uint8_t *bytes, size_t len, LanceRowIds *ids, LanceError *error)
{
	LancePbAllocator pa;
	Lance__Table__RowIdSequence *seq;
	int64_t		before = ids->count;
	int			rc = 0;

	LancePbAllocatorInit(&pa, ids->allocator);
	seq = lance__table__row_id_sequence__unpack(&pa.pb, len, bytes);
	if (seq == NULL)
		return LancePbUnpackError(&pa, error, "row ids",
								  "the RowIdSequence protobuf message is corrupt");
	for (size_t i = 0; rc == 0 && i < seq->n_segments; i++)
		rc = decode_segment(seq->segments[i], ids, error);
	lance__table__row_id_sequence__free_unpacked(seq, &pa.pb);
	if (rc != 0 && ids->count != before)
	{
		/* give back what this call added; the array is sized to count */
		uint64_t   *p = before == 0 ? NULL :
			LanceRealloc(ids->allocator, ids->ids, sizeof(uint64_t) * (size_t) ids->count,
					   sizeof(uint64_t) * (size_t) before);

		if (before == 0)
			LanceFree(ids->allocator, ids->ids, sizeof(uint64_t) * (size_t) ids->count);
		if (before == 0 || p != NULL)
		{
			ids->ids = p;
			ids->count = before;
		}
	}
	return rc;
}

static int
pack_sequence(const Lance__Table__RowIdSequence *seq, const LanceAllocator *a, uint8_t **bytes,
			  size_t *len, LanceError *error)
{
	size_t		n = lance__table__row_id_sequence__get_packed_size(seq);

	*bytes = LanceAlloc(a, n);
	if (*bytes == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory encoding row ids");
	*len = lance__table__row_id_sequence__pack(seq, *bytes);
	return 0;
}

int
LanceRowIdsEncodeRange(uint64_t start, uint64_t end, const LanceAllocator *a, uint8_t **bytes,
					   size_t *len, LanceError *error)
{
	Lance__Table__RowIdSequence seq = LANCE__TABLE__ROW_ID_SEQUENCE__INIT;
	Lance__Table__U64Segment seg = LANCE__TABLE__U64_SEGMENT__INIT;
	Lance__Table__U64Segment__Range range = LANCE__TABLE__U64_SEGMENT__RANGE__INIT;
	Lance__Table__U64Segment *segs[1] = {&seg};

	*bytes = NULL;
	*len = 0;
	if (end < start)
		return LanceErrorSet(error, EINVAL, "row id range [%" PRIu64 ", %" PRIu64 ") is reversed",
						start, end);
	range.start = start;
	range.end = end;
	seg.segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_RANGE;
	seg.range = &range;
	seq.n_segments = 1;
	seq.segments = segs;
	return pack_sequence(&seq, a, bytes, len, error);
}

int
LanceRowIdsEncode(const LanceRowIds *ids, uint8_t **bytes, size_t *len, LanceError *error)
{
	Lance__Table__RowIdSequence seq = LANCE__TABLE__ROW_ID_SEQUENCE__INIT;
	Lance__Table__U64Segment seg = LANCE__TABLE__U64_SEGMENT__INIT;
	Lance__Table__EncodedU64Array arr = LANCE__TABLE__ENCODED_U64_ARRAY__INIT;
	Lance__Table__EncodedU64Array__U16Array a16 = LANCE__TABLE__ENCODED_U64_ARRAY__U16_ARRAY__INIT;
	Lance__Table__EncodedU64Array__U32Array a32 = LANCE__TABLE__ENCODED_U64_ARRAY__U32_ARRAY__INIT;
	Lance__Table__EncodedU64Array__U64Array a64 = LANCE__TABLE__ENCODED_U64_ARRAY__U64_ARRAY__INIT;
	Lance__Table__U64Segment *segs[1] = {&seg};
	const LanceAllocator *a = ids->allocator;
	uint64_t	min = UINT64_MAX;
	uint64_t	max = 0;
	bool		sorted = true;
	bool		contiguous = true;
	size_t		width;
	uint8_t    *buf;
	size_t		buf_len;
	int			rc;

	*bytes = NULL;
	*len = 0;
	if (ids->count == 0)
		return pack_sequence(&seq, a, bytes, len, error);
	for (int64_t i = 0; i < ids->count; i++)
	{
		uint64_t	v = ids->ids[i];

		min = v < min ? v : min;
		max = v > max ? v : max;
		if (i > 0 && v <= ids->ids[i - 1])
			sorted = false;
		if (i > 0 && v != ids->ids[i - 1] + 1)
			contiguous = false;
	}
	if (contiguous && ids->ids[0] <= UINT64_MAX - (uint64_t) ids->count)
		return LanceRowIdsEncodeRange(ids->ids[0], ids->ids[0] + (uint64_t) ids->count, a, bytes,
									  len, error);

	width = max - min <= UINT16_MAX ? 2 : max - min <= UINT32_MAX ? 4 : 8;
	buf_len = width * (size_t) ids->count;
	buf = LanceAlloc(a, buf_len);
	if (buf == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory encoding row ids");
	for (int64_t i = 0; i < ids->count; i++)
	{
		if (width == 2)
			LanceStoreU16(buf + 2 * i, (uint16_t) (ids->ids[i] - min));
		else if (width == 4)
			LanceStoreU32(buf + 4 * i, (uint32_t) (ids->ids[i] - min));
		else
			LanceStoreU64(buf + 8 * i, ids->ids[i]);
	}
	if (width == 2)
	{
		a16.base_value = min;
		a16.offsets.data = buf;
		a16.offsets.len = buf_len;
		arr.array_case = LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U16_ARRAY;
		arr.u16_array = &a16;
	}
	else if (width == 4)
	{
		a32.base_value = min;
		a32.offsets.data = buf;
		a32.offsets.len = buf_len;
		arr.array_case = LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U32_ARRAY;
		arr.u32_array = &a32;
	}
	else
	{
		a64.values.data = buf;
		a64.values.len = buf_len;
		arr.array_case = LANCE__TABLE__ENCODED_U64_ARRAY__ARRAY_U64_ARRAY;
		arr.u64_array = &a64;
	}
	if (sorted)
	{
		seg.segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_SORTED_ARRAY;
		seg.sorted_array = &arr;
	}
	else
	{
		seg.segment_case = LANCE__TABLE__U64_SEGMENT__SEGMENT_ARRAY;
		seg.array = &arr;
	}
	seq.n_segments = 1;
	seq.segments = segs;
	rc = pack_sequence(&seq, a, bytes, len, error);
	LanceFree(a, buf, buf_len);
	return rc;
}
