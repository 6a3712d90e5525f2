/*
 * general.h
 *	  Lance 2.1's General compressive encoding (General{compression:
 *	  BufferCompression{scheme, level}, values: <inner encoding>}): a zstd or
 *	  LZ4 layer over what an inner encoding produced.
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output):
 *
 *	- lance 8 writes General in 2.1 files only when the Arrow field metadata
 *	  asks for it (`lance-encoding:compression` = zstd | lz4), and only when
 *	  the chunks' first value buffers total at least 4 KiB and compression
 *	  made them smaller; otherwise the inner encoding is written unwrapped.
 *	  The level is not written unless given (`lance-encoding:compression-level`).
 *	- In a mini-block page, each chunk's value buffer 0 is compressed on its
 *	  own (other buffers of the chunk stay as they are); the inner encoding
 *	  then decodes the decompressed buffer.  Inner encodings seen:
 *	  ByteStreamSplit (64/32-bit numbers, the default when compression is
 *	  requested), InlineBitpacking (with `lance-encoding:bss` = off),
 *	  Variable (strings).
 *	- Buffer framing, zstd (scheme 2): `u64 LE uncompressed length` then a
 *	  zstd frame.  Lance's reader also accepts a bare zstd frame (older
 *	  writers): it treats a buffer as bare when it is shorter than 8 bytes or
 *	  starts with the zstd magic 28 B5 2F FD followed by a frame header byte
 *	  whose reserved bit (0x10) is clear.  An empty buffer is empty output.
 *	- Buffer framing, LZ4 (scheme 1): `u32 LE uncompressed length` then one
 *	  raw LZ4 block (the lz4 crate's block API with prepend_size), not the
 *	  LZ4 frame format.
 */
#ifndef LANCE_GENERAL_H
#define LANCE_GENERAL_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"

/* lance.encodings21.CompressionScheme numbers */
#define LANCE_COMPRESSION_LZ4 1
#define LANCE_COMPRESSION_ZSTD 2

/*
 * The decompressed size a buffer declares.  The caller should bound it
 * (e.g. by the chunk's value count) before allocating.  ENOTSUP for another
 * scheme or a bare zstd frame that does not record its size.
 */
extern int	LanceGeneralDecompressedSize(int scheme, const uint8_t *in, size_t in_len,
										 size_t *size, LanceError *error);

/*
 * Decompresses one buffer into 'out'.  EINVAL when the data is corrupt, does
 * not decompress to exactly the declared size, or that size exceeds
 * out_capacity.
 */
extern int	LanceGeneralDecompress(int scheme, const uint8_t *in, size_t in_len,
								   uint8_t *out, size_t out_capacity, size_t *out_len,
								   LanceError *error);

#endif							/* LANCE_GENERAL_H */
