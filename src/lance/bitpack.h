/*
 * bitpack.h
 *	  FastLanes bit unpacking as Lance 2.1 uses it: the InlineBitpacking and
 *	  OutOfLineBitpacking compressive encodings (lance.encodings21).
 *
 * Facts (checked against files written by LanceDB 0.31.0 / lance 8.0.0, see
 * test/unit/data/codecs/README.md):
 *
 *	- Values are unsigned words of T = 8, 16, 32 or 64 bits (the
 *	  "uncompressed_bits_per_value"); signed columns are packed as their
 *	  two's-complement bit patterns, so a negative value needs width T.
 *	- Packing works on blocks of 1024 values.  A block packed to width W
 *	  (0 <= W <= T) takes exactly 1024*W/8 = 128*W bytes: 1024*W/T words of
 *	  T bits, little-endian.
 *	- FastLanes transposed order: a block has LANES = 1024/T lanes.  Lane l
 *	  owns words l, l + LANES, l + 2*LANES, ... and reads them as one bit
 *	  stream (word k holds stream bits k*T .. k*T+T-1, least significant bit
 *	  first).  Row r (0 <= r < T) of lane l is stream bits r*W .. r*W+W-1 and
 *	  is the value at index  FL_ORDER[r/8]*16 + (r%8)*128 + l  of the block,
 *	  with FL_ORDER = {0, 4, 2, 6, 1, 5, 3, 7}.
 *	- InlineBitpacking (a mini-block value compressor, and a block compressor
 *	  for <= 1024 values): each block is one T-bit word holding W, then the
 *	  128*W packed bytes.  A mini-block chunk holds one block of 1024 values
 *	  (log2 10); the page's last chunk holds the rest, zero-padded to 1024
 *	  before packing, so it too takes 128*W bytes.  W is chosen per block.
 *	- OutOfLineBitpacking (a block compressor; Lance uses it for def/rep
 *	  levels when a page has more than 1024 levels): one W for the whole page,
 *	  given by the nested Flat{bits_per_value = W}; each mini-block chunk's
 *	  levels are compressed separately: whole 1024-value blocks packed, then a
 *	  tail of n%1024 values that is EITHER packed as a zero-padded block
 *	  (128*W bytes) OR stored raw (T/8 bytes per value), whichever the writer
 *	  estimates smaller (raw on a tie).  The reader tells them apart by the buffer
 *	  length: raw iff length == whole*128*W + tail*T/8.  The two lengths are
 *	  equal only when tail == 1024*W/T, and then the writer chose raw too.
 *
 * All functions write little-endian T-bit values into 'out' (no alignment
 * needed) and never read or write outside the given lengths.
 */
#ifndef LANCE_BITPACK_H
#define LANCE_BITPACK_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"

#define LANCE_BITPACK_BLOCK_VALUES 1024

/* Bytes of one packed block of 1024 values at width 'bit_width'. */
static inline size_t
LanceBitpackBlockBytes(unsigned bit_width)
{
	return (size_t) 128 * bit_width;
}

/*
 * Unpacks one FastLanes block: 1024 values of 'uncompressed_bits' (8/16/32/64)
 * from 'packed' (exactly 128*bit_width bytes) into 'out' (1024*T/8 bytes).
 * EINVAL if bit_width > T or packed_len is wrong; ENOTSUP for another T.
 */
extern int	LanceBitpackUnpackBlock(unsigned uncompressed_bits, unsigned bit_width,
									const uint8_t *packed, size_t packed_len,
									uint8_t *out, LanceError *error);

/*
 * Decodes InlineBitpacking data holding 'num_values' values: a sequence of
 * [T-bit width word][128*W bytes] blocks, the last one padded.  The input
 * must be consumed exactly.  'out_capacity' (bytes) must be at least
 * num_values*T/8 (EINVAL otherwise).
 */
extern int	LanceInlineBitpackDecode(unsigned uncompressed_bits,
									 const uint8_t *data, size_t data_len,
									 uint64_t num_values,
									 uint8_t *out, size_t out_capacity,
									 LanceError *error);

/*
 * Decodes OutOfLineBitpacking data of 'num_values' values packed at the fixed
 * 'bit_width' (the tail raw or padded, as described above).
 */
extern int	LanceOutOfLineBitpackDecode(unsigned uncompressed_bits, unsigned bit_width,
										const uint8_t *data, size_t data_len,
										uint64_t num_values,
										uint8_t *out, size_t out_capacity,
										LanceError *error);

#endif							/* LANCE_BITPACK_H */
