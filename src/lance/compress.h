/*
 * compress.h
 *	  The decompression dispatcher: one entry point that turns the bytes of
 *	  a block (a mini-block chunk's value buffers, a definition-level
 *	  buffer, a 2.0 page leaf) plus the encoding message that describes them
 *	  into plain values.
 *
 * Contract, for every case of the switch in compress.c:
 *	inputs   the encoding message; the raw buffers it consumes, in the
 *			 order the layout stores them (a mini-block chunk: its
 *			 num_buffers value buffers; FixedSizeList with has_validity: the
 *			 item validity bitmap first); the number of values; an allocator.
 *	output   a LanceDecoded: fixed-width values (bits_per_value bits each,
 *			 LSB-first when < 8, row-major items for fixed-size lists), or
 *			 variable-width values (num_values + 1 uint64 offsets into
 *			 'values', first offset 0 or any start, non-decreasing), plus an
 *			 optional item validity bitmap (fixed-size list items).
 *			 'values' may point into the input buffers (no copy) or into
 *			 memory the LanceDecoded owns; LanceDecodedReset frees the latter.
 *	errors   EINVAL when the buffers are too short or inconsistent with the
 *			 encoding (never read past a buffer), ENOTSUP naming the encoding
 *			 when the case is not implemented, ENOMEM.
 * Codecs (bitpacking, FSST, RLE, general zstd/lz4, byte stream split) live
 * in their own files and are called from a case here.  Cases that wrap an
 * inner encoding (General, FixedSizeList) decode into the same LanceDecoded,
 * which then owns the intermediate memory too (General: the decompressed
 * buffer).  Mini-block dictionaries are page-level (decode_v21.c), not a
 * case here.
 */
#ifndef LANCE_COMPRESS_H
#define LANCE_COMPRESS_H

#include "lance/lance_internal.h"
#include "lance/proto/encodings_v2_0.pb-c.h"
#include "lance/proto/encodings_v2_1.pb-c.h"

typedef struct LanceBytes
{
	const uint8_t *data;
	uint64_t	len;
} LanceBytes;

#define LANCE_DECODED_MAX_OWNED 4

typedef struct LanceDecoded
{
	uint64_t	num_values;
	uint32_t	bits_per_value; /* fixed width; 0 for variable width */
	const uint8_t *values;
	uint64_t	values_len;		/* bytes available at 'values' */
	const uint64_t *offsets;	/* variable width: num_values + 1 */
	const uint8_t *validity;	/* fixed-size-list item validity, or NULL */
	/* memory this result owns */
	void	   *owned[LANCE_DECODED_MAX_OWNED];
	size_t		owned_len[LANCE_DECODED_MAX_OWNED];
	const LanceAllocator *allocator;
} LanceDecoded;

extern void LanceDecodedInit(LanceDecoded *d, const LanceAllocator *a);
extern void LanceDecodedReset(LanceDecoded *d);
/* Allocate 'len' bytes owned by 'd' (freed by Reset); NULL when full or OOM. */
extern void *LanceDecodedAlloc(LanceDecoded *d, size_t len);

/* Name of a 2.1 compressive encoding case, for messages. */
extern const char *LanceCompressiveEncodingName(const Lance__Encodings21__CompressiveEncoding *enc);
/* Name of a 2.0 array encoding case, for messages. */
extern const char *LanceArrayEncodingName(const Lance__Encodings__ArrayEncoding *enc);

/* Format 2.1: decode one block described by 'enc'. */
extern int	LanceDecompress21(const Lance__Encodings21__CompressiveEncoding *enc,
							  const LanceBytes *buffers, size_t num_buffers,
							  uint64_t num_values, const LanceAllocator *allocator,
							  LanceDecoded *out, LanceError *error);

/*
 * Format 2.0: decode a leaf of an ArrayEncoding tree (Flat, Constant, and
 * the codec leaves) given the page's buffers (the leaf names its buffer).
 */
extern int	LanceDecompress20(const Lance__Encodings__ArrayEncoding *enc,
							  const LanceBytes *page_buffers, size_t num_buffers,
							  uint64_t num_values, const LanceAllocator *allocator,
							  LanceDecoded *out, LanceError *error);

#endif							/* LANCE_COMPRESS_H */
