/*
 * dict.c
 *	  Index-to-item gathering for dictionary pages (see dict.h).  Every index
 *	  is checked against the dictionary size before it is used.
 */
#include "lance/dict.h"

#include "lance/codec_internal.h"

static int
check_index_bits(unsigned index_bits, LanceError *error)
{
	if (index_bits != 8 && index_bits != 16 && index_bits != 32 && index_bits != 64)
		return LanceErrorSet(error, ENOTSUP,
						   "dictionary: expected 8, 16, 32 or 64-bit indices but found %u bits",
						   index_bits);
	return 0;
}

static int
bad_index(LanceError *error, uint64_t i, uint64_t index, uint64_t num_items)
{
	return LanceErrorSet(error, EINVAL,
					   "dictionary: expected index %llu to be below %llu but found %llu",
					   (unsigned long long) i, (unsigned long long) num_items,
					   (unsigned long long) index);
}

int
LanceDictGatherFixed(unsigned index_bits, const uint8_t *indices, uint64_t n,
					 const uint8_t *items, size_t item_bytes, uint64_t num_items,
					 uint8_t *out, size_t out_capacity, LanceError *error)
{
	unsigned	ib = index_bits / 8;
	int			rc = check_index_bits(index_bits, error);

	if (rc != 0)
		return rc;
	if (item_bytes == 0 || n > out_capacity / item_bytes)
		return LanceErrorSet(error, EINVAL,
						   "dictionary: expected room for %llu items of %zu bytes but found %zu bytes",
						   (unsigned long long) n, item_bytes, out_capacity);
	for (uint64_t i = 0; i < n; i++)
	{
		uint64_t	index = codec_load_uint(indices + i * ib, ib);

		if (index >= num_items)
			return bad_index(error, i, index, num_items);
		memcpy(out + i * item_bytes, items + index * item_bytes, item_bytes);
	}
	return 0;
}

int
LanceDictGatherVariable(unsigned index_bits, const uint8_t *indices, uint64_t n,
						const LanceVarBlock *items,
						unsigned out_offset_bytes, uint8_t *out_offsets,
						uint8_t *out_bytes, size_t out_capacity, size_t *out_len,
						LanceError *error)
{
	unsigned	ib = index_bits / 8;
	size_t		total = 0;
	int			rc = check_index_bits(index_bits, error);

	if (rc != 0)
		return rc;
	if (out_offset_bytes != 4 && out_offset_bytes != 8)
		return LanceErrorSet(error, ENOTSUP,
						   "dictionary: expected 4 or 8-byte output offsets but found %u",
						   out_offset_bytes);
	if (out_offsets != NULL)
		codec_store_uint(out_offsets, out_offset_bytes, 0);
	for (uint64_t i = 0; i < n; i++)
	{
		uint64_t	index = codec_load_uint(indices + i * ib, ib);
		const uint8_t *v;
		size_t		len;

		if (index >= items->num_values)
			return bad_index(error, i, index, items->num_values);
		LanceVarBlockValue(items, index, &v, &len);
		if (out_bytes != NULL)
		{
			if (out_capacity - total < len)
				return LanceErrorSet(error, EINVAL,
								   "dictionary: expected room for more than %zu bytes", out_capacity);
			memcpy(out_bytes + total, v, len);
		}
		if (len > SIZE_MAX - total ||
			(out_offset_bytes == 4 && total + len > UINT32_MAX))
			return LanceErrorSet(error, EINVAL,
							   "dictionary: expected the values to fit %u-byte offsets",
							   out_offset_bytes);
		total += len;
		if (out_offsets != NULL)
			codec_store_uint(out_offsets + (i + 1) * out_offset_bytes, out_offset_bytes, total);
	}
	*out_len = total;
	return 0;
}
