/*
 * rle.h
 *	  Run-length decoding for Lance 2.1's Rle compressive encoding
 *	  (Rle{values: Flat{T}, run_lengths: Flat{8}}), a mini-block value
 *	  compressor for fixed-width columns with long runs.
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output):
 *
 *	- A mini-block chunk has two value buffers: buffer 0 = one T-bit
 *	  little-endian value per run (T = 8, 16, 32 or 64), buffer 1 = one u8
 *	  length per run.  Runs longer than 255 are split into 255-long pieces
 *	  (a run of 300 is stored as 255 + 45).
 *	- Chunks hold at most 2048 values (a power of two except the last) and
 *	  are sized so the two buffers stay small; runs never cross chunks.
 *	- Lance's reader truncates runs that add up to more than the chunk's
 *	  value count and rejects fewer; we do the same.
 */
#ifndef LANCE_RLE_H
#define LANCE_RLE_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"

/*
 * Expands runs into 'num_values' values of 'bits_per_value' bits written to
 * 'out' (at least num_values*T/8 bytes).  EINVAL when the buffers disagree
 * or the runs are too short; ENOTSUP for T other than 8/16/32/64.
 */
extern int	LanceRleDecode(unsigned bits_per_value,
						   const uint8_t *values, size_t values_len,
						   const uint8_t *run_lengths, size_t run_lengths_len,
						   uint64_t num_values, uint8_t *out, size_t out_capacity,
						   LanceError *error);

#endif							/* LANCE_RLE_H */
