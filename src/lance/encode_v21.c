/*
 * encode_v21.c
 *	  Page encoder for Lance file format 2.1 ("structural" encodings): turns
 *	  a leaf column's buffered values into a mini-block or full-zip page, or
 *	  an all-null layout, exactly as lance 8.0.0 does for plain encodings.
 *
 * Choices (fact sheet 2.4.1-2.4.3): every value null -> AllNullLayout with
 * no buffers; values narrower than 256 bytes -> mini-block; otherwise
 * full-zip.  Values are Flat / Variable / FixedSizeList, or the Constant{}
 * below (we never bitpack or compress); nulls become u16 definition levels
 * (mini-block) or a one-byte control word (full-zip).  A nullable column without nulls in the
 * page gets no definition levels (layer ALL_VALID_ITEM), as lance does.
 * Null items of fixed-size lists are not levels but the FixedSizeList's
 * own validity (has_validity).  A page whose fixed-size-list items are all
 * null (items of null rows included) is full-zip at any width, with a
 * Constant{} value of 0 bits and only the row control words, as lance's
 * ValueEncoder writes an all-null child.
 */
#include "lance/file_internal.h"

#include <stdlib.h>

#define MAX_MINIBLOCK_BYTES (8 * 1024 - 6)
#define MAX_MINIBLOCK_VALUES 4096
#define AIM_MINICHUNK_SIZE 4096 /* variable-width chunk target */

void
LanceEncodedPageInit(LanceEncodedPage *page, const LanceAllocator *a)
{
	memset(page, 0, sizeof(*page));
	page->allocator = a;
	for (int i = 0; i < 4; i++)
		LanceBufInit(&page->buffers[i], a);
}

void
LanceEncodedPageReset(LanceEncodedPage *page)
{
	for (int i = 0; i < 4; i++)
		LanceBufReset(&page->buffers[i]);
	LanceFree(page->allocator, page->encoding, page->encoding_len);
	page->encoding = NULL;
	page->encoding_len = 0;
	page->num_buffers = 0;
}

int
LanceEncodedPageSetEncoding(LanceEncodedPage *page, const ProtobufCMessage *msg,
							const char *type_url, LanceError *error)
{
	Lance__Wire__Any any = LANCE__WIRE__ANY__INIT;
	size_t		len = protobuf_c_message_get_packed_size(msg);
	uint8_t    *value = LanceAlloc(page->allocator, len);
	size_t		any_len;

	if (value == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory encoding a page");
	protobuf_c_message_pack(msg, value);
	any.type_url = (char *) type_url;
	any.value.data = value;
	any.value.len = len;
	any_len = lance__wire__any__get_packed_size(&any);
	page->encoding = LanceAlloc(page->allocator, any_len);
	if (page->encoding == NULL)
	{
		LanceFree(page->allocator, value, len);
		return LanceErrorSet(error, ENOMEM, "out of memory encoding a page");
	}
	lance__wire__any__pack(&any, page->encoding);
	page->encoding_len = any_len;
	LanceFree(page->allocator, value, len);
	return 0;
}

/*
 * Fixed-size list items carry their own validity bitmap (has_validity) when
 * some but not all item bits of the page are 0, as lance does for an Arrow child with
 * nulls: mini-block chunks get the bits of their rows as a second value
 * buffer, full-zip values get their row's ceil(N/8) bytes in front.
 */
static bool
fsl_items_all_null(const LancePageValues *pv)
{
	return pv->type == LANCE_TYPE_FIXED_SIZE_LIST &&
		pv->null_items == pv->num_rows * (uint64_t) pv->list_size;
}

static bool
fsl_has_validity(const LancePageValues *pv)
{
	return pv->type == LANCE_TYPE_FIXED_SIZE_LIST && pv->null_items > 0 &&
		!fsl_items_all_null(pv);
}

/* Bytes of item validity per row (0 without has_validity). */
static size_t
fsl_validity_bytes(const LancePageValues *pv)
{
	return fsl_has_validity(pv) ? ((size_t) pv->list_size + 7) / 8 : 0;
}

/*
 * The item validity bits of rows [row, row + count), from bit 0 of 'dst'
 * (unused high bits of the last byte 0); returns its length in bytes.
 */
static int
slice_item_validity(const LancePageValues *pv, uint64_t row, uint64_t count, LanceBuf *dst)
{
	uint64_t	dim = (uint64_t) pv->list_size;
	size_t		len = (size_t) ((count * dim + 7) / 8);
	int			rc;

	dst->len = 0;
	if ((rc = LanceBufAppendByte(dst, 0, len)) != 0)
		return rc;
	LanceBitCopy(dst->data, 0, pv->item_validity.data, row * dim, count * dim);
	return 0;
}

/* The value encoding of a fixed-width leaf: flat, or FSL of flat. */
typedef struct ValueEnc
{
	Lance__Encodings21__CompressiveEncoding top;
	Lance__Encodings21__CompressiveEncoding inner;
	Lance__Encodings21__Flat flat;
	Lance__Encodings21__FixedSizeList fsl;
	Lance__Encodings21__Variable var;
	Lance__Encodings21__CompressiveEncoding offsets;
	Lance__Encodings21__Flat offsets_flat;
	Lance__Encodings21__Constant constant;
} ValueEnc;

static void
value_encoding(const LancePageValues *pv, ValueEnc *v)
{
	lance__encodings21__compressive_encoding__init(&v->top);
	lance__encodings21__compressive_encoding__init(&v->inner);
	lance__encodings21__flat__init(&v->flat);
	lance__encodings21__fixed_size_list__init(&v->fsl);
	lance__encodings21__variable__init(&v->var);
	lance__encodings21__compressive_encoding__init(&v->offsets);
	lance__encodings21__flat__init(&v->offsets_flat);
	lance__encodings21__constant__init(&v->constant);
	if (fsl_items_all_null(pv))
	{
		/* no value: every item null */
		v->top.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_CONSTANT;
		v->top.constant = &v->constant;
	}
	else if (pv->bits_per_value == 0)
	{
		v->offsets_flat.bits_per_value = pv->offset_bytes * 8;
		v->offsets.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
		v->offsets.flat = &v->offsets_flat;
		v->var.offsets = &v->offsets;
		v->top.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE;
		v->top.variable = &v->var;
	}
	else if (pv->type == LANCE_TYPE_FIXED_SIZE_LIST)
	{
		v->flat.bits_per_value = pv->bits_per_value / (uint32_t) pv->list_size;
		v->inner.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
		v->inner.flat = &v->flat;
		v->fsl.items_per_value = (uint64_t) pv->list_size;
		v->fsl.has_validity = fsl_has_validity(pv);
		v->fsl.values = &v->inner;
		v->top.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST;
		v->top.fixed_size_list = &v->fsl;
	}
	else
	{
		v->flat.bits_per_value = pv->bits_per_value;
		v->top.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
		v->top.flat = &v->flat;
	}
}

/*
 * One mini-block chunk: rows [start, start+count) whose value buffers are
 * bufs[0..nbufs) (lens[i] bytes each).
 */
static int
append_chunk(LanceEncodedPage *out, const LancePageValues *pv, uint64_t start,
			 uint64_t count, const uint8_t *const *bufs, const size_t *lens, int nbufs,
			 bool has_def, uint16_t log_num_values)
{
	LanceBuf   *data = &out->buffers[1];
	size_t		base = data->len;
	uint8_t		hdr[8];
	size_t		hlen = 0;
	size_t		chunk_len;
	uint8_t		word[2];
	int			rc;

	LanceStoreU16(hdr + hlen, (uint16_t) (has_def ? count : 0));
	hlen += 2;
	if (has_def)
	{
		LanceStoreU16(hdr + hlen, (uint16_t) (count * 2));
		hlen += 2;
	}
	for (int b = 0; b < nbufs; b++)
	{
		LanceStoreU16(hdr + hlen, (uint16_t) lens[b]);
		hlen += 2;
	}
	if ((rc = LanceBufAppend(data, hdr, hlen)) != 0 ||
		(rc = LanceBufPad(data, base, 8, LANCE_CHUNK_PAD)) != 0)
		return rc;
	if (has_def)
	{
		if ((rc = LanceBufReserve(data, count * 2)) != 0)
			return rc;
		for (uint64_t i = 0; i < count; i++)
		{
			LanceStoreU16(data->data + data->len,
						  LanceBitGet(pv->validity.data, start + i) ? 0 : 1);
			data->len += 2;
		}
		if ((rc = LanceBufPad(data, base, 8, LANCE_CHUNK_PAD)) != 0)
			return rc;
	}
	for (int b = 0; b < nbufs; b++)
		if ((rc = LanceBufAppend(data, bufs[b], lens[b])) != 0 ||
			(rc = LanceBufPad(data, base, 8, LANCE_CHUNK_PAD)) != 0)
			return rc;
	chunk_len = data->len - base;
	if (chunk_len > 32768)
		return EINVAL;			/* cannot happen with the chunk sizes used */
	LanceStoreU16(word, (uint16_t) (((chunk_len / 8 - 1) << 4) | log_num_values));
	return LanceBufAppend(&out->buffers[0], word, 2);
}

static int
log2u(uint64_t v)
{
	int			l = 0;

	while ((1ull << l) < v)
		l++;
	return l;
}

/*
 * Fixed-width rows in chunks of a power of two, sized as lance's ValueEncoder
 * does: the most rows whose bytes, item validity included, stay under the
 * mini-block limit.
 */
static int
miniblock_fixed(const LancePageValues *pv, LanceEncodedPage *out, bool has_def)
{
	size_t		vbytes = fsl_validity_bytes(pv);
	uint64_t	bytes_per_word,
				values_per_word,
				size_bytes,
				num_vals,
				bytes_per_chunk;
	uint64_t	row = 0;
	LanceBuf	bits;
	int			rc = 0;

	if (pv->bits_per_value % 8 == 0)
	{
		bytes_per_word = pv->bits_per_value / 8;
		values_per_word = 1;
		num_vals = 2;
	}
	else
	{
		bytes_per_word = pv->bits_per_value;
		values_per_word = 8;
		num_vals = 8;
	}
	size_bytes = 2 * (bytes_per_word + vbytes * values_per_word);
	while (2 * size_bytes < MAX_MINIBLOCK_BYTES && 2 * num_vals <= MAX_MINIBLOCK_VALUES)
	{
		size_bytes *= 2;
		num_vals *= 2;
	}
	bytes_per_chunk = bytes_per_word * (num_vals / values_per_word);
	LanceBufInit(&bits, out->allocator);
	while (rc == 0 && row < pv->num_rows)
	{
		uint64_t	count = pv->num_rows - row;
		size_t		off = (size_t) (row * pv->bits_per_value / 8);
		const uint8_t *bufs[2];
		size_t		lens[2];
		int			nb = 0;
		uint16_t	lg = 0;

		if (count >= num_vals)
		{
			count = num_vals;
			lg = (uint16_t) log2u(num_vals);
		}
		if (vbytes > 0)
		{
			if ((rc = slice_item_validity(pv, row, count, &bits)) != 0)
				break;
			bufs[nb] = bits.data;
			lens[nb++] = bits.len;
		}
		bufs[nb] = pv->values.data + off;
		lens[nb++] = lg ? bytes_per_chunk : pv->values.len - off;
		rc = append_chunk(out, pv, row, count, bufs, lens, nb, has_def, lg);
		row += count;
	}
	LanceBufReset(&bits);
	return rc;
}

/* Rows whose offsets the next variable-width chunk ends at (lance's rule). */
static uint64_t
next_var_chunk_end(const uint64_t *offsets, uint64_t len, uint64_t last, uint32_t w)
{
	uint64_t	num_values = 1;
	uint64_t	new_num_values = 2;

	for (;;)
	{
		uint64_t	size;

		if (last + new_num_values >= len)
		{
			size = offsets[len - 1] - offsets[last] + (len - last) * w;
			return size <= AIM_MINICHUNK_SIZE ? len - 1 : last + num_values;
		}
		size = offsets[last + new_num_values] - offsets[last] + (new_num_values + 1) * w;
		if (size > AIM_MINICHUNK_SIZE)
			break;
		num_values = new_num_values;
		new_num_values *= 2;
	}
	return last + new_num_values;
}

static int
miniblock_variable(const LancePageValues *pv, LanceEncodedPage *out, bool has_def)
{
	const uint64_t *offsets = (const uint64_t *) pv->offsets.data;
	uint64_t	len = pv->num_rows + 1;
	uint32_t	w = pv->offset_bytes;
	uint64_t	last = 0;
	LanceBuf	block;
	int			rc = 0;

	LanceBufInit(&block, out->allocator);
	for (;;)
	{
		uint64_t	end = next_var_chunk_end(offsets, len, last, w);
		uint64_t	n = end - last;
		uint64_t	start_bytes = (n + 1) * w;
		uint16_t	lg = (uint16_t) (end == len - 1 ? 0 : log2u(n));

		block.len = 0;
		if ((rc = LanceBufReserve(&block, start_bytes)) != 0)
			break;
		for (uint64_t i = last; i <= end; i++)
		{
			uint64_t	o = offsets[i] - offsets[last] + start_bytes;

			if (w == 4)
				LanceStoreU32(block.data + block.len, (uint32_t) o);
			else
				LanceStoreU64(block.data + block.len, o);
			block.len += w;
		}
		if ((rc = LanceBufAppend(&block, pv->values.data + offsets[last],
								 offsets[end] - offsets[last])) != 0 ||
			(rc = LanceBufPad(&block, 0, w, LANCE_PAD_BYTE)) != 0)
			break;
		if (block.len > 0xFFFF)
		{
			rc = EINVAL;
			break;
		}
		{
			const uint8_t *bufs[1] = {block.data};
			size_t		lens[1] = {block.len};

			rc = append_chunk(out, pv, last, n, bufs, lens, 1, has_def, lg);
		}
		if (rc != 0 || end == len - 1)
			break;
		last = end;
	}
	LanceBufReset(&block);
	return rc;
}

static int
encode_miniblock(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	Lance__Encodings21__PageLayout layout = LANCE__ENCODINGS21__PAGE_LAYOUT__INIT;
	Lance__Encodings21__MiniBlockLayout mb = LANCE__ENCODINGS21__MINI_BLOCK_LAYOUT__INIT;
	Lance__Encodings21__CompressiveEncoding def = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__INIT;
	Lance__Encodings21__Flat def_flat = LANCE__ENCODINGS21__FLAT__INIT;
	Lance__Encodings21__RepDefLayer layer;
	ValueEnc	v;
	bool		has_def = pv->null_count > 0;
	int			rc;

	rc = pv->bits_per_value ? miniblock_fixed(pv, out, has_def) :
		miniblock_variable(pv, out, has_def);
	if (rc != 0)
		return LanceErrorSet(error, rc, "cannot encode a mini-block page");
	out->num_buffers = 2;
	value_encoding(pv, &v);
	if (has_def)
	{
		def_flat.bits_per_value = 16;
		def.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
		def.flat = &def_flat;
		mb.def_compression = &def;
	}
	mb.value_compression = &v.top;
	layer = has_def ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM :
		LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM;
	mb.n_layers = 1;
	mb.layers = &layer;
	mb.num_buffers = fsl_has_validity(pv) ? 2 : 1;
	mb.num_items = pv->num_rows;
	layout.layout_case = LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_MINI_BLOCK_LAYOUT;
	layout.mini_block_layout = &mb;
	return LanceEncodedPageSetEncoding(out, &layout.base, LANCE_URL_PAGE_LAYOUT, error);
}

static int
encode_fullzip(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	Lance__Encodings21__PageLayout layout = LANCE__ENCODINGS21__PAGE_LAYOUT__INIT;
	Lance__Encodings21__FullZipLayout fz = LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__INIT;
	Lance__Encodings21__RepDefLayer layer;
	ValueEnc	v;
	bool		has_def = pv->null_count > 0;
	LanceBuf   *data = &out->buffers[0];
	int			rc = 0;

	if (fsl_items_all_null(pv))
	{
		/* per row: [control byte]; no values */
		for (uint64_t i = 0; rc == 0 && has_def && i < pv->num_rows; i++)
			rc = LanceBufAppendByte(data, LanceBitGet(pv->validity.data, i) ? 0 : 1, 1);
		out->num_buffers = 1;
		fz.details_case = LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_VALUE;
		fz.bits_per_value = 0;
	}
	else if (pv->bits_per_value != 0)
	{
		size_t		width = pv->bits_per_value / 8;
		size_t		vbytes = fsl_validity_bytes(pv);

		/* per row: [control byte] [item validity] value */
		if (!has_def && vbytes == 0)
			rc = LanceBufAppend(data, pv->values.data, pv->values.len);
		else
		{
			size_t		row_bytes = (has_def ? 1 : 0) + vbytes + width;

			if ((rc = LanceBufAppendByte(data, 0, row_bytes * pv->num_rows)) == 0)
				for (uint64_t i = 0; i < pv->num_rows; i++)
				{
					uint8_t    *p = data->data + i * row_bytes;

					if (has_def)
						*p++ = LanceBitGet(pv->validity.data, i) ? 0 : 1;
					LanceBitCopy(p, 0, pv->item_validity.data, i * (uint64_t) pv->list_size,
								 vbytes ? (uint64_t) pv->list_size : 0);
					memcpy(p + vbytes, pv->values.data + i * width, width);
				}
		}
		out->num_buffers = 1;
		fz.details_case = LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_VALUE;
		fz.bits_per_value = (uint32_t) ((width + vbytes) * 8);
	}
	else
	{
		const uint64_t *offsets = (const uint64_t *) pv->offsets.data;
		LanceBuf   *index = &out->buffers[1];
		uint64_t   *starts;
		uint64_t	total;
		int			iw;

		starts = LanceAlloc(out->allocator, (pv->num_rows + 1) * sizeof(uint64_t));
		if (starts == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory encoding a page");
		for (uint64_t i = 0; rc == 0 && i < pv->num_rows; i++)
		{
			bool		valid = LanceBitGet(pv->validity.data, i);
			uint64_t	len = offsets[i + 1] - offsets[i];
			uint8_t		lenbuf[8];

			starts[i] = data->len;
			if (has_def)
				rc = LanceBufAppendByte(data, valid ? 0 : 1, 1);
			if (rc != 0 || !valid)
				continue;
			if (pv->offset_bytes == 4)
				LanceStoreU32(lenbuf, (uint32_t) len);
			else
				LanceStoreU64(lenbuf, len);
			rc = LanceBufAppend(data, lenbuf, pv->offset_bytes);
			if (rc == 0)
				rc = LanceBufAppend(data, pv->values.data + offsets[i], len);
		}
		total = data->len;
		starts[pv->num_rows] = total;
		iw = total <= 0xFF ? 1 : total <= 0xFFFF ? 2 : total <= 0xFFFFFFFFull ? 4 : 8;
		if (rc == 0)
			rc = LanceBufReserve(index, (pv->num_rows + 1) * (size_t) iw);
		for (uint64_t i = 0; rc == 0 && i <= pv->num_rows; i++)
		{
			uint8_t    *p = index->data + index->len;

			if (iw == 1)
				*p = (uint8_t) starts[i];
			else if (iw == 2)
				LanceStoreU16(p, (uint16_t) starts[i]);
			else if (iw == 4)
				LanceStoreU32(p, (uint32_t) starts[i]);
			else
				LanceStoreU64(p, starts[i]);
			index->len += (size_t) iw;
		}
		LanceFree(out->allocator, starts, (pv->num_rows + 1) * sizeof(uint64_t));
		out->num_buffers = 2;
		fz.details_case = LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_OFFSET;
		fz.bits_per_offset = pv->offset_bytes * 8;
	}
	if (rc != 0)
		return LanceErrorSet(error, rc, "cannot encode a full-zip page");
	value_encoding(pv, &v);
	fz.bits_def = has_def ? 1 : 0;
	fz.num_items = (uint32_t) pv->num_rows;
	fz.num_visible_items = (uint32_t) pv->num_rows;
	fz.value_compression = &v.top;
	layer = has_def ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM :
		LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM;
	fz.n_layers = 1;
	fz.layers = &layer;
	layout.layout_case = LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_FULL_ZIP_LAYOUT;
	layout.full_zip_layout = &fz;
	return LanceEncodedPageSetEncoding(out, &layout.base, LANCE_URL_PAGE_LAYOUT, error);
}

/*
 * A list page: mini-block with repetition levels (fact sheet 2.4, lance
 * repdef.rs).  Per row: a null or empty list is one level (rep 1, def =
 * its level); otherwise one level per item, rep 1 on the first, def 0 for a
 * valid item and 1 for a null one.  Values are the items (null items keep
 * a slot), chunked like any fixed-width values; each chunk takes the levels
 * up to its last item, specials after it going to the next chunk (the last
 * chunk takes the rest).  The repetition index holds, per chunk, the rows
 * that finish in it and the levels left over after its last row start.
 */
static Lance__Encodings21__RepDefLayer
layers_list(bool null_lists, bool empty_lists)
{
	return null_lists && empty_lists ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST :
		null_lists ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_LIST :
		empty_lists ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST :
		LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_LIST;
}

static int
encode_list(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	Lance__Encodings21__PageLayout layout = LANCE__ENCODINGS21__PAGE_LAYOUT__INIT;
	Lance__Encodings21__MiniBlockLayout mb = LANCE__ENCODINGS21__MINI_BLOCK_LAYOUT__INIT;
	Lance__Encodings21__CompressiveEncoding rep_enc = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__INIT;
	Lance__Encodings21__CompressiveEncoding def_enc = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__INIT;
	Lance__Encodings21__Flat flat16 = LANCE__ENCODINGS21__FLAT__INIT;
	Lance__Encodings21__RepDefLayer layers[2];
	ValueEnc	v;
	const uint64_t *ends = (const uint64_t *) pv->offsets.data;
	bool		null_items = pv->null_items > 0;
	bool		null_lists = pv->null_count > 0;
	bool		empty_lists = pv->empty_lists > 0;
	bool		has_def = null_items || null_lists || empty_lists;
	int			base = null_items ? 1 : 0;
	int			null_def = base + 1;
	int			empty_def = null_lists ? base + 2 : base + 1;
	uint64_t	nlevels = 0;
	uint16_t   *rep = NULL,
			   *def = NULL;
	uint64_t	bytes_per_word,
				size_bytes,
				num_vals,
				bytes_per_chunk;
	uint64_t	lvl = 0,
				item = 0;
	LanceBuf	index;
	int			rc = 0;

	if (pv->num_items == 0)
	{
		/*
		 * Only null and empty lists: lance writes an AllNullLayout whose two
		 * buffers are the raw u16 rep and def levels (one level per row).
		 */
		Lance__Encodings21__PageLayout anl = LANCE__ENCODINGS21__PAGE_LAYOUT__INIT;
		Lance__Encodings21__AllNullLayout an = LANCE__ENCODINGS21__ALL_NULL_LAYOUT__INIT;
		Lance__Encodings21__RepDefLayer al[2];

		for (uint64_t r = 0; rc == 0 && r < pv->num_rows; r++)
		{
			uint8_t		lev[2];
			bool		valid = LanceBitGet(pv->validity.data, r);

			LanceStoreU16(lev, 1);
			rc = LanceBufAppend(&out->buffers[0], lev, 2);
			LanceStoreU16(lev, (uint16_t) (valid ? empty_def : null_def));
			if (rc == 0)
				rc = LanceBufAppend(&out->buffers[1], lev, 2);
		}
		if (rc != 0)
			return LanceErrorSet(error, rc, "out of memory encoding a list page");
		al[0] = LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM;
		al[1] = layers_list(null_lists, empty_lists);
		an.n_layers = 2;
		an.layers = al;
		anl.layout_case = LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_ALL_NULL_LAYOUT;
		anl.all_null_layout = &an;
		out->num_buffers = 2;
		return LanceEncodedPageSetEncoding(out, &anl.base, LANCE_URL_PAGE_LAYOUT, error);
	}
	if (pv->bits_per_value % 8 != 0)
		return LanceErrorSet(error, ENOTSUP, "lists of %u-bit items are not supported", pv->bits_per_value);
	/* levels */
	for (uint64_t r = 0; r < pv->num_rows; r++)
		nlevels += ends[r + 1] > ends[r] ? ends[r + 1] - ends[r] : 1;
	rep = LanceAlloc(out->allocator, (size_t) nlevels * 2 + 2);
	def = LanceAlloc(out->allocator, (size_t) nlevels * 2 + 2);
	LanceBufInit(&index, out->allocator);
	if (rep == NULL || def == NULL)
	{
		rc = ENOMEM;
		goto done;
	}
	for (uint64_t r = 0, j = 0; r < pv->num_rows; r++)
	{
		if (!LanceBitGet(pv->validity.data, r))
		{
			rep[j] = 1;
			def[j++] = (uint16_t) null_def;
		}
		else if (ends[r + 1] == ends[r])
		{
			rep[j] = 1;
			def[j++] = (uint16_t) empty_def;
		}
		else
			for (uint64_t t = ends[r]; t < ends[r + 1]; t++)
			{
				rep[j] = t == ends[r] ? 1 : 0;
				def[j++] = LanceBitGet(pv->item_validity.data, t) ? 0 : 1;
			}
	}
	/* value chunk size, as for any fixed-width values */
	bytes_per_word = pv->bits_per_value / 8;
	num_vals = 2;
	size_bytes = 2 * bytes_per_word;
	while (2 * size_bytes < MAX_MINIBLOCK_BYTES && 2 * num_vals <= MAX_MINIBLOCK_VALUES)
	{
		size_bytes *= 2;
		num_vals *= 2;
	}
	bytes_per_chunk = bytes_per_word * num_vals;
	while (rc == 0 && item < pv->num_items)
	{
		LanceBuf   *data = &out->buffers[1];
		size_t		base_off = data->len;
		uint64_t	count = pv->num_items - item;
		bool		last = count <= num_vals;
		uint64_t	l0 = lvl,
					taken = 0,
					finished,
					leftovers = 0;
		size_t		vlen;
		uint16_t	lg = 0;
		uint8_t		hdr[8];
		size_t		hlen = 0;
		uint64_t	entry[2];

		if (!last || count == num_vals)
		{
			count = num_vals;
			lg = (uint16_t) log2u(num_vals);
		}
		vlen = last ? (size_t) (pv->num_items - item) * bytes_per_word : bytes_per_chunk;
		/* levels of this chunk */
		if (last)
			lvl = nlevels;
		else
			while (taken < count)
			{
				if (def[lvl] <= base)
					taken++;
				lvl++;
			}
		if (lvl - l0 > 0xFFFF || vlen > 0xFFFF)
		{
			rc = LanceErrorSet(error, EINVAL, "a list chunk needs more than 65535 levels");
			break;
		}
		/* repetition index: rows finishing here, leftovers after the last start */
		finished = 0;
		for (uint64_t j = l0 + 1; j < lvl; j++)
			finished += rep[j] == 1;
		if (!last)
		{
			uint64_t	j = lvl;

			while (j > l0 && rep[j - 1] != 1)
				j--;
			leftovers = j > l0 ? lvl - (j - 1) : lvl - l0;
		}
		if (item > 0 && rep[l0] == 1 && index.len >= 16)
		{
			uint64_t   *prev = (uint64_t *) (index.data + index.len - 16);

			if (prev[1] != 0)
			{
				prev[0]++;
				prev[1] = 0;
			}
		}
		if (last)
			finished++;
		entry[0] = finished;
		entry[1] = leftovers;
		if ((rc = LanceBufAppend(&index, entry, sizeof(entry))) != 0)
			break;
		/* the chunk */
		LanceStoreU16(hdr, (uint16_t) (lvl - l0));
		LanceStoreU16(hdr + 2, (uint16_t) ((lvl - l0) * 2));
		hlen = 4;
		if (has_def)
		{
			LanceStoreU16(hdr + hlen, (uint16_t) ((lvl - l0) * 2));
			hlen += 2;
		}
		LanceStoreU16(hdr + hlen, (uint16_t) vlen);
		hlen += 2;
		if ((rc = LanceBufAppend(data, hdr, hlen)) != 0 ||
			(rc = LanceBufPad(data, base_off, 8, LANCE_CHUNK_PAD)) != 0 ||
			(rc = LanceBufAppend(data, rep + l0, (size_t) (lvl - l0) * 2)) != 0 ||
			(rc = LanceBufPad(data, base_off, 8, LANCE_CHUNK_PAD)) != 0)
			break;
		if (has_def && ((rc = LanceBufAppend(data, def + l0, (size_t) (lvl - l0) * 2)) != 0 ||
						(rc = LanceBufPad(data, base_off, 8, LANCE_CHUNK_PAD)) != 0))
			break;
		if ((rc = LanceBufAppend(data, pv->values.data + item * bytes_per_word, vlen)) != 0 ||
			(rc = LanceBufPad(data, base_off, 8, LANCE_CHUNK_PAD)) != 0)
			break;
		if (data->len - base_off > 32768)
		{
			rc = LanceErrorSet(error, EINVAL, "a list chunk is larger than 32 KiB");
			break;
		}
		{
			uint8_t		word[2];

			LanceStoreU16(word, (uint16_t) ((((data->len - base_off) / 8 - 1) << 4) | lg));
			rc = LanceBufAppend(&out->buffers[0], word, 2);
		}
		item += last ? pv->num_items - item : count;
	}
	if (rc == 0)
		rc = LanceBufAppend(&out->buffers[2], index.data, index.len);
done:
	LanceFree(out->allocator, rep, (size_t) nlevels * 2 + 2);
	LanceFree(out->allocator, def, (size_t) nlevels * 2 + 2);
	LanceBufReset(&index);
	if (rc != 0)
		return rc == ENOMEM ? LanceErrorSet(error, rc, "out of memory encoding a list page") : rc;
	out->num_buffers = 3;
	value_encoding(pv, &v);
	flat16.bits_per_value = 16;
	rep_enc.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
	rep_enc.flat = &flat16;
	def_enc.compression_case = LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT;
	def_enc.flat = &flat16;
	mb.rep_compression = &rep_enc;
	if (has_def)
		mb.def_compression = &def_enc;
	mb.value_compression = &v.top;
	layers[0] = null_items ? LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM :
		LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM;
	layers[1] = layers_list(null_lists, empty_lists);
	mb.n_layers = 2;
	mb.layers = layers;
	mb.num_buffers = 1;
	mb.repetition_index_depth = 1;
	mb.num_items = pv->num_items;
	layout.layout_case = LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_MINI_BLOCK_LAYOUT;
	layout.mini_block_layout = &mb;
	return LanceEncodedPageSetEncoding(out, &layout.base, LANCE_URL_PAGE_LAYOUT, error);
}

int
LanceEncodePageV21(const LancePageValues *pv, LanceEncodedPage *out, LanceError *error)
{
	if (pv->is_list)
	{
		return encode_list(pv, out, error);
	}
	if (pv->num_rows > UINT32_MAX)
		return LanceErrorSet(error, EINVAL, "a 2.1 page holds at most 2^32-1 rows");
	if (pv->null_count == pv->num_rows)
	{
		Lance__Encodings21__PageLayout layout = LANCE__ENCODINGS21__PAGE_LAYOUT__INIT;
		Lance__Encodings21__AllNullLayout an = LANCE__ENCODINGS21__ALL_NULL_LAYOUT__INIT;
		Lance__Encodings21__RepDefLayer layer = LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM;

		an.n_layers = 1;
		an.layers = &layer;
		layout.layout_case = LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_ALL_NULL_LAYOUT;
		layout.all_null_layout = &an;
		out->num_buffers = 0;
		return LanceEncodedPageSetEncoding(out, &layout.base, LANCE_URL_PAGE_LAYOUT, error);
	}
	if (!fsl_items_all_null(pv) &&
		(pv->bits_per_value != 0 ?
		 pv->bits_per_value / 8 < LANCE_FULLZIP_MIN_BYTES :
		 pv->max_length < LANCE_FULLZIP_MIN_BYTES))
		return encode_miniblock(pv, out, error);
	return encode_fullzip(pv, out, error);
}
