/*
 * fsst.h
 *	  FSST decompression for Lance 2.1's Fsst compressive encoding
 *	  (Fsst{symbol_table, values: Variable{Flat 32|64}}), with the symbol
 *	  table serialization of Lance's own `fsst` crate (rust/compression/fsst).
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output):
 *
 *	- The symbol table in the encoding description is a fixed 2312-byte
 *	  buffer (8 + 256*8 + 256); Lance rejects any other size, so do we.
 *	- Bytes 0..7: a little-endian u64 header: bits 32..63 = 0x46535354
 *	  ("FSST"), bit 24 = "encoder switch" (0 means the strings were stored
 *	  uncompressed, because the page had less than 32 KiB of string data),
 *	  bits 16..23 suffix limit and 8..15 terminator (encoder-side only),
 *	  bits 0..7 = n, the number of symbols (at most 255).
 *	- Then n little-endian u64 symbols (code i = symbol i; its bytes are the
 *	  low-order bytes first), then n one-byte symbol lengths (1..8), packed
 *	  right after the n symbols (not at a fixed offset); the rest is zero.
 *	- A compressed string is a sequence of codes: a byte c < 255 stands for
 *	  symbol c; 255 is an escape: the next byte is a literal.
 *	- The compressed strings are laid out like plain strings (varblock.h):
 *	  in a mini-block chunk, one Variable buffer per chunk; the whole page
 *	  shares one symbol table.  Null strings are empty.
 */
#ifndef LANCE_FSST_H
#define LANCE_FSST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"
#include "lance/varblock.h"

#define LANCE_FSST_TABLE_BYTES 2312

typedef struct LanceFsstTable
{
	bool		compressed;		/* false: strings are stored as they are */
	unsigned	num_symbols;
	uint64_t	symbols[255];
	uint8_t		lengths[255];
} LanceFsstTable;

/* Parses a serialized symbol table (exactly LANCE_FSST_TABLE_BYTES bytes). */
extern int	LanceFsstTableParse(LanceFsstTable *table, const uint8_t *buf, size_t len,
								LanceError *error);

/*
 * Decompresses one string.  With out == NULL only counts: *out_len gets the
 * decompressed length.  Otherwise writes at most out_capacity bytes (EINVAL
 * when that is not enough).  EINVAL for an unknown code or a dangling escape.
 */
extern int	LanceFsstDecompress(const LanceFsstTable *table, const uint8_t *in, size_t in_len,
								uint8_t *out, size_t out_capacity, size_t *out_len,
								LanceError *error);

/*
 * Decompresses every string of a parsed view into Arrow-style output:
 * (n+1) offsets of 'out_offset_bytes' (4 or 8) starting at 0, and the bytes.
 * Call first with out_bytes == NULL (out_offsets may be NULL too) to learn
 * *out_len, the total byte count; then with buffers that big.  EINVAL if
 * the total does not fit 4-byte offsets or out_capacity.
 */
extern int	LanceFsstDecompressStrings(const LanceFsstTable *table, const LanceVarBlock *in,
									   unsigned out_offset_bytes, uint8_t *out_offsets,
									   uint8_t *out_bytes, size_t out_capacity,
									   size_t *out_len, LanceError *error);

#endif							/* LANCE_FSST_H */
