/*
 * bitpack.c
 *	  FastLanes unpacking for Lance's InlineBitpacking and OutOfLineBitpacking
 *	  encodings.  The bit order and the block framings are documented in
 *	  bitpack.h; this file only enforces them.
 *
 * The unpacker is written once for every word size T: it walks each lane's
 * bit stream with 64-bit arithmetic and stores T-bit little-endian values, so
 * the output never depends on host endianness or alignment.
 */
#include "lance/bitpack.h"

#include "lance/codec_internal.h"

static const unsigned fl_order[8] = {0, 4, 2, 6, 1, 5, 3, 7};

/* Checks T and returns its size in bytes, or 0 after filling 'error'. */
static unsigned
word_bytes(unsigned uncompressed_bits, LanceError *error)
{
	switch (uncompressed_bits)
	{
		case 8:
		case 16:
		case 32:
		case 64:
			return uncompressed_bits / 8;
		default:
			LanceErrorSet(error, ENOTSUP,
						"bitpacking: expected an uncompressed width of 8, 16, 32 or 64 bits but found %u",
						uncompressed_bits);
			return 0;
	}
}

int
LanceBitpackUnpackBlock(unsigned uncompressed_bits, unsigned bit_width,
						const uint8_t *packed, size_t packed_len,
						uint8_t *out, LanceError *error)
{
	unsigned	bytes = word_bytes(uncompressed_bits, error);
	unsigned	t = uncompressed_bits;
	unsigned	lanes;
	uint64_t	mask;

	if (bytes == 0)
		return ENOTSUP;
	if (bit_width > t)
		return LanceErrorSet(error, EINVAL,
						   "bitpacking: expected a bit width of at most %u but found %u",
						   t, bit_width);
	if (packed_len != LanceBitpackBlockBytes(bit_width))
		return LanceErrorSet(error, EINVAL,
						   "bitpacking: expected %zu packed bytes for width %u but found %zu",
						   LanceBitpackBlockBytes(bit_width), bit_width, packed_len);
	if (bit_width == 0)
	{
		memset(out, 0, (size_t) LANCE_BITPACK_BLOCK_VALUES * bytes);
		return 0;
	}

	lanes = LANCE_BITPACK_BLOCK_VALUES / t;
	mask = bit_width == 64 ? UINT64_MAX : ((uint64_t) 1 << bit_width) - 1;
	for (unsigned lane = 0; lane < lanes; lane++)
	{
		for (unsigned row = 0; row < t; row++)
		{
			unsigned	bit = row * bit_width;
			unsigned	word = bit / t;
			unsigned	shift = bit % t;
			uint64_t	v;
			unsigned	index;

			v = codec_load_uint(packed + ((size_t) lanes * word + lane) * bytes, bytes) >> shift;
			if (shift + bit_width > t)
			{
				/* the value continues in the lane's next word */
				uint64_t	next = codec_load_uint(packed + ((size_t) lanes * (word + 1) + lane) * bytes,
												   bytes);

				v |= next << (t - shift);
			}
			index = fl_order[row / 8] * 16 + (row % 8) * 128 + lane;
			codec_store_uint(out + (size_t) index * bytes, bytes, v & mask);
		}
	}
	return 0;
}

/* Common argument checks; returns the word size in bytes or 0. */
static unsigned
check_output(unsigned uncompressed_bits, uint64_t num_values, size_t out_capacity,
			 LanceError *error, int *code)
{
	unsigned	bytes = word_bytes(uncompressed_bits, error);

	*code = ENOTSUP;
	if (bytes == 0)
		return 0;
	if (num_values > out_capacity / bytes)
	{
		*code = LanceErrorSet(error, EINVAL,
							"bitpacking: expected room for %llu values of %u bytes but found %zu bytes",
							(unsigned long long) num_values, bytes, out_capacity);
		return 0;
	}
	*code = 0;
	return bytes;
}

/* Unpacks one block and keeps its first 'n' values (n <= 1024). */
static int
unpack_some(unsigned t, unsigned bytes, unsigned width, const uint8_t *packed,
			size_t n, uint8_t *out, LanceError *error)
{
	uint8_t		tmp[LANCE_BITPACK_BLOCK_VALUES * 8];
	int			rc;

	if (n == LANCE_BITPACK_BLOCK_VALUES)
		return LanceBitpackUnpackBlock(t, width, packed, LanceBitpackBlockBytes(width), out, error);
	rc = LanceBitpackUnpackBlock(t, width, packed, LanceBitpackBlockBytes(width), tmp, error);
	if (rc == 0)
		memcpy(out, tmp, n * bytes);
	return rc;
}

int
LanceInlineBitpackDecode(unsigned uncompressed_bits,
						 const uint8_t *data, size_t data_len,
						 uint64_t num_values,
						 uint8_t *out, size_t out_capacity,
						 LanceError *error)
{
	int			rc;
	unsigned	bytes = check_output(uncompressed_bits, num_values, out_capacity, error, &rc);
	size_t		pos = 0;
	uint64_t	done = 0;

	if (bytes == 0)
		return rc;
	while (done < num_values)
	{
		uint64_t	width;
		size_t		n;

		if (data_len - pos < bytes)
			return LanceErrorSet(error, EINVAL,
							   "inline bitpacking: expected a %u-byte width word at offset %zu but found %zu bytes",
							   bytes, pos, data_len - pos);
		width = codec_load_uint(data + pos, bytes);
		pos += bytes;
		if (width > uncompressed_bits)
			return LanceErrorSet(error, EINVAL,
							   "inline bitpacking: expected a bit width of at most %u but found %llu",
							   uncompressed_bits, (unsigned long long) width);
		if (data_len - pos < LanceBitpackBlockBytes((unsigned) width))
			return LanceErrorSet(error, EINVAL,
							   "inline bitpacking: expected %zu packed bytes for width %llu but found %zu",
							   LanceBitpackBlockBytes((unsigned) width),
							   (unsigned long long) width, data_len - pos);
		n = num_values - done < LANCE_BITPACK_BLOCK_VALUES ?
			(size_t) (num_values - done) : LANCE_BITPACK_BLOCK_VALUES;
		rc = unpack_some(uncompressed_bits, bytes, (unsigned) width, data + pos, n,
						 out + done * bytes, error);
		if (rc != 0)
			return rc;
		pos += LanceBitpackBlockBytes((unsigned) width);
		done += n;
	}
	if (pos != data_len)
		return LanceErrorSet(error, EINVAL,
						   "inline bitpacking: expected %zu bytes for %llu values but found %zu",
						   pos, (unsigned long long) num_values, data_len);
	return 0;
}

int
LanceOutOfLineBitpackDecode(unsigned uncompressed_bits, unsigned bit_width,
							const uint8_t *data, size_t data_len,
							uint64_t num_values,
							uint8_t *out, size_t out_capacity,
							LanceError *error)
{
	int			rc;
	unsigned	bytes = check_output(uncompressed_bits, num_values, out_capacity, error, &rc);
	uint64_t	whole;
	size_t		tail;
	size_t		block_bytes;
	size_t		full_len;

	if (bytes == 0)
		return rc;
	if (bit_width > uncompressed_bits)
		return LanceErrorSet(error, EINVAL,
						   "out-of-line bitpacking: expected a bit width of at most %u but found %u",
						   uncompressed_bits, bit_width);
	whole = num_values / LANCE_BITPACK_BLOCK_VALUES;
	tail = (size_t) (num_values % LANCE_BITPACK_BLOCK_VALUES);
	block_bytes = LanceBitpackBlockBytes(bit_width);
	/* num_values fits the output, so whole * block_bytes <= 8 * num_values */
	full_len = (size_t) whole * block_bytes;

	if (tail == 0 && data_len != full_len)
		return LanceErrorSet(error, EINVAL,
						   "out-of-line bitpacking: expected %zu bytes for %llu values of width %u but found %zu",
						   full_len, (unsigned long long) num_values, bit_width, data_len);
	if (tail != 0 && data_len != full_len + tail * bytes &&
		data_len != full_len + block_bytes)
		return LanceErrorSet(error, EINVAL,
						   "out-of-line bitpacking: expected %zu or %zu bytes for %llu values of width %u but found %zu",
						   full_len + tail * bytes, full_len + block_bytes,
						   (unsigned long long) num_values, bit_width, data_len);

	for (uint64_t b = 0; b < whole; b++)
	{
		rc = LanceBitpackUnpackBlock(uncompressed_bits, bit_width, data + b * block_bytes,
									 block_bytes, out + b * LANCE_BITPACK_BLOCK_VALUES * bytes,
									 error);
		if (rc != 0)
			return rc;
	}
	if (tail == 0)
		return 0;
	out += whole * LANCE_BITPACK_BLOCK_VALUES * bytes;
	if (data_len == full_len + tail * bytes)
	{
		/* the tail was cheaper stored raw (checked first, as Lance does) */
		memcpy(out, data + full_len, tail * bytes);
		return 0;
	}
	return unpack_some(uncompressed_bits, bytes, bit_width, data + full_len, tail, out, error);
}
