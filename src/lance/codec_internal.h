/*
 * codec_internal.h
 *	  Small helpers shared by the byte-level codecs (bitpack.c, fsst.c, rle.c,
 *	  dict.c, general.c, bytestream_split.c, varblock.c): little-endian loads
 *	  and stores, and error reporting.
 *
 * The codecs are pure functions over (pointer, length) byte views: they never
 * allocate, they check every length and offset that comes from the data, and
 * they report corrupt input as EINVAL ("expected X but found Y") and valid
 * but unsupported parameters as ENOTSUP.  Errors are formatted straight into
 * the caller's LanceError (lance.h) so the codecs depend on nothing but that
 * struct.
 */
#ifndef LANCE_CODEC_INTERNAL_H
#define LANCE_CODEC_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lance/lance.h"

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

/* Formats a message into 'error' (NULL-safe) and returns 'code'. */
static inline __attribute__((format(printf, 3, 4))) int
codec_error(LanceError *error, int code, const char *fmt,...)
{
	va_list		ap;

	if (error == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
	return code;
}

static inline uint16_t
codec_load_u16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
codec_load_u32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) |
		((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
codec_load_u64(const uint8_t *p)
{
	return (uint64_t) codec_load_u32(p) | ((uint64_t) codec_load_u32(p + 4) << 32);
}

/* Loads an unsigned little-endian integer of 1, 2, 4 or 8 bytes. */
static inline uint64_t
codec_load_uint(const uint8_t *p, unsigned bytes)
{
	switch (bytes)
	{
		case 1:
			return p[0];
		case 2:
			return codec_load_u16(p);
		case 4:
			return codec_load_u32(p);
		default:
			return codec_load_u64(p);
	}
}

static inline void
codec_store_uint(uint8_t *p, unsigned bytes, uint64_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

#endif							/* LANCE_CODEC_INTERNAL_H */
