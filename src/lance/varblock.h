/*
 * varblock.h
 *	  Validated views of the two byte layouts Lance 2.1 uses for
 *	  variable-width values (strings, binary), so that every codec working on
 *	  them (FSST, dictionaries, General) reads offsets that were checked once.
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output):
 *
 *	- Mini-block form (the value buffer of a chunk compressed with
 *	  Variable{offsets: Flat{32|64}}, also the inner layer of FSST and of
 *	  General): (n+1) unsigned offsets of 4 (or 8) bytes, little-endian,
 *	  RELATIVE TO THE START OF THE BUFFER, then the value bytes, then padding.
 *	  So offsets[0] = (n+1)*4 when nothing is padded in between; value i is
 *	  bytes [offsets[i], offsets[i+1]).  Null values have length 0.
 *	- Block form (BlockCompressor "VariableEncoder", e.g. a dictionary of
 *	  strings): `u32 bits_per_offset (=32) | u32 bytes_start | (n+1) u32
 *	  offsets | bytes`, or `u64 64 | u64 bytes_start | (n+1) u64 offsets |
 *	  bytes`.  Here the offsets are RELATIVE TO bytes_start (the dictionary
 *	  writer starts them at 0).  An older writer used `u8 bits | u32 (u64)
 *	  num_values | u32 (u64) bytes_start`; Lance tells the two apart by bytes
 *	  1..3 of the buffer being non-zero, and so do we.
 */
#ifndef LANCE_VARBLOCK_H
#define LANCE_VARBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"

/* A checked view: offsets are non-decreasing and inside [0, base_len]. */
typedef struct LanceVarBlock
{
	unsigned	offset_bytes;	/* 4 or 8 */
	uint64_t	num_values;
	const uint8_t *offsets;		/* num_values + 1 little-endian offsets */
	const uint8_t *base;		/* what the offsets are relative to */
	size_t		base_len;
} LanceVarBlock;

/*
 * Parses a mini-block Variable buffer of 'num_values' values whose offsets
 * are 'bits_per_offset' (32 or 64; ENOTSUP otherwise) wide.
 */
extern int	LanceVarBlockParseMiniBlock(unsigned bits_per_offset, const uint8_t *buf,
										size_t len, uint64_t num_values,
										LanceVarBlock *view, LanceError *error);

/* Parses the block form (VariableEncoder) holding 'num_values' values. */
extern int	LanceVarBlockParseBlock(const uint8_t *buf, size_t len, uint64_t num_values,
									LanceVarBlock *view, LanceError *error);

/* Value i (< num_values) of a parsed view; cannot fail. */
static inline void
LanceVarBlockValue(const LanceVarBlock *view, uint64_t i, const uint8_t **value, size_t *len)
{
	const uint8_t *p = view->offsets + i * view->offset_bytes;
	uint64_t	start,
				end;

	if (view->offset_bytes == 4)
	{
		start = (uint64_t) p[0] | ((uint64_t) p[1] << 8) | ((uint64_t) p[2] << 16) | ((uint64_t) p[3] << 24);
		end = (uint64_t) p[4] | ((uint64_t) p[5] << 8) | ((uint64_t) p[6] << 16) | ((uint64_t) p[7] << 24);
	}
	else
	{
		start = end = 0;
		for (int k = 7; k >= 0; k--)
		{
			start = (start << 8) | p[k];
			end = (end << 8) | p[8 + k];
		}
	}
	*value = view->base + start;
	*len = (size_t) (end - start);
}

#endif							/* LANCE_VARBLOCK_H */
