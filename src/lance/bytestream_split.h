/*
 * bytestream_split.h
 *	  Decoding of Lance 2.1's ByteStreamSplit compressive encoding
 *	  (ByteStreamSplit{values: Flat{T}}), a mini-block value compressor that
 *	  regroups the bytes of floating-point values so a General compressor
 *	  (zstd/lz4) finds more redundancy.
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output): lance 8
 * picks it for 32/64-bit columns (floats, and integers too) whose field asks
 * for General compression (`lance-encoding:compression`), unless
 * `lance-encoding:bss` is "off"; it then always sits inside General.  Within
 * one mini-block chunk of n values of B bytes, byte j of value i is stored at
 * j*n + i (all first bytes, then all second bytes, ...).
 */
#ifndef LANCE_BYTESTREAM_SPLIT_H
#define LANCE_BYTESTREAM_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"

/*
 * Rebuilds 'num_values' values of 'bits_per_value' bits (a multiple of 8,
 * at most 64; ENOTSUP otherwise) from exactly num_values*B split bytes.
 */
extern int	LanceByteStreamSplitDecode(unsigned bits_per_value,
									   const uint8_t *in, size_t in_len,
									   uint64_t num_values,
									   uint8_t *out, size_t out_capacity,
									   LanceError *error);

#endif							/* LANCE_BYTESTREAM_SPLIT_H */
