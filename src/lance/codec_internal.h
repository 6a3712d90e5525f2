/*
 * codec_internal.h
 *	  Small helpers shared by the byte-level codecs (bitpack.c, fsst.c, rle.c,
 *	  dict.c, general.c, bytestream_split.c, varblock.c): loads and stores of
 *	  1/2/4/8-byte little-endian words chosen at run time.
 *
 * The codecs are pure functions over (pointer, length) byte views: they never
 * allocate, they check every length and offset that comes from the data, and
 * they report corrupt input as EINVAL ("expected X but found Y", through
 * LanceErrorSet) and valid but unsupported parameters as ENOTSUP.  They
 * need error.c and nothing else of the library (no protobuf).
 */
#ifndef LANCE_CODEC_INTERNAL_H
#define LANCE_CODEC_INTERNAL_H

#include "lance/lance_internal.h"

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

/* Loads an unsigned little-endian integer of 1, 2, 4 or 8 bytes. */
static inline uint64_t
codec_load_uint(const uint8_t *p, unsigned bytes)
{
	switch (bytes)
	{
		case 1:
			return p[0];
		case 2:
			return LanceLoadU16(p);
		case 4:
			return LanceLoadU32(p);
		default:
			return LanceLoadU64(p);
	}
}

static inline void
codec_store_uint(uint8_t *p, unsigned bytes, uint64_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

#endif							/* LANCE_CODEC_INTERNAL_H */
