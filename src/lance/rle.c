/*
 * rle.c
 *	  Expands Lance's (value, u8 run length) pairs; see rle.h for the layout.
 *	  Every length comes from the data, so the output is bounded by the
 *	  caller's value count and capacity, never by the runs.
 */
#include "lance/rle.h"

#include "lance/codec_internal.h"

int
LanceRleDecode(unsigned bits_per_value,
			   const uint8_t *values, size_t values_len,
			   const uint8_t *run_lengths, size_t run_lengths_len,
			   uint64_t num_values, uint8_t *out, size_t out_capacity,
			   LanceError *error)
{
	unsigned	bytes;
	size_t		runs;
	uint64_t	done = 0;

	if (bits_per_value != 8 && bits_per_value != 16 && bits_per_value != 32 &&
		bits_per_value != 64)
		return LanceErrorSet(error, ENOTSUP,
						   "rle: expected 8, 16, 32 or 64-bit values but found %u bits",
						   bits_per_value);
	bytes = bits_per_value / 8;
	if (num_values > out_capacity / bytes)
		return LanceErrorSet(error, EINVAL,
						   "rle: expected room for %llu values of %u bytes but found %zu bytes",
						   (unsigned long long) num_values, bytes, out_capacity);
	if (values_len % bytes != 0 || values_len / bytes != run_lengths_len)
		return LanceErrorSet(error, EINVAL,
						   "rle: expected %zu bytes of run values for %zu run lengths but found %zu",
						   run_lengths_len * bytes, run_lengths_len, values_len);
	runs = run_lengths_len;
	for (size_t r = 0; r < runs && done < num_values; r++)
	{
		uint64_t	n = run_lengths[r];
		const uint8_t *v = values + r * bytes;

		if (n > num_values - done)
			n = num_values - done;	/* Lance truncates an overlong last run */
		for (uint64_t i = 0; i < n; i++)
			memcpy(out + (done + i) * bytes, v, bytes);
		done += n;
	}
	if (done != num_values)
		return LanceErrorSet(error, EINVAL,
						   "rle: expected runs covering %llu values but found %llu",
						   (unsigned long long) num_values, (unsigned long long) done);
	return 0;
}
