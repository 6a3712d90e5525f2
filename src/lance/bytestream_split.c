/*
 * bytestream_split.c
 *	  Undoes Lance's byte-stream split within one chunk (layout in
 *	  bytestream_split.h).
 */
#include "lance/bytestream_split.h"

#include "lance/codec_internal.h"

int
LanceByteStreamSplitDecode(unsigned bits_per_value,
						   const uint8_t *in, size_t in_len,
						   uint64_t num_values,
						   uint8_t *out, size_t out_capacity,
						   LanceError *error)
{
	unsigned	b;
	size_t		n;

	if (bits_per_value == 0 || bits_per_value % 8 != 0 || bits_per_value > 64)
		return LanceErrorSet(error, ENOTSUP,
						   "byte stream split: expected a width of 8 to 64 bits in whole bytes but found %u",
						   bits_per_value);
	b = bits_per_value / 8;
	if (num_values > out_capacity / b)
		return LanceErrorSet(error, EINVAL,
						   "byte stream split: expected room for %llu values of %u bytes but found %zu bytes",
						   (unsigned long long) num_values, b, out_capacity);
	n = (size_t) num_values;
	if (in_len != n * b)
		return LanceErrorSet(error, EINVAL,
						   "byte stream split: expected %zu bytes for %zu values but found %zu",
						   n * b, n, in_len);
	for (unsigned j = 0; j < b; j++)
		for (size_t i = 0; i < n; i++)
			out[i * b + j] = in[j * n + i];
	return 0;
}
