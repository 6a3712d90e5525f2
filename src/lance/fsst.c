/*
 * fsst.c
 *	  FSST symbol-table parsing and decompression (the table and code formats
 *	  are documented in fsst.h).  Every code and escape is checked; decoding
 *	  never writes past the caller's capacity, and a counting pass lets the
 *	  caller allocate exactly.
 */
#include "lance/fsst.h"

#include "lance/codec_internal.h"

#define FSST_MAGIC 0x46535354u
#define FSST_ESCAPE 255

int
LanceFsstTableParse(LanceFsstTable *table, const uint8_t *buf, size_t len, LanceError *error)
{
	uint64_t	header;
	unsigned	n;

	if (len != LANCE_FSST_TABLE_BYTES)
		return LanceErrorSet(error, EINVAL,
						   "fsst: expected a %d-byte symbol table but found %zu bytes",
						   LANCE_FSST_TABLE_BYTES, len);
	header = LanceLoadU64(buf);
	if ((uint32_t) (header >> 32) != FSST_MAGIC)
		return LanceErrorSet(error, EINVAL,
						   "fsst: expected the symbol table magic 0x%08x but found 0x%08x",
						   FSST_MAGIC, (unsigned) (header >> 32));
	n = (unsigned) (header & 0xff);
	table->compressed = (header >> 24) & 1;
	table->num_symbols = n;
	for (unsigned i = 0; i < n; i++)
	{
		unsigned	l = buf[8 + 8 * n + i];

		if (l < 1 || l > 8)
			return LanceErrorSet(error, EINVAL,
							   "fsst: expected symbol %u to be 1 to 8 bytes long but found %u",
							   i, l);
		table->symbols[i] = LanceLoadU64(buf + 8 + 8 * i);
		table->lengths[i] = (uint8_t) l;
	}
	return 0;
}

int
LanceFsstDecompress(const LanceFsstTable *table, const uint8_t *in, size_t in_len,
					uint8_t *out, size_t out_capacity, size_t *out_len, LanceError *error)
{
	size_t		o = 0;
	size_t		i = 0;

	if (!table->compressed)
	{
		if (out != NULL)
		{
			if (in_len > out_capacity)
				return LanceErrorSet(error, EINVAL,
								   "fsst: expected room for %zu bytes but found %zu",
								   in_len, out_capacity);
			memcpy(out, in, in_len);
		}
		*out_len = in_len;
		return 0;
	}
	while (i < in_len)
	{
		unsigned	c = in[i];

		if (c == FSST_ESCAPE)
		{
			if (i + 1 >= in_len)
				return LanceErrorSet(error, EINVAL,
								   "fsst: expected a literal byte after the escape at %zu but found the end",
								   i);
			if (out != NULL)
			{
				if (o >= out_capacity)
					return LanceErrorSet(error, EINVAL,
									   "fsst: expected room for more than %zu bytes", out_capacity);
				out[o] = in[i + 1];
			}
			o++;
			i += 2;
			continue;
		}
		if (c >= table->num_symbols)
			return LanceErrorSet(error, EINVAL,
							   "fsst: expected a code below %u but found %u at %zu",
							   table->num_symbols, c, i);
		if (out != NULL)
		{
			uint64_t	s = table->symbols[c];

			if (out_capacity - o < table->lengths[c])
				return LanceErrorSet(error, EINVAL,
								   "fsst: expected room for more than %zu bytes", out_capacity);
			for (unsigned k = 0; k < table->lengths[c]; k++)
				out[o + k] = (uint8_t) (s >> (8 * k));
		}
		o += table->lengths[c];
		i++;
	}
	*out_len = o;
	return 0;
}

int
LanceFsstDecompressStrings(const LanceFsstTable *table, const LanceVarBlock *in,
						   unsigned out_offset_bytes, uint8_t *out_offsets,
						   uint8_t *out_bytes, size_t out_capacity,
						   size_t *out_len, LanceError *error)
{
	size_t		total = 0;

	if (out_offset_bytes != 4 && out_offset_bytes != 8)
		return LanceErrorSet(error, ENOTSUP,
						   "fsst: expected 4 or 8-byte output offsets but found %u",
						   out_offset_bytes);
	if (out_offsets != NULL)
		codec_store_uint(out_offsets, out_offset_bytes, 0);
	for (uint64_t v = 0; v < in->num_values; v++)
	{
		const uint8_t *s;
		size_t		slen,
					n;
		int			rc;

		LanceVarBlockValue(in, v, &s, &slen);
		rc = LanceFsstDecompress(table, s, slen,
								 out_bytes == NULL ? NULL : out_bytes + total,
								 out_bytes == NULL ? 0 : out_capacity - total, &n, error);
		if (rc != 0)
			return rc;
		total += n;
		if (out_offset_bytes == 4 && total > UINT32_MAX)
			return LanceErrorSet(error, EINVAL,
							   "fsst: expected at most 4 GiB of strings for 32-bit offsets but found %zu bytes",
							   total);
		if (out_offsets != NULL)
			codec_store_uint(out_offsets + (v + 1) * out_offset_bytes, out_offset_bytes, total);
	}
	*out_len = total;
	return 0;
}
