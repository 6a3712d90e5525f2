/*
 * varblock.c
 *	  Parses and checks the mini-block and block layouts of variable-width
 *	  values (see varblock.h for the byte layouts).  After a successful parse
 *	  every offset is known to be in bounds and non-decreasing, so readers of
 *	  the view need no further checks.
 */
#include "lance/varblock.h"

#include "lance/codec_internal.h"

/* Checks (n+1) offsets at 'offsets' against [min_first, base_len]. */
static int
check_offsets(const char *what, unsigned ob, const uint8_t *offsets, uint64_t n,
			  uint64_t min_first, size_t base_len, LanceError *error)
{
	uint64_t	prev = codec_load_uint(offsets, ob);

	if (prev < min_first || prev > base_len)
		return LanceErrorSet(error, EINVAL,
						   "%s: expected the first offset in [%llu, %zu] but found %llu",
						   what, (unsigned long long) min_first, base_len,
						   (unsigned long long) prev);
	for (uint64_t i = 1; i <= n; i++)
	{
		uint64_t	cur = codec_load_uint(offsets + i * ob, ob);

		if (cur < prev || cur > base_len)
			return LanceErrorSet(error, EINVAL,
							   "%s: expected offset %llu in [%llu, %zu] but found %llu",
							   what, (unsigned long long) i, (unsigned long long) prev,
							   base_len, (unsigned long long) cur);
		prev = cur;
	}
	return 0;
}

int
LanceVarBlockParseMiniBlock(unsigned bits_per_offset, const uint8_t *buf, size_t len,
							uint64_t num_values, LanceVarBlock *view, LanceError *error)
{
	unsigned	ob;
	int			rc;

	if (bits_per_offset != 32 && bits_per_offset != 64)
		return LanceErrorSet(error, ENOTSUP,
						   "variable values: expected 32 or 64-bit offsets but found %u bits",
						   bits_per_offset);
	ob = bits_per_offset / 8;
	if (num_values >= len / ob)
		return LanceErrorSet(error, EINVAL,
						   "variable values: expected %llu offsets of %u bytes but found %zu bytes",
						   (unsigned long long) num_values + 1, ob, len);
	rc = check_offsets("variable values", ob, buf, num_values, (num_values + 1) * ob, len, error);
	if (rc != 0)
		return rc;
	view->offset_bytes = ob;
	view->num_values = num_values;
	view->offsets = buf;
	view->base = buf;
	view->base_len = len;
	return 0;
}

int
LanceVarBlockParseBlock(const uint8_t *buf, size_t len, uint64_t num_values,
						LanceVarBlock *view, LanceError *error)
{
	unsigned	bits;
	uint64_t	bytes_start;
	size_t		offsets_start;
	unsigned	ob;
	int			rc;

	if (len < 8)
		return LanceErrorSet(error, EINVAL,
						   "variable block: expected at least 8 header bytes but found %zu", len);
	if (buf[1] != 0 || buf[2] != 0 || buf[3] != 0)
	{
		/* the older header: u8 bits, then num_values and bytes_start */
		bits = buf[0];
		if (bits == 32)
		{
			if (len < 9)
				return LanceErrorSet(error, EINVAL,
								   "variable block: expected 9 header bytes but found %zu", len);
			bytes_start = LanceLoadU32(buf + 5);
			offsets_start = 9;
		}
		else if (bits == 64)
		{
			if (len < 17)
				return LanceErrorSet(error, EINVAL,
								   "variable block: expected 17 header bytes but found %zu", len);
			bytes_start = LanceLoadU64(buf + 9);
			offsets_start = 17;
		}
		else
			return LanceErrorSet(error, EINVAL,
							   "variable block: expected 32 or 64 bits per offset but found %u", bits);
	}
	else
	{
		bits = LanceLoadU32(buf);
		if (bits == 32)
		{
			bytes_start = LanceLoadU32(buf + 4);
			offsets_start = 8;
		}
		else if (bits == 64)
		{
			if (len < 16)
				return LanceErrorSet(error, EINVAL,
								   "variable block: expected 16 header bytes but found %zu", len);
			bytes_start = LanceLoadU64(buf + 8);
			offsets_start = 16;
		}
		else
			return LanceErrorSet(error, EINVAL,
							   "variable block: expected 32 or 64 bits per offset but found %u", bits);
	}
	ob = bits / 8;
	if (bytes_start > len || bytes_start < offsets_start ||
		(bytes_start - offsets_start) / ob != num_values + 1 ||
		(bytes_start - offsets_start) % ob != 0)
		return LanceErrorSet(error, EINVAL,
						   "variable block: expected %llu offsets of %u bytes before the values but found bytes_start %llu in %zu bytes",
						   (unsigned long long) num_values + 1, ob,
						   (unsigned long long) bytes_start, len);
	rc = check_offsets("variable block", ob, buf + offsets_start, num_values, 0,
					   len - (size_t) bytes_start, error);
	if (rc != 0)
		return rc;
	view->offset_bytes = ob;
	view->num_values = num_values;
	view->offsets = buf + offsets_start;
	view->base = buf + bytes_start;
	view->base_len = len - (size_t) bytes_start;
	return 0;
}
