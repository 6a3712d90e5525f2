/*
 * general.c
 *	  zstd and LZ4 buffer decompression with Lance's length-prefix framings
 *	  (see general.h).  Uses Debian's libzstd and liblz4; the output always
 *	  goes to the caller's buffer, whose size is checked against the declared
 *	  length before anything is decompressed.
 */
#include "lance/general.h"

#include <lz4.h>
#include <zstd.h>

#include "lance/codec_internal.h"

#define ZSTD_MAGIC 0xFD2FB528u

/* Lance's test for a bare (not length-prefixed) zstd frame */
static bool
zstd_is_bare(const uint8_t *in, size_t in_len)
{
	if (in_len < 8)
		return true;
	return LanceLoadU32(in) == ZSTD_MAGIC && (in[4] & 0x10) == 0;
}

int
LanceGeneralDecompressedSize(int scheme, const uint8_t *in, size_t in_len,
							 size_t *size, LanceError *error)
{
	if (scheme == LANCE_COMPRESSION_LZ4)
	{
		if (in_len < 4)
			return LanceErrorSet(error, EINVAL,
							   "lz4: expected a 4-byte length prefix but found %zu bytes", in_len);
		*size = LanceLoadU32(in);
		return 0;
	}
	if (scheme != LANCE_COMPRESSION_ZSTD)
		return LanceErrorSet(error, ENOTSUP,
						   "general compression: expected scheme 1 (lz4) or 2 (zstd) but found %d",
						   scheme);
	if (in_len == 0)
	{
		*size = 0;
		return 0;
	}
	if (zstd_is_bare(in, in_len))
	{
		unsigned long long n = ZSTD_getFrameContentSize(in, in_len);

		if (n == ZSTD_CONTENTSIZE_ERROR)
			return LanceErrorSet(error, EINVAL,
							   "zstd: expected a zstd frame but found %zu bytes that are not one",
							   in_len);
		if (n == ZSTD_CONTENTSIZE_UNKNOWN || n > SIZE_MAX)
			return LanceErrorSet(error, ENOTSUP,
							   "zstd: expected a frame that records its size but found none");
		*size = (size_t) n;
		return 0;
	}
	{
		uint64_t	n = LanceLoadU64(in);

		if (n > SIZE_MAX)
			return LanceErrorSet(error, EINVAL,
							   "zstd: expected a plausible length prefix but found %llu",
							   (unsigned long long) n);
		*size = (size_t) n;
	}
	return 0;
}

int
LanceGeneralDecompress(int scheme, const uint8_t *in, size_t in_len,
					   uint8_t *out, size_t out_capacity, size_t *out_len,
					   LanceError *error)
{
	size_t		size;
	int			rc = LanceGeneralDecompressedSize(scheme, in, in_len, &size, error);

	if (rc != 0)
		return rc;
	if (size > out_capacity)
		return LanceErrorSet(error, EINVAL,
						   "general compression: expected at most %zu decompressed bytes but the buffer declares %zu",
						   out_capacity, size);
	*out_len = size;
	if (scheme == LANCE_COMPRESSION_LZ4)
	{
		int			n;

		if (in_len - 4 > INT32_MAX || size > INT32_MAX)
			return LanceErrorSet(error, ENOTSUP,
							   "lz4: expected a block under 2 GiB but found %zu bytes", size);
		n = LZ4_decompress_safe((const char *) in + 4, (char *) out, (int) (in_len - 4), (int) size);
		if (n < 0 || (size_t) n != size)
			return LanceErrorSet(error, EINVAL,
							   "lz4: expected a block of %zu bytes but found corrupt data (%d)",
							   size, n);
		return 0;
	}
	if (in_len == 0)
		return 0;
	{
		const uint8_t *frame = in;
		size_t		frame_len = in_len;
		size_t		n;

		if (!zstd_is_bare(in, in_len))
		{
			frame += 8;
			frame_len -= 8;
		}
		n = ZSTD_decompress(out, size, frame, frame_len);
		if (ZSTD_isError(n))
			return LanceErrorSet(error, EINVAL, "zstd: expected %zu bytes but found corrupt data (%s)",
							   size, ZSTD_getErrorName(n));
		if (n != size)
			return LanceErrorSet(error, EINVAL, "zstd: expected %zu bytes but found %zu", size, n);
	}
	return 0;
}
