/*
 * compress.c
 *	  The decompression dispatcher (contract in compress.h): a single switch
 *	  per format version from encoding message to decoded values.
 *
 * Implemented here: Flat (uncompressed), Variable with Flat offsets,
 * FixedSizeList, Constant; the codec cases call the byte-level codecs
 * (bitpack.h, rle.h, bytestream_split.h, general.h, fsst.h), which check
 * every length themselves.  Here we check the shape of the encoding tree
 * (which inner encodings a codec accepts) and bound every allocation by
 * what the input can describe, so corrupt metadata cannot make us allocate
 * more than LANCE_DECODED_MAX_BYTES.  PackedStruct, VariablePackedStruct
 * and Dictionary-as-a-compressive-encoding (lance writes dictionaries as a
 * page-level buffer, which decode_v21.c handles) return ENOTSUP.
 */
#include "lance/compress.h"
#include "lance/bitpack.h"
#include "lance/bytestream_split.h"
#include "lance/fsst.h"
#include "lance/general.h"
#include "lance/rle.h"
#include "lance/varblock.h"

/*
 * Upper bound on the bytes one decode may allocate.  Lance's mini-block
 * chunks decode to at most 32 KiB and its dictionaries are small; a whole
 * 2.0 page is a few MiB.  Anything larger comes from corrupt metadata.
 */
#define LANCE_DECODED_MAX_BYTES ((uint64_t) 1 << 28)

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

/* The T of a codec: 8, 16, 32 or 64 uncompressed bits per value. */
static int
check_word_bits(uint64_t bits, const char *what, LanceError *error)
{
	if (bits != 8 && bits != 16 && bits != 32 && bits != 64)
		return LanceErrorSet(error, EINVAL, "%s with %llu bits per value is malformed",
							 what, (unsigned long long) bits);
	return 0;
}

/* The bits_per_value of 'enc' when it is a plain Flat, else 0. */
static uint64_t
plain_flat_bits(const Lance__Encodings21__CompressiveEncoding *enc)
{
	if (enc == NULL || enc->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT ||
		(enc->flat->data != NULL && enc->flat->data->scheme != 0))
		return 0;
	return enc->flat->bits_per_value;
}

/*
 * Room for n values of 'bits' (8..64) bits owned by 'out'; sets the fixed
 * width fields of 'out' to describe it.
 */
static int
alloc_fixed(LanceDecoded *out, uint64_t n, uint64_t bits, uint8_t **p, size_t *cap,
			LanceError *error)
{
	uint64_t	bytes;

	if (!LanceMulU64(n, bits / 8, &bytes) || bytes > LANCE_DECODED_MAX_BYTES)
		return LanceErrorSet(error, EINVAL, "%llu values of %llu bits are too many for one block",
							 (unsigned long long) n, (unsigned long long) bits);
	*p = LanceDecodedAlloc(out, (size_t) bytes + 1);
	if (*p == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory decoding %llu values", (unsigned long long) n);
	*cap = (size_t) bytes;
	out->num_values = n;
	out->bits_per_value = (uint32_t) bits;
	out->values = *p;
	out->values_len = bytes;
	return 0;
}

static int
decode_inline_bitpacking(const Lance__Encodings21__InlineBitpacking *ib, const LanceBytes *buf,
						 uint64_t n, LanceDecoded *out, LanceError *error)
{
	uint64_t	t = ib->uncompressed_bits_per_value;
	uint64_t	min_bytes;
	size_t		cap;
	uint8_t    *p;
	int			rc;

	if (ib->values != NULL && ib->values->scheme != 0)
		return LanceErrorSet(error, ENOTSUP, "InlineBitpacking with compressed values is not supported");
	if ((rc = check_word_bits(t, "InlineBitpacking", error)) != 0)
		return rc;
	/* every block of 1024 values starts with a T-bit width word */
	min_bytes = (n / LANCE_BITPACK_BLOCK_VALUES + (n % LANCE_BITPACK_BLOCK_VALUES != 0)) * (t / 8);
	if (min_bytes > buf->len)
		return LanceErrorSet(error, EINVAL, "InlineBitpacking: expected at least %llu bytes for %llu values but found %llu",
							 (unsigned long long) min_bytes, (unsigned long long) n,
							 (unsigned long long) buf->len);
	if ((rc = alloc_fixed(out, n, t, &p, &cap, error)) != 0)
		return rc;
	return LanceInlineBitpackDecode((unsigned) t, buf->data, buf->len, n, p, cap, error);
}

static int
decode_out_of_line_bitpacking(const Lance__Encodings21__OutOfLineBitpacking *ob,
							  const LanceBytes *buf, uint64_t n, LanceDecoded *out,
							  LanceError *error)
{
	uint64_t	t = ob->uncompressed_bits_per_value;
	uint64_t	w = plain_flat_bits(ob->values);
	size_t		cap;
	uint8_t    *p;
	int			rc;

	if ((rc = check_word_bits(t, "OutOfLineBitpacking", error)) != 0)
		return rc;
	if (ob->values == NULL || ob->values->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT)
		return LanceErrorSet(error, ENOTSUP, "OutOfLineBitpacking of %s is not supported",
							 LanceCompressiveEncodingName(ob->values));
	if (w > t || (w == 0 && ob->values->flat->bits_per_value != 0))
		return LanceErrorSet(error, EINVAL, "OutOfLineBitpacking to %llu of %llu bits is malformed",
							 (unsigned long long) ob->values->flat->bits_per_value,
							 (unsigned long long) t);
	if ((rc = alloc_fixed(out, n, t, &p, &cap, error)) != 0)
		return rc;
	return LanceOutOfLineBitpackDecode((unsigned) t, (unsigned) w, buf->data, buf->len, n, p, cap, error);
}

/* Rle{values: Flat{T}, run_lengths: Flat{8}}: buffer 0 values, 1 lengths. */
static int
decode_rle(const Lance__Encodings21__Rle *rle, const LanceBytes *buffers, size_t num_buffers,
		   uint64_t n, LanceDecoded *out, LanceError *error)
{
	uint64_t	t = plain_flat_bits(rle->values);
	size_t		cap;
	uint8_t    *p;
	int			rc;

	if (t == 0 || plain_flat_bits(rle->run_lengths) != 8)
		return LanceErrorSet(error, ENOTSUP, "Rle of %s values and %s run lengths is not supported",
							 LanceCompressiveEncodingName(rle->values),
							 LanceCompressiveEncodingName(rle->run_lengths));
	if ((rc = check_word_bits(t, "Rle", error)) != 0)
		return rc;
	if (num_buffers < 2)
		return LanceErrorSet(error, EINVAL, "Rle expects 2 buffers but found %zu", num_buffers);
	/* each run-length byte stands for at most 255 values */
	if (n > (uint64_t) buffers[1].len * 255)
		return LanceErrorSet(error, EINVAL, "Rle: expected runs for %llu values but found %llu runs",
							 (unsigned long long) n, (unsigned long long) buffers[1].len);
	if ((rc = alloc_fixed(out, n, t, &p, &cap, error)) != 0)
		return rc;
	return LanceRleDecode((unsigned) t, buffers[0].data, buffers[0].len,
						  buffers[1].data, buffers[1].len, n, p, cap, error);
}

static int
decode_byte_stream_split(const Lance__Encodings21__ByteStreamSplit *bss, const LanceBytes *buf,
						 uint64_t n, LanceDecoded *out, LanceError *error)
{
	uint64_t	t = plain_flat_bits(bss->values);
	size_t		cap;
	uint8_t    *p;
	int			rc;

	if (t == 0)
		return LanceErrorSet(error, ENOTSUP, "ByteStreamSplit of %s is not supported",
							 LanceCompressiveEncodingName(bss->values));
	if (t % 8 != 0 || t > 64)
		return LanceErrorSet(error, EINVAL, "ByteStreamSplit of %llu-bit values is malformed",
							 (unsigned long long) t);
	if (n > buf->len)
		return LanceErrorSet(error, EINVAL, "ByteStreamSplit: expected %llu values but found %llu bytes",
							 (unsigned long long) n, (unsigned long long) buf->len);
	if ((rc = alloc_fixed(out, n, t, &p, &cap, error)) != 0)
		return rc;
	return LanceByteStreamSplitDecode((unsigned) t, buf->data, buf->len, n, p, cap, error);
}

/*
 * General: buffer 0 is compressed; the inner encoding decodes the
 * decompressed bytes together with the other buffers as they are.  The
 * decompressed bytes stay owned by 'out' (the inner result may point
 * into them).
 */
static int
decode_general(const Lance__Encodings21__General *gen, const LanceBytes *buffers,
			   size_t num_buffers, uint64_t n, const LanceAllocator *allocator,
			   LanceDecoded *out, LanceError *error)
{
	LanceBytes	inner[8];
	size_t		size,
				got;
	uint8_t    *p;
	int			scheme = gen->compression ? (int) gen->compression->scheme : 0;
	int			rc;

	if (gen->values == NULL)
		return LanceErrorSet(error, EINVAL, "General without an inner encoding");
	if (num_buffers < 1 || num_buffers > 8)
		return LanceErrorSet(error, EINVAL, "General expects 1 to 8 buffers but found %zu", num_buffers);
	if ((rc = LanceGeneralDecompressedSize(scheme, buffers[0].data, (size_t) buffers[0].len,
										   &size, error)) != 0)
		return rc;
	if (size > LANCE_DECODED_MAX_BYTES)
		return LanceErrorSet(error, EINVAL, "General: a block declares %zu decompressed bytes", size);
	if ((p = LanceDecodedAlloc(out, size + 1)) == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory decompressing %zu bytes", size);
	if ((rc = LanceGeneralDecompress(scheme, buffers[0].data, (size_t) buffers[0].len,
									 p, size, &got, error)) != 0)
		return rc;
	inner[0].data = p;
	inner[0].len = got;
	for (size_t b = 1; b < num_buffers; b++)
		inner[b] = buffers[b];
	return LanceDecompress21(gen->values, inner, num_buffers, n, allocator, out, error);
}

/* Fsst{symbol_table, values: Variable{Flat 32|64}} into uint64 offsets + bytes. */
static int
decode_fsst(const Lance__Encodings21__Fsst *fsst, const LanceBytes *buf, uint64_t n,
			LanceDecoded *out, LanceError *error)
{
	const Lance__Encodings21__CompressiveEncoding *ve = fsst->values;
	LanceFsstTable table;
	LanceVarBlock view;
	uint64_t	obits;
	size_t		total;
	uint64_t   *offsets;
	uint8_t    *bytes;
	int			rc;

	if (ve == NULL || ve->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE ||
		(ve->variable->values != NULL && ve->variable->values->scheme != 0) ||
		(obits = plain_flat_bits(ve->variable->offsets)) == 0)
		return LanceErrorSet(error, ENOTSUP, "Fsst of %s is not supported (expected plain Variable)",
							 LanceCompressiveEncodingName(ve));
	if ((rc = LanceFsstTableParse(&table, fsst->symbol_table.data, fsst->symbol_table.len, error)) != 0 ||
		(rc = LanceVarBlockParseMiniBlock((unsigned) obits, buf->data, (size_t) buf->len, n,
										  &view, error)) != 0 ||
		(rc = LanceFsstDecompressStrings(&table, &view, 8, NULL, NULL, 0, &total, error)) != 0)
		return rc;
	if (total > LANCE_DECODED_MAX_BYTES)
		return LanceErrorSet(error, EINVAL, "Fsst: %zu decompressed bytes in one block", total);
	offsets = LanceDecodedAlloc(out, (size_t) (n + 1) * sizeof(uint64_t));
	bytes = LanceDecodedAlloc(out, total + 1);
	if (offsets == NULL || bytes == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory decompressing %zu bytes", total);
	/* 8-byte little-endian offsets: uint64_t on the little-endian hosts we support */
	if ((rc = LanceFsstDecompressStrings(&table, &view, 8, (uint8_t *) offsets, bytes, total,
										 &total, error)) != 0)
		return rc;
	out->num_values = n;
	out->bits_per_value = 0;
	out->values = bytes;
	out->values_len = total;
	out->offsets = offsets;
	return 0;
}

int
LanceDecompress21(const Lance__Encodings21__CompressiveEncoding *enc,
				  const LanceBytes *buffers, size_t num_buffers, uint64_t num_values,
				  const LanceAllocator *allocator, LanceDecoded *out, LanceError *error)
{
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

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_INLINE_BITPACKING:
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "InlineBitpacking expects 1 buffer but found 0");
			return decode_inline_bitpacking(enc->inline_bitpacking, &buffers[0], num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_OUT_OF_LINE_BITPACKING:
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "OutOfLineBitpacking expects 1 buffer but found 0");
			return decode_out_of_line_bitpacking(enc->out_of_line_bitpacking, &buffers[0],
												 num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_RLE:
			return decode_rle(enc->rle, buffers, num_buffers, num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_BYTE_STREAM_SPLIT:
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "ByteStreamSplit expects 1 buffer but found 0");
			return decode_byte_stream_split(enc->byte_stream_split, &buffers[0], num_values, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_GENERAL:
			return decode_general(enc->general, buffers, num_buffers, num_values, allocator, out, error);

		case LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST:
			if (num_buffers < 1)
				return LanceErrorSet(error, EINVAL, "Fsst expects 1 buffer but found 0");
			return decode_fsst(enc->fsst, &buffers[0], num_values, out, error);

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
