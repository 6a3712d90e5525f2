/*
 * compress.c
 *	  The decompression dispatcher (contract in compress.h): a single switch
 *	  per format version from encoding message to decoded values.
 *
 * Implemented here: Flat (uncompressed), Variable with Flat offsets,
 * FixedSizeList, Constant.  Every other case returns ENOTSUP naming the
 * encoding; the codec files add their cases to these switches.
 */
#include "lance/compress.h"

void
LanceDecodedInit(LanceDecoded *d, const LanceAllocator *a)
{
	memset(d, 0, sizeof(*d));
	d->allocator = a;
}

void
LanceDecodedReset(LanceDecoded *d)
{
	const LanceAllocator *a = d->allocator;

	for (int i = 0; i < LANCE_DECODED_MAX_OWNED; i++)
		LanceFree(a, d->owned[i], d->owned_len[i]);
	LanceDecodedInit(d, a);
}

void *
LanceDecodedAlloc(LanceDecoded *d, size_t len)
{
	for (int i = 0; i < LANCE_DECODED_MAX_OWNED; i++)
		if (d->owned[i] == NULL)
		{
			d->owned[i] = LanceAlloc(d->allocator, len);
			d->owned_len[i] = len;
			return d->owned[i];
		}
	return NULL;
}

const char *
LanceCompressiveEncodingName(const Lance__Encodings21__CompressiveEncoding *enc)
{
	if (enc == NULL)
		return "(missing)";
	switch (enc->compression_case)
	{
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT:
			return "Flat";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE:
			return "Variable";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_CONSTANT:
			return "Constant";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_OUT_OF_LINE_BITPACKING:
			return "OutOfLineBitpacking";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_INLINE_BITPACKING:
			return "InlineBitpacking";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST:
			return "Fsst";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_DICTIONARY:
			return "Dictionary";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_RLE:
			return "Rle";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_BYTE_STREAM_SPLIT:
			return "ByteStreamSplit";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_GENERAL:
			return "General";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST:
			return "FixedSizeList";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_PACKED_STRUCT:
			return "PackedStruct";
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE_PACKED_STRUCT:
			return "VariablePackedStruct";
		default:
			return "an unknown compressive encoding";
	}
}

const char *
LanceArrayEncodingName(const Lance__Encodings__ArrayEncoding *enc)
{
	static const char *const names[] = {
		"(not set)", "Flat", "Nullable", "FixedSizeList", "List", "SimpleStruct",
		"Binary", "Dictionary", "Fsst", "PackedStruct", "Bitpacked",
		"FixedSizeBinary", "BitpackedForNonNeg", "Constant", "InlineBitpacking",
		"OutOfLineBitpacking", "Variable", "PackedStructFixedWidthMiniBlock",
		"Block", "Rle", "GeneralMiniBlock", "ByteStreamSplit"
	};

	if (enc == NULL)
		return "(missing)";
	if ((unsigned) enc->array_encoding_case < sizeof(names) / sizeof(names[0]))
		return names[enc->array_encoding_case];
	return "an unknown array encoding";
}

/* Bytes needed for n values of 'bits' bits, or false on overflow. */
static bool
fixed_bytes(uint64_t n, uint64_t bits, uint64_t *bytes)
{
	uint64_t	total;

	if (!LanceMulU64(n, bits, &total))
		return false;
	*bytes = total / 8 + (total % 8 != 0);
	return true;
}

static int
decode_flat(uint64_t bits, const LanceBytes *buf, uint64_t n, LanceDecoded *out,
			LanceError *error)
{
	uint64_t	need;

	if (bits == 0 || bits > (1u << 26) || (bits > 8 && bits % 8 != 0))
		return LanceErrorSet(error, EINVAL, "Flat with %llu bits per value is malformed",
							 (unsigned long long) bits);
	if (!fixed_bytes(n, bits, &need) || need > buf->len)
		return LanceErrorSet(error, EINVAL,
							 "expected %llu values of %llu bits but found %llu bytes",
							 (unsigned long long) n, (unsigned long long) bits,
							 (unsigned long long) buf->len);
	out->num_values = n;
	out->bits_per_value = (uint32_t) bits;
	out->values = buf->data;
	out->values_len = buf->len;
	return 0;
}

/*
 * Variable: n + 1 offsets (Flat, 32 or 64 bits) at the start of the buffer,
 * relative to the buffer start, then the bytes.
 */
static int
decode_variable(const Lance__Encodings21__Variable *var, const LanceBytes *buf,
				uint64_t n, LanceDecoded *out, LanceError *error)
{
	const Lance__Encodings21__CompressiveEncoding *oe = var->offsets;
	uint64_t	w,
				need;
	uint64_t   *offsets;

	if (var->values != NULL && var->values->scheme != 0)
		return LanceErrorSet(error, ENOTSUP, "Variable with compressed values is not supported");
	if (oe == NULL || oe->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT)
		return LanceErrorSet(error, ENOTSUP, "Variable with %s offsets is not supported",
							 LanceCompressiveEncodingName(oe));
	w = oe->flat->bits_per_value / 8;
	if (oe->flat->bits_per_value != 32 && oe->flat->bits_per_value != 64)
		return LanceErrorSet(error, EINVAL, "Variable offsets of %llu bits are malformed",
							 (unsigned long long) oe->flat->bits_per_value);
	if (n >= UINT64_MAX / 8 || !LanceMulU64(n + 1, w, &need) || need > buf->len)
		return LanceErrorSet(error, EINVAL, "expected %llu offsets but the buffer has %llu bytes",
							 (unsigned long long) n + 1, (unsigned long long) buf->len);
	offsets = LanceDecodedAlloc(out, (size_t) (n + 1) * sizeof(uint64_t));
	if (offsets == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory decoding offsets");
	for (uint64_t i = 0; i <= n; i++)
	{
		uint64_t	o = w == 4 ? LanceLoadU32(buf->data + i * 4) : LanceLoadU64(buf->data + i * 8);

		if (o > buf->len || (i > 0 && o < offsets[i - 1]))
			return LanceErrorSet(error, EINVAL, "variable-width offset %llu is out of order or past the buffer",
								 (unsigned long long) o);
		offsets[i] = o;
	}
	out->num_values = n;
	out->bits_per_value = 0;
	out->values = buf->data;
	out->values_len = buf->len;
	out->offsets = offsets;
	return 0;
}

int
LanceDecompress21(const Lance__Encodings21__CompressiveEncoding *enc,
				  const LanceBytes *buffers, size_t num_buffers, uint64_t num_values,
				  const LanceAllocator *allocator, LanceDecoded *out, LanceError *error)
{
	(void) allocator;
	if (enc == NULL)
		return LanceErrorSet(error, EINVAL, "a block has no encoding");
	switch (enc->compression_case)
	{
		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT:
			if (enc->flat->data != NULL && enc->flat->data->scheme != 0)
				return LanceErrorSet(error, ENOTSUP, "Flat with compressed data is not supported");
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "Flat expects 1 buffer but found 0");
			return decode_flat(enc->flat->bits_per_value, &buffers[0], num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE:
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "Variable expects 1 buffer but found 0");
			return decode_variable(enc->variable, &buffers[0], num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST:
			{
				const Lance__Encodings21__FixedSizeList *fsl = enc->fixed_size_list;
				uint64_t	items,
							vbytes;
				int			rc;

				if (fsl->items_per_value == 0 || fsl->items_per_value > (1u << 24) ||
					!LanceMulU64(num_values, fsl->items_per_value, &items))
					return LanceErrorSet(error, EINVAL, "FixedSizeList of %llu items is malformed",
										 (unsigned long long) fsl->items_per_value);
				if (fsl->has_validity)
				{
					if (num_buffers < 2 || !fixed_bytes(items, 1, &vbytes) || buffers[0].len < vbytes)
						return LanceErrorSet(error, EINVAL, "FixedSizeList item validity is missing or short");
					rc = LanceDecompress21(fsl->values, buffers + 1, num_buffers - 1, items,
										   allocator, out, error);
					out->validity = buffers[0].data;
				}
				else
					rc = LanceDecompress21(fsl->values, buffers, num_buffers, items,
										   allocator, out, error);
				if (rc != 0)
					return rc;
				if (out->bits_per_value == 0 ||
					(uint64_t) out->bits_per_value * fsl->items_per_value > UINT32_MAX)
					return LanceErrorSet(error, ENOTSUP, "FixedSizeList of variable-width items is not supported");
				out->bits_per_value *= (uint32_t) fsl->items_per_value;
				out->num_values = num_values;
				return 0;
			}

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_CONSTANT:
			{
				const ProtobufCBinaryData *v = &enc->constant->value;
				uint64_t	total;
				uint8_t    *p;

				if (v->len == 0 || v->len > 4096 || !LanceMulU64(num_values, v->len, &total) ||
					total > ((uint64_t) 1 << 32))
					return LanceErrorSet(error, EINVAL, "Constant of %zu bytes is malformed", v->len);
				p = LanceDecodedAlloc(out, (size_t) total);
				if (p == NULL)
					return LanceErrorSet(error, ENOMEM, "out of memory");
				for (uint64_t i = 0; i < num_values; i++)
					memcpy(p + i * v->len, v->data, v->len);
				out->num_values = num_values;
				out->bits_per_value = (uint32_t) (v->len * 8);
				out->values = p;
				out->values_len = total;
				return 0;
			}

		default:
			return LanceErrorSet(error, ENOTSUP, "encoding %s is not supported",
								 LanceCompressiveEncodingName(enc));
	}
}

int
LanceDecompress20(const Lance__Encodings__ArrayEncoding *enc, const LanceBytes *page_buffers,
				  size_t num_buffers, uint64_t num_values, const LanceAllocator *allocator,
				  LanceDecoded *out, LanceError *error)
{
	(void) allocator;
	if (enc == NULL)
		return LanceErrorSet(error, EINVAL, "an array encoding is missing");
	switch (enc->array_encoding_case)
	{
		case LANCE__ENCODINGS__ARRAY_ENCODING__ARRAY_ENCODING_FLAT:
			{
				const Lance__Encodings__Flat *flat = enc->flat;
				uint32_t	b = flat->buffer ? flat->buffer->buffer_index : 0;

				if (flat->compression != NULL && flat->compression->scheme != NULL &&
					flat->compression->scheme[0] != '\0')
					return LanceErrorSet(error, ENOTSUP, "Flat with compression \"%.32s\" is not supported",
										 flat->compression->scheme);
				if (flat->buffer != NULL &&
					flat->buffer->buffer_type != LANCE__ENCODINGS__BUFFER__BUFFER_TYPE__page)
					return LanceErrorSet(error, ENOTSUP, "column and file buffers are not supported");
				if (b >= num_buffers)
					return LanceErrorSet(error, EINVAL, "Flat names buffer %u of a page with %zu",
										 b, num_buffers);
				return decode_flat(flat->bits_per_value, &page_buffers[b], num_values, out, error);
			}
		default:
			return LanceErrorSet(error, ENOTSUP, "2.0 encoding %s is not supported",
								 LanceArrayEncodingName(enc));
	}
}
