/*
 * list_v20.c
 *	  Reading list<fixed-width> columns of Lance file format 2.0, where a
 *	  list is two columns: the list field's own column holds one offset per
 *	  row (a List ArrayEncoding around a plain u64 array), and the item
 *	  field's column holds the items as an ordinary 2.0 column.
 *
 * Facts (fact sheet section 2.5; lance's 2.0 list decoder, learned from the
 * source): each offsets page stores, per row, the *end* of the row's items
 * relative to the first item that page refers to (no leading 0; the first
 * row of a page starts at 0).  The page's List message carries num_items
 * (how many items its rows span) and null_offset_adjustment (lance writes
 * num_items + 1): a null list stores its end plus the adjustment.  The
 * item column does not follow offsets pages: page p's items start after
 * the num_items of all earlier offsets pages (pages with no rows are
 * skipped), counted over the whole item column.
 *
 * Every offset is checked (ascending, within the page's num_items, items
 * within the item column) so corrupt files give EINVAL, never a bad read.
 */
#include "lance/compress.h"
#include "lance/file_internal.h"

/* Item ranges of the requested rows, in request order. */
typedef struct ItemRange
{
	uint64_t	start;
	uint64_t	end;
} ItemRange;

/* The List message of an offsets page, or an error. */
static int
page_list(const LancePageInfo *pg, const Lance__Encodings__List **list, LanceError *error)
{
	const Lance__Encodings__ArrayEncoding *enc = pg->array;

	if (enc == NULL || enc->array_encoding_case != LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_LIST ||
		enc->list->offsets == NULL)
		return LanceErrorSet(error, EINVAL, "a 2.0 list column page is not List-encoded (%s)",
							 LanceArrayEncodingName(enc));
	*list = enc->list;
	if (enc->list->null_offset_adjustment <= enc->list->num_items)
		return LanceErrorSet(error, EINVAL, "list page null offset adjustment %llu is not above its %llu items",
							 (unsigned long long) enc->list->null_offset_adjustment,
							 (unsigned long long) enc->list->num_items);
	return 0;
}

/*
 * Decode the u64 offsets of one page into ends[0..num_rows) (item ends
 * relative to the page, nulls flagged in 'null').
 */
static int
page_offsets(const LanceFileIo *io, const LanceAllocator *a, const LancePageInfo *pg,
			 const Lance__Encodings__List *list, LanceOut *raw, LanceError *error)
{
	LancePageInfo inner = *pg;
	LancePageRead req = {0};
	int			rc;

	inner.array = list->offsets;
	inner.cached = false;		/* the copy is not the page: it keeps nothing */
	inner.chunk_map = NULL;
	memset(raw, 0, sizeof(*raw));
	raw->type = LANCE_TYPE_UINT64;
	raw->bits_per_value = 64;
	LanceBufInit(&raw->validity, a);
	LanceBufInit(&raw->values, a);
	LanceBufInit(&raw->offsets, a);
	req.io = io;
	req.page = &inner;
	req.allocator = a;
	req.rows = NULL;
	req.first = 0;
	req.n = pg->num_rows;
	rc = LanceDecodePageV20(&req, raw, error);
	if (rc == 0 && (raw->length != pg->num_rows || raw->null_count != 0))
		rc = LanceErrorSet(error, EINVAL, "list offsets page gave %llu offsets (%llu null) for %llu rows",
						   (unsigned long long) raw->length, (unsigned long long) raw->null_count,
						   (unsigned long long) pg->num_rows);
	return rc;
}

static void
raw_reset(LanceOut *raw)
{
	LanceBufReset(&raw->validity);
	LanceBufReset(&raw->values);
	LanceBufReset(&raw->offsets);
}

/*
 * Pass 1: walk the offsets pages, append each requested row to 'rows'
 * (validity, cumulative item count) and its absolute item range to
 * 'ranges'.
 */
static int
read_offsets(const LanceFileIo *io, const LanceAllocator *a, const LanceColumnInfo *oc,
			 const uint64_t *sorted, uint64_t first, uint64_t n, LanceOut *rows,
			 LanceBuf *ranges, uint64_t *total, LanceError *error)
{
	uint64_t	base = 0;		/* items before the current page */
	uint64_t	end = first + n;
	uint64_t	cum = 0;
	size_t		k = 0;
	int			rc = 0;

	for (size_t p = 0; rc == 0 && p < oc->num_pages; p++)
	{
		const LancePageInfo *pg = &oc->pages[p];
		const Lance__Encodings__List *list = NULL;
		uint64_t	pend = pg->first_row + pg->num_rows;
		uint64_t	lo = 0,
					hi = 0;
		LanceOut	raw;
		uint64_t	prev = 0;

		if (pg->num_rows == 0)
			continue;
		if ((rc = page_list(pg, &list, error)) != 0)
			break;
		if (sorted == NULL)
		{
			lo = first > pg->first_row ? first : pg->first_row;
			hi = end < pend ? end : pend;
		}
		if ((sorted == NULL && lo < hi) || (sorted != NULL && k < n && sorted[k] < pend))
		{
			rc = page_offsets(io, a, pg, list, &raw, error);
			/* all ends of the page, validated in place (null flag in validity) */
			for (uint64_t i = 0; rc == 0 && i < pg->num_rows; i++)
			{
				uint64_t	e = LanceLoadU64(raw.values.data + i * 8);
				bool		null = e >= list->null_offset_adjustment;

				if (null)
					e -= list->null_offset_adjustment;
				if (e < prev || e > list->num_items)
					rc = LanceErrorSet(error, EINVAL, "list offset %llu of row %llu is out of range (page items %llu)",
									   (unsigned long long) e, (unsigned long long) (pg->first_row + i),
									   (unsigned long long) list->num_items);
				LanceStoreU64(raw.values.data + i * 8, e);
				raw.validity.data[i] = !null;
				prev = e;
			}
			while (rc == 0)
			{
				uint64_t	i;
				ItemRange	ir;
				bool		valid;

				if (sorted == NULL)
				{
					if (lo >= hi)
						break;
					i = lo++ - pg->first_row;
				}
				else
				{
					if (k >= n || sorted[k] >= pend)
						break;
					if (sorted[k] < pg->first_row)
					{
						rc = LanceErrorSet(error, EINVAL, "row %llu is in no list offsets page",
										   (unsigned long long) sorted[k]);
						break;
					}
					i = sorted[k++] - pg->first_row;
				}
				ir.start = base + (i == 0 ? 0 : LanceLoadU64(raw.values.data + (i - 1) * 8));
				ir.end = base + LanceLoadU64(raw.values.data + i * 8);
				valid = raw.validity.data[i] != 0;
				cum += ir.end - ir.start;
				if ((rc = LanceBufAppendByte(&rows->validity, valid ? 1 : 0, 1)) != 0 ||
					(rc = LanceBufAppend(&rows->offsets, &cum, 8)) != 0 ||
					(rc = LanceBufAppend(ranges, &ir, sizeof(ir))) != 0)
					rc = LanceErrorSet(error, rc, "out of memory");
				rows->length++;
				rows->null_count += !valid;
			}
			raw_reset(&raw);
		}
		if (rc == 0 && !LanceAddU64(base, list->num_items, &base))
			rc = LanceErrorSet(error, EINVAL, "list item counts overflow");
	}
	*total = cum;
	return rc;
}

/*
 * Pass 2: append the items of 'ranges' to 'items', one page decode per
 * item page that holds any of them.  A range read has one contiguous span;
 * a take lists each item (page-relative) for its page.
 */
static int
read_items(const LanceFileIo *io, const LanceAllocator *a, const LanceColumnInfo *ic,
		   const ItemRange *ranges, size_t nr, bool contiguous, LanceOut *items,
		   LanceError *error)
{
	uint64_t	item_rows = 0;
	uint64_t   *idx = NULL;
	size_t		idx_cap = 0;
	size_t		r0 = 0;			/* first range not wholly before this page */
	int			rc = 0;

	for (size_t p = 0; p < ic->num_pages; p++)
		if (ic->pages[p].first_row != item_rows ||
			!LanceAddU64(item_rows, ic->pages[p].num_rows, &item_rows))
			return LanceErrorSet(error, EINVAL, "list item column pages are not contiguous");
	for (size_t j = 0; j < nr; j++)
		if (ranges[j].end > item_rows)
			return LanceErrorSet(error, EINVAL, "list items up to %llu but the item column has %llu",
								 (unsigned long long) ranges[j].end, (unsigned long long) item_rows);
	for (size_t p = 0; rc == 0 && p < ic->num_pages && r0 < nr; p++)
	{
		const LancePageInfo *pg = &ic->pages[p];
		uint64_t	pend = pg->first_row + pg->num_rows;
		LancePageRead req = {0};
		size_t		m = 0;

		req.io = io;
		req.page = pg;
		req.allocator = a;
		req.rows = NULL;
		req.first = 0;
		req.n = 0;
		if (contiguous)
		{
			uint64_t	s = ranges[0].start,
						e = ranges[nr - 1].end;
			uint64_t	lo = s > pg->first_row ? s : pg->first_row;
			uint64_t	hi = e < pend ? e : pend;

			if (lo >= hi)
				continue;
			req.first = lo - pg->first_row;
			req.n = hi - lo;
		}
		else
		{
			/* ranges have ascending starts: skip those that end before this page */
			while (r0 < nr && ranges[r0].end <= pg->first_row)
				r0++;
			for (size_t j = r0; j < nr && ranges[j].start < pend; j++)
				for (uint64_t t = ranges[j].start > pg->first_row ? ranges[j].start : pg->first_row;
					 t < ranges[j].end && t < pend; t++)
				{
					if (m == idx_cap)
					{
						size_t		ncap = idx_cap ? idx_cap * 2 : 256;
						uint64_t   *nidx = LanceAlloc(a, ncap * sizeof(uint64_t));

						if (nidx == NULL)
						{
							rc = LanceErrorSet(error, ENOMEM, "out of memory");
							break;
						}
						if (m > 0)
							memcpy(nidx, idx, m * sizeof(uint64_t));
						LanceFree(a, idx, idx_cap * sizeof(uint64_t));
						idx = nidx;
						idx_cap = ncap;
					}
					idx[m++] = t - pg->first_row;
				}
			if (rc != 0 || m == 0)
				continue;
			req.rows = idx;
			req.n = m;
		}
		rc = LanceDecodePageV20(&req, items, error);
	}
	LanceFree(a, idx, idx_cap * sizeof(uint64_t));
	return rc;
}

int
LanceReadListV20(const LanceFileIo *io, const LanceAllocator *a, const LanceColumnInfo *offsets_col,
				 const LanceColumnInfo *items_col, const uint64_t *sorted, uint64_t first,
				 uint64_t n, LanceOut *rows, LanceOut *items, LanceError *error)
{
	LanceBuf	ranges;
	uint64_t	total = 0;
	size_t		nr;
	int			rc;

	LanceBufInit(&ranges, a);
	rc = read_offsets(io, a, offsets_col, sorted, first, n, rows, &ranges, &total, error);
	if (rc == 0 && rows->length != n)
		rc = LanceErrorSet(error, EINVAL, "expected %llu list rows but the pages gave %llu",
						   (unsigned long long) n, (unsigned long long) rows->length);
	nr = ranges.len / sizeof(ItemRange);
	if (rc == 0 && total > 0)
	{
		const ItemRange *ir = (const ItemRange *) ranges.data;
		bool		contiguous = sorted == NULL;

		/* a range read spans one run of items unless pages disagree */
		for (size_t j = 1; contiguous && j < nr; j++)
			contiguous = ir[j].start == ir[j - 1].end;
		rc = read_items(io, a, items_col, ir, nr, contiguous, items, error);
	}
	if (rc == 0 && items->length != total)
		rc = LanceErrorSet(error, EINVAL, "expected %llu list items but the item pages gave %llu",
						   (unsigned long long) total, (unsigned long long) items->length);
	LanceBufReset(&ranges);
	return rc;
}
