/*
 * encode_v20.c
 *	  Page encoder for Lance file format 2.0: a tree of ArrayEncoding nodes
 *	  (package lance.encodings) whose Flat leaves name the page's buffers.
 *
 * Trees as lance 8.0.0 writes them by default (fact sheet 2.5):
 *	fixed width   nullable{no_nulls{flat}} or nullable{some_nulls{validity
 *				  flat 1, values flat}}; an all-null page nullable{all_nulls}
 *	fixed-size list  the same around fixed_size_list{dimension, items:
 *				  nullable{...}}, the items' own nullable node built the same
 *				  way from the item validity (buffers: row bitmap, item
 *				  bitmap, values, each only when needed)
 *	utf8/binary   binary{indices: nullable{no_nulls{flat 64}}, bytes: flat 8,
 *				  null_adjustment}: n u64 end offsets, a null stores
 *				  previous end + null_adjustment (= total bytes + 1).
 *	list		  the list field's column: list{offsets: nullable{no_nulls{
 *				  flat 64}}, null_offset_adjustment, num_items}, n u64 item
 *				  ends in the same way; the items are the item field's own
 *				  column (file_writer.c feeds it).
 * Dictionary encoding, which lance picks for low-cardinality strings, is
 * never written.
 */
#include "lance/file_internal.h"

typedef struct Leaf
{
	Lance__Encodings__ArrayEncoding enc;
	Lance__Encodings__Flat flat;
	Lance__Encodings__Buffer buffer;
} Leaf;

static Lance__Encodings__ArrayEncoding *
make_flat(Leaf *leaf, uint64_t bits, uint32_t buffer_index)
{
	lance__encodings__array_encoding__init(&leaf->enc);
	lance__encodings__flat__init(&leaf->flat);
	lance__encodings__buffer__init(&leaf->buffer);
	leaf->buffer.buffer_index = buffer_index;
	leaf->flat.bits_per_value = bits;
	leaf->flat.buffer = &leaf->buffer;
	leaf->enc.array_encoding_case = LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FLAT;
	leaf->enc.flat = &leaf->flat;
	return &leaf->enc;
}

typedef struct NullableNode
{
	Lance__Encodings__ArrayEncoding enc;
	Lance__Encodings__Nullable nullable;
	Lance__Encodings__Nullable__NoNull no_nulls;
	Lance__Encodings__Nullable__SomeNull some_nulls;
	Lance__Encodings__Nullable__AllNull all_nulls;
} NullableNode;

/* nullable{...} around 'values'; validity NULL: no_nulls; all: all_nulls */
static Lance__Encodings__ArrayEncoding *
make_nullable(NullableNode *n, Lance__Encodings__ArrayEncoding *validity,
			  Lance__Encodings__ArrayEncoding *values, bool all_null)
{
	lance__encodings__array_encoding__init(&n->enc);
	lance__encodings__nullable__init(&n->nullable);
	lance__encodings__nullable__no_null__init(&n->no_nulls);
	lance__encodings__nullable__some_null__init(&n->some_nulls);
	lance__encodings__nullable__all_null__init(&n->all_nulls);
	if (all_null)
	{
		n->nullable.nullability_case = LANCE__ENCODINGS__NULLABLE__NULLABILITY_ALL_NULLS;
		n->nullable.all_nulls = &n->all_nulls;
	}
	else if (validity == NULL)
	{
		n->no_nulls.values = values;
		n->nullable.nullability_case = LANCE__ENCODINGS__NULLABLE__NULLABILITY_NO_NULLS;
		n->nullable.no_nulls = &n->no_nulls;
	}
	else
	{
		n->some_nulls.validity = validity;
		n->some_nulls.values = values;
		n->nullable.nullability_case = LANCE__ENCODINGS__NULLABLE__NULLABILITY_SOME_NULLS;
		n->nullable.some_nulls = &n->some_nulls;
	}
	n->enc.array_encoding_case = LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_NULLABLE;
	n->enc.nullable = &n->nullable;
	return &n->enc;
}

static int
encode_fixed(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	Leaf		validity_leaf,
				item_validity_leaf,
				values_leaf;
	NullableNode outer,
				items;
	Lance__Encodings__ArrayEncoding fsl_enc = LANCE__ENCODINGS__ARRAY_ENCODING__INIT;
	Lance__Encodings__FixedSizeList fsl = LANCE__ENCODINGS__FIXED_SIZE_LIST__INIT;
	Lance__Encodings__ArrayEncoding *validity = NULL;
	Lance__Encodings__ArrayEncoding *item_validity = NULL;
	Lance__Encodings__ArrayEncoding *values;
	bool		is_fsl = pv->type == LANCE_TYPE_FIXED_SIZE_LIST;
	uint64_t	num_items = is_fsl ? pv->num_rows * (uint64_t) pv->list_size : 0;
	bool		all_null = pv->null_count == pv->num_rows;
	bool		some_null = pv->null_count > 0 && !all_null;
	/* fixed-size list items: a bitmap when some are null, no values when all are */
	bool		items_all_null = !all_null && is_fsl && pv->null_items == num_items;
	bool		items_some_null = !all_null && is_fsl && pv->null_items > 0 && !items_all_null;
	uint32_t	nb = 0;
	uint64_t	bits = pv->bits_per_value;
	int			rc = 0;

	if (some_null)
	{
		validity = make_flat(&validity_leaf, 1, nb);
		rc = LanceBufAppend(&out->buffers[nb++], pv->validity.data, (pv->num_rows + 7) / 8);
	}
	if (rc == 0 && items_some_null)
	{
		item_validity = make_flat(&item_validity_leaf, 1, nb);
		rc = LanceBufAppend(&out->buffers[nb++], pv->item_validity.data, (num_items + 7) / 8);
	}
	if (is_fsl)
		bits /= (uint64_t) pv->list_size;
	values = make_flat(&values_leaf, bits, nb);
	if (rc == 0 && !all_null && !items_all_null)
		rc = LanceBufAppend(&out->buffers[nb++], pv->values.data, pv->values.len);
	if (rc != 0)
		return LanceErrorSet(error, rc, "out of memory encoding a page");
	out->num_buffers = all_null ? 0 : (int) nb;
	if (is_fsl)
	{
		fsl.dimension = (uint32_t) pv->list_size;
		fsl.items = make_nullable(&items, item_validity, values, items_all_null);
		fsl_enc.array_encoding_case = LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FIXED_SIZE_LIST;
		fsl_enc.fixed_size_list = &fsl;
		values = &fsl_enc;
	}
	return LanceEncodedPageSetEncoding(out, &make_nullable(&outer, validity, values, all_null)->base,
									   LANCE_URL_ARRAY_ENCODING, error);
}

static int
encode_binary(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	const uint64_t *offsets = (const uint64_t *) pv->offsets.data;
	uint64_t	total = offsets[pv->num_rows];
	uint64_t	adjust = total + 1;
	Lance__Encodings__ArrayEncoding enc = LANCE__ENCODINGS__ARRAY_ENCODING__INIT;
	Lance__Encodings__Binary bin = LANCE__ENCODINGS__BINARY__INIT;
	Leaf		indices_leaf,
				bytes_leaf;
	NullableNode indices;
	LanceBuf   *ob = &out->buffers[0];
	int			rc;

	rc = LanceBufReserve(ob, pv->num_rows * 8);
	for (uint64_t i = 0; rc == 0 && i < pv->num_rows; i++)
	{
		uint64_t	end = offsets[i + 1];

		if (!LanceBitGet(pv->validity.data, i))
			end += adjust;
		LanceStoreU64(ob->data + ob->len, end);
		ob->len += 8;
	}
	if (rc == 0)
		rc = LanceBufAppend(&out->buffers[1], pv->values.data, total);
	if (rc != 0)
		return LanceErrorSet(error, rc, "out of memory encoding a page");
	out->num_buffers = 2;
	bin.indices = make_nullable(&indices, NULL, make_flat(&indices_leaf, 64, 0), false);
	bin.bytes = make_flat(&bytes_leaf, 8, 1);
	bin.null_adjustment = adjust;
	enc.array_encoding_case = LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_BINARY;
	enc.binary = &bin;
	return LanceEncodedPageSetEncoding(out, &enc.base, LANCE_URL_ARRAY_ENCODING, error);
}

/*
 * A list's own column: per row the end of its items, relative to the
 * page's first item (u64, no leading 0); a null list stores its end plus
 * null_offset_adjustment = num_items + 1.  The items are the item field's
 * column, written apart.
 */
static int
encode_list_offsets(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	const uint64_t *ends = (const uint64_t *) pv->offsets.data;
	uint64_t	adjust = pv->num_items + 1;
	Lance__Encodings__ArrayEncoding enc = LANCE__ENCODINGS__ARRAY_ENCODING__INIT;
	Lance__Encodings__List list = LANCE__ENCODINGS__LIST__INIT;
	Leaf		offsets_leaf;
	NullableNode offsets;
	LanceBuf   *ob = &out->buffers[0];

	if (LanceBufReserve(ob, pv->num_rows * 8) != 0)
		return LanceErrorSet(error, ENOMEM, "out of memory encoding a page");
	for (uint64_t i = 0; i < pv->num_rows; i++)
	{
		LanceStoreU64(ob->data + ob->len,
					  ends[i + 1] + (LanceBitGet(pv->validity.data, i) ? 0 : adjust));
		ob->len += 8;
	}
	out->num_buffers = 1;
	list.offsets = make_nullable(&offsets, NULL, make_flat(&offsets_leaf, 64, 0), false);
	list.null_offset_adjustment = adjust;
	list.num_items = pv->num_items;
	enc.array_encoding_case = LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_LIST;
	enc.list = &list;
	return LanceEncodedPageSetEncoding(out, &enc.base, LANCE_URL_ARRAY_ENCODING, error);
}

int
LanceEncodePageV20(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	if (pv->is_list)
		return encode_list_offsets(pv, out, error);
	return pv->bits_per_value != 0 ? encode_fixed(pv, out, error) :
		encode_binary(pv, out, error);
}
