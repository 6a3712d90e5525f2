/*
 * decode_v20.c
 *	  Page decoder for Lance file format 2.0: walks a page's ArrayEncoding
 *	  tree (Nullable, FixedSizeList, Binary, and leaves through the
 *	  dispatcher in compress.c) and appends the requested rows.
 *
 * A 2.0 page is decoded whole (its buffers are read once per call); pages
 * are at most a few MiB, and the reader only visits pages that hold a
 * requested row.  Dictionary pages (lance's choice for low-cardinality
 * strings) are gathered into plain values: u8 indices, 0 = null, item
 * index - 1 otherwise.  Item validity inside fixed-size lists is returned
 * through LanceOutItemValidity; when every item of a page is null lance
 * stores no values, and each valid row reads as zeros with null items.
 * List, SimpleStruct and the compressed leaves are refused with ENOTSUP
 * naming them.
 */
#include "lance/compress.h"
#include "lance/file_internal.h"

typedef struct PageValues
{
	LanceDecoded vals;
	LanceDecoded validity_dec;	/* keeps 'validity' alive */
	const uint8_t *validity;	/* row bitmap or NULL (all valid) */
	LanceDecoded item_validity_dec; /* keeps 'item_validity' alive */
	const uint8_t *item_validity;	/* fixed-size list item bitmap or NULL */
	uint8_t    *nulls;			/* binary: 1 byte per row, or NULL */
	bool		all_null;
	uint32_t	null_items_dim; /* a fixed-size list whose items are all null
								 * (no values stored): its dimension */
} PageValues;

static int	decode_values(const Lance__Encodings__ArrayEncoding *enc, const LanceBytes *bufs,
						  size_t nbufs, uint64_t n, PageValues *pv, const LanceAllocator *a,
						  LanceError *error);
static int	decode_dictionary(const Lance__Encodings__Dictionary *dict, const LanceBytes *bufs,
							  size_t nbufs, uint64_t n, PageValues *pv, const LanceAllocator *a,
							  LanceError *error);

/* binary{indices: (nullable{no_nulls{})flat 64, bytes: flat 8, null_adjustment} */
static int
decode_binary(const Lance__Encodings__Binary *bin, const LanceBytes *bufs, size_t nbufs,
			  uint64_t n, PageValues *pv, const LanceAllocator *a, LanceError *error)
{
	const Lance__Encodings__ArrayEncoding *ix = bin->indices;
	LanceDecoded idx,
				bytes;
	uint64_t   *offsets;
	uint64_t	adj = bin->null_adjustment;
	uint64_t	prev = 0;
	int			rc;

	if (ix != NULL && ix->array_encoding_case == LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_NULLABLE &&
		ix->nullable->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS)
		ix = ix->nullable->no_nulls->values;
	LanceDecodedInit(&idx, a);
	LanceDecodedInit(&bytes, a);
	rc = LanceDecompress20(ix, bufs, nbufs, n, a, &idx, error);
	if (rc == 0 && idx.bits_per_value != 64)
		rc = LanceErrorSet(error, EINVAL, "expected 64-bit binary offsets but found %u bits",
						   idx.bits_per_value);
	if (rc == 0 && (bin->bytes == NULL ||
					bin->bytes->array_encoding_case != LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FLAT))
		rc = LanceErrorSet(error, ENOTSUP, "binary bytes encoded with %s are not supported",
						   LanceArrayEncodingName(bin->bytes));
	if (rc == 0)
		rc = LanceDecompress20(bin->bytes, bufs, nbufs, 0, a, &bytes, error);
	if (rc == 0 && bytes.bits_per_value != 8)
		rc = LanceErrorSet(error, EINVAL, "expected 8-bit binary bytes but found %u bits",
						   bytes.bits_per_value);
	offsets = rc == 0 ? LanceDecodedAlloc(&pv->vals, (size_t) (n + 1) * sizeof(uint64_t)) : NULL;
	pv->nulls = rc == 0 ? LanceDecodedAlloc(&pv->vals, (size_t) n + 1) : NULL;
	if (rc == 0 && (offsets == NULL || pv->nulls == NULL))
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
	if (rc == 0)
		offsets[0] = 0;
	for (uint64_t i = 0; rc == 0 && i < n; i++)
	{
		uint64_t	end = LanceLoadU64(idx.values + i * 8);
		bool		null = adj > 0 && end >= adj;

		if (null)
			end -= adj;
		if (end < prev || end > bytes.values_len)
			rc = LanceErrorSet(error, EINVAL, "binary offset %llu of row %llu is out of range",
							   (unsigned long long) end, (unsigned long long) i);
		pv->nulls[i] = null;
		offsets[i + 1] = end;
		prev = end;
	}
	if (rc == 0)
	{
		pv->vals.num_values = n;
		pv->vals.bits_per_value = 0;
		pv->vals.offsets = offsets;
		pv->vals.values = bytes.values;
		pv->vals.values_len = bytes.values_len;
	}
	LanceDecodedReset(&idx);
	LanceDecodedReset(&bytes);	/* Flat: points into bufs, owns nothing */
	return rc;
}

static void
page_values_reset(PageValues *pv)
{
	LanceDecodedReset(&pv->vals);
	LanceDecodedReset(&pv->validity_dec);
}

static bool
page_value_valid(const PageValues *pv, uint64_t r)
{
	return !pv->all_null && (pv->validity == NULL || LanceBitGet(pv->validity, r)) &&
		(pv->nulls == NULL || !pv->nulls[r]);
}

/* dictionary{indices (u8, 0 = null), items (n = num_dictionary_items)} */
static int
decode_dictionary(const Lance__Encodings__Dictionary *dict, const LanceBytes *bufs, size_t nbufs,
				  uint64_t n, PageValues *pv, const LanceAllocator *a, LanceError *error)
{
	PageValues	ix,
				it;
	uint64_t	m = dict->num_dictionary_items;
	uint64_t	total = 0;
	uint64_t   *offsets = NULL;
	uint8_t    *bytes = NULL;
	int			rc;

	memset(&ix, 0, sizeof(ix));
	memset(&it, 0, sizeof(it));
	LanceDecodedInit(&ix.vals, a);
	LanceDecodedInit(&ix.validity_dec, a);
	LanceDecodedInit(&it.vals, a);
	LanceDecodedInit(&it.validity_dec, a);
	rc = decode_values(dict->indices, bufs, nbufs, n, &ix, a, error);
	if (rc == 0 && !ix.all_null && ix.vals.bits_per_value != 8)
		rc = LanceErrorSet(error, ENOTSUP, "dictionary indices of %u bits are not supported",
						   ix.vals.bits_per_value);
	if (rc == 0)
		rc = decode_values(dict->items, bufs, nbufs, m, &it, a, error);
	if (rc == 0 && !it.all_null && it.vals.bits_per_value != 0)
		rc = LanceErrorSet(error, ENOTSUP, "dictionaries of fixed-width items are not supported");
	/* gather into offsets + bytes; an index i > 0 names item i - 1 */
	for (int pass = 0; rc == 0 && pass < 2; pass++)
	{
		uint64_t	acc = 0;

		if (pass == 1)
		{
			offsets = LanceDecodedAlloc(&pv->vals, (size_t) (n + 1) * sizeof(uint64_t));
			bytes = LanceDecodedAlloc(&pv->vals, (size_t) total + 1);
			pv->nulls = LanceDecodedAlloc(&pv->vals, (size_t) n + 1);
			if (offsets == NULL || bytes == NULL || pv->nulls == NULL)
			{
				rc = LanceErrorSet(error, ENOMEM, "out of memory");
				break;
			}
			offsets[0] = 0;
		}
		for (uint64_t r = 0; r < n; r++)
		{
			uint64_t	i = ix.all_null || !page_value_valid(&ix, r) ? 0 : ix.vals.values[r];
			bool		null = i == 0 || !page_value_valid(&it, i - 1);
			uint64_t	len = 0;

			if (i > m)
			{
				rc = LanceErrorSet(error, EINVAL, "dictionary index %llu but the dictionary has %llu items",
								   (unsigned long long) i, (unsigned long long) m);
				break;
			}
			if (!null)
				len = it.vals.offsets[i] - it.vals.offsets[i - 1];
			if (pass == 1)
			{
				if (len > 0)
					memcpy(bytes + acc, it.vals.values + it.vals.offsets[i - 1], (size_t) len);
				pv->nulls[r] = null;
				offsets[r + 1] = acc + len;
			}
			acc += len;
		}
		total = acc;
	}
	if (rc == 0)
	{
		pv->vals.num_values = n;
		pv->vals.bits_per_value = 0;
		pv->vals.offsets = offsets;
		pv->vals.values = bytes;
		pv->vals.values_len = total;
	}
	page_values_reset(&ix);
	page_values_reset(&it);
	return rc;
}

static int
decode_values(const Lance__Encodings__ArrayEncoding *enc, const LanceBytes *bufs, size_t nbufs,
			  uint64_t n, PageValues *pv, const LanceAllocator *a, LanceError *error)
{
	if (enc == NULL)
		return LanceErrorSet(error, EINVAL, "an array encoding is missing");
	switch (enc->array_encoding_case)
	{
		case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_NULLABLE:
			{
				const Lance__Encodings__Nullable *nl = enc->nullable;

				if (pv->validity != NULL || pv->all_null)
					return LanceErrorSet(error, ENOTSUP, "nested Nullable encodings are not supported");
				switch (nl->nullability_case)
				{
					case LANCE__ENCODINGS__NULLABLE__NULLABILITY_ALL_NULLS:
						pv->all_null = true;
						return 0;
					case LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS:
						return decode_values(nl->no_nulls->values, bufs, nbufs, n, pv, a, error);
					case LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS:
						{
							LanceDecoded *v = &pv->validity_dec;
							int			rc;

							rc = LanceDecompress20(nl->some_nulls->validity, bufs, nbufs, n, a, v, error);
							if (rc == 0 && v->bits_per_value != 1)
								rc = LanceErrorSet(error, EINVAL, "a validity bitmap of %u bits per value",
												   v->bits_per_value);
							pv->validity = v->values;
							if (rc != 0)
								return rc;
							return decode_values(nl->some_nulls->values, bufs, nbufs, n, pv, a, error);
						}
					default:
						return LanceErrorSet(error, EINVAL, "Nullable encoding without a case");
				}
			}
		case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FIXED_SIZE_LIST:
			{
				const Lance__Encodings__FixedSizeList *fsl = enc->fixed_size_list;
				const Lance__Encodings__ArrayEncoding *items = fsl->items;
				uint64_t	total;
				int			rc;

				if (fsl->dimension == 0 || !LanceMulU64(n, fsl->dimension, &total))
					return LanceErrorSet(error, EINVAL, "FixedSizeList of dimension %u", fsl->dimension);
				/* Item validity: a Nullable around the items (n * dimension bits). */
				if (items != NULL && items->array_encoding_case == LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_NULLABLE)
				{
					const Lance__Encodings__Nullable *nl = items->nullable;

					if (nl->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS)
						items = nl->no_nulls->values;
					else if (nl->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS)
					{
						LanceDecoded *v = &pv->item_validity_dec;

						if (pv->item_validity != NULL)
							return LanceErrorSet(error, ENOTSUP, "nested fixed-size lists are not supported");
						rc = LanceDecompress20(nl->some_nulls->validity, bufs, nbufs, total, a, v, error);
						if (rc == 0 && v->bits_per_value != 1)
							rc = LanceErrorSet(error, EINVAL, "an item validity bitmap of %u bits per value",
											   v->bits_per_value);
						if (rc != 0)
							return rc;
						pv->item_validity = v->values;
						items = nl->some_nulls->values;
					}
					else if (nl->nullability_case == LANCE__ENCODINGS__NULLABLE__NULLABILITY_ALL_NULLS)
					{
						/* lance stores no values when every item is null */
						pv->null_items_dim = fsl->dimension;
						pv->vals.num_values = n;
						return 0;
					}
					else
						return LanceErrorSet(error, EINVAL, "Nullable encoding without a case");
				}
				rc = LanceDecompress20(items, bufs, nbufs, total, a, &pv->vals, error);
				if (rc != 0)
					return rc;
				if (pv->vals.bits_per_value < 8 ||
					(uint64_t) pv->vals.bits_per_value * fsl->dimension > UINT32_MAX)
					return LanceErrorSet(error, ENOTSUP, "FixedSizeList of %u-bit items is not supported",
										 pv->vals.bits_per_value);
				pv->vals.bits_per_value *= fsl->dimension;
				pv->vals.num_values = n;
				return 0;
			}
		case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_BINARY:
			return decode_binary(enc->binary, bufs, nbufs, n, pv, a, error);
		case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_DICTIONARY:
			return decode_dictionary(enc->dictionary, bufs, nbufs, n, pv, a, error);
		default:
			return LanceDecompress20(enc, bufs, nbufs, n, a, &pv->vals, error);
	}
}

int
LanceDecodePageV20(const LancePageRead *req, LanceOut *out, LanceError *error)
{
	const LancePageInfo *page = req->page;
	LanceBytes	bufs[8];
	uint8_t    *owned[8] = {0};
	PageValues	pv;
	int			rc = 0;

	if (page->num_buffers > 8)
		return LanceErrorSet(error, ENOTSUP, "2.0 pages with %zu buffers are not supported",
							 page->num_buffers);
	for (size_t b = 0; rc == 0 && b < page->num_buffers; b++)
	{
		rc = LanceReadBytes(req->io, page->buffer_offsets[b], page->buffer_sizes[b],
							req->allocator, &owned[b], error);
		bufs[b].data = owned[b];
		bufs[b].len = page->buffer_sizes[b];
	}
	memset(&pv, 0, sizeof(pv));
	LanceDecodedInit(&pv.vals, req->allocator);
	LanceDecodedInit(&pv.validity_dec, req->allocator);
	LanceDecodedInit(&pv.item_validity_dec, req->allocator);
	if (rc == 0)
		rc = decode_values(page->array, bufs, page->num_buffers, page->num_rows, &pv,
						   req->allocator, error);
	if (rc == 0 && !pv.all_null && pv.null_items_dim != 0)
	{
		/* every item null: valid rows go through LanceOutAppendNullItems */
		if (out->list_size != pv.null_items_dim)
			rc = LanceErrorSet(error, EINVAL, "expected a fixed-size list of %u items but the page has %u",
							   out->list_size, pv.null_items_dim);
		pv.vals.bits_per_value = out->bits_per_value;
	}
	if (rc == 0 && !pv.all_null)
	{
		if (out->bits_per_value != pv.vals.bits_per_value)
			rc = LanceErrorSet(error, EINVAL, "expected %u-bit values but the page has %u-bit values",
							   out->bits_per_value, pv.vals.bits_per_value);
		else if (pv.item_validity != NULL && out->list_size == 0)
			rc = LanceErrorSet(error, EINVAL, "item validity in a page that is not a fixed-size list");
	}
	for (uint64_t i = 0; rc == 0 && i < req->n; i++)
	{
		uint64_t	r = req->rows ? req->rows[i] : req->first + i;
		bool		valid = !pv.all_null &&
			(pv.validity == NULL || LanceBitGet(pv.validity, r)) &&
			(pv.nulls == NULL || !pv.nulls[r]);

		if (!valid)
			rc = LanceOutAppendNull(out, error);
		else if (pv.vals.bits_per_value == 0)
			rc = LanceOutAppendVar(out, pv.vals.values + pv.vals.offsets[r],
								   pv.vals.offsets[r + 1] - pv.vals.offsets[r], true, error);
		else if (pv.vals.bits_per_value == 1)
		{
			uint8_t		v = LanceBitGet(pv.vals.values, r);

			rc = LanceOutAppendFixed(out, &v, true, error);
		}
		else if (pv.null_items_dim != 0)
			rc = LanceOutAppendNullItems(out, error);
		else
		{
			rc = LanceOutAppendFixed(out, pv.vals.values + r * (pv.vals.bits_per_value / 8), true, error);
			if (rc == 0)
				rc = LanceOutItemValidity(out, pv.item_validity, r * out->list_size, 1, error);
		}
	}
	LanceDecodedReset(&pv.vals);
	LanceDecodedReset(&pv.validity_dec);
	LanceDecodedReset(&pv.item_validity_dec);
	for (size_t b = 0; b < page->num_buffers; b++)
		LanceFree(req->allocator, owned[b], (size_t) page->buffer_sizes[b]);
	return rc;
}
