/*
 * dict.h
 *	  Dictionary decoding helpers for Lance 2.1 mini-block pages with a
 *	  dictionary (MiniBlockLayout.dictionary / num_dictionary_items): turn
 *	  decoded indices into items.
 *
 * Facts (checked against LanceDB 0.31.0 / lance 8.0.0 output):
 *
 *	- lance 8 dictionary-encodes a page when it has at least 100 values and
 *	  the dictionary is estimated below 0.8 of the raw size (low-cardinality
 *	  strings; fixed-width values only when 128 bits wide).
 *	- The indices are the page's mini-block values: 32-bit (64-bit for
 *	  large_utf8/large_binary) signed integers, numbered in first-seen order,
 *	  compressed like any fixed-width column (InlineBitpacking(32) for a few
 *	  distinct strings).  A null value still has an index (its slot is
 *	  whatever the writer saw there; def levels say it is null).
 *	- The dictionary is page buffer 2, compressed with a block compressor: for
 *	  strings the VariableEncoder block form (varblock.h) with
 *	  num_dictionary_items values; for 128-bit values Flat (or bitpacked).
 */
#ifndef LANCE_DICT_H
#define LANCE_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "lance/lance.h"
#include "lance/varblock.h"

/*
 * out[i] = items[indices[i]] for 'n' indices of 'index_bits' (8/16/32/64,
 * little-endian, unsigned; a negative index reads as huge) into 'out'
 * (n*item_bytes bytes).  EINVAL for an index >= num_items.
 */
extern int	LanceDictGatherFixed(unsigned index_bits, const uint8_t *indices, uint64_t n,
								 const uint8_t *items, size_t item_bytes, uint64_t num_items,
								 uint8_t *out, size_t out_capacity, LanceError *error);

/*
 * The same for variable-width items, producing Arrow-style (n+1) offsets of
 * 'out_offset_bytes' (4 or 8) from 0 and the bytes.  With out_bytes == NULL
 * only *out_len (the total byte count) is computed.
 */
extern int	LanceDictGatherVariable(unsigned index_bits, const uint8_t *indices, uint64_t n,
									const LanceVarBlock *items,
									unsigned out_offset_bytes, uint8_t *out_offsets,
									uint8_t *out_bytes, size_t out_capacity, size_t *out_len,
									LanceError *error);

#endif							/* LANCE_DICT_H */
