/*
 * fuzz_codecs.c
 *	  libFuzzer target for the byte-level Lance codecs (src/lance/bitpack.c,
 *	  fsst.c, varblock.c, rle.c, dict.c, general.c, bytestream_split.c).
 *
 * Input: byte 0 picks the codec, byte 1 a parameter (word size, width,
 * offset size...), bytes 2..3 a little-endian value count (capped), the rest
 * is the codec's input; RLE and FSST split the rest in two at byte 4.
 * Every call must return 0 or an error code without touching memory it was
 * not given (ASan) and without undefined behaviour (UBSan).
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -I src \
 *	  test/fuzz/fuzz_codecs.c src/lance/{bitpack,fsst,varblock,rle,dict,general,bytestream_split,error}.c \
 *	  -lzstd -llz4
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/bitpack.h"
#include "lance/bytestream_split.h"
#include "lance/dict.h"
#include "lance/fsst.h"
#include "lance/general.h"
#include "lance/rle.h"
#include "lance/varblock.h"

#define MAX_VALUES 5000

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned words[4] = {8, 16, 32, 64};
	uint8_t    *out;
	size_t		cap = (size_t) MAX_VALUES * 8;
	uint64_t	n;
	unsigned	p;
	const uint8_t *in;
	size_t		in_len;
	LanceError	e;

	if (size < 4)
		return 0;
	p = data[1];
	n = ((size_t) data[2] | ((size_t) data[3] << 8)) % (MAX_VALUES + 1);
	in = data + 4;
	in_len = size - 4;
	out = malloc(cap);
	if (out == NULL)
		return 0;
	switch (data[0] % 8)
	{
		case 0:
			LanceInlineBitpackDecode(words[p % 4], in, in_len, n, out, cap, &e);
			break;
		case 1:
			LanceOutOfLineBitpackDecode(words[p % 4], (p >> 2) % 66, in, in_len, n, out, cap, &e);
			break;
		case 2:
			{
				/* a symbol table from the first 2312 bytes, strings from the rest */
				LanceFsstTable t;
				LanceVarBlock v;
				size_t		total;

				if (in_len < LANCE_FSST_TABLE_BYTES ||
					LanceFsstTableParse(&t, in, LANCE_FSST_TABLE_BYTES, &e) != 0)
					break;
				if (LanceVarBlockParseMiniBlock(32, in + LANCE_FSST_TABLE_BYTES,
												in_len - LANCE_FSST_TABLE_BYTES, n % 64, &v, &e) != 0)
					break;
				if (LanceFsstDecompressStrings(&t, &v, 4, NULL, NULL, 0, &total, &e) == 0 &&
					total <= cap - 4 * 65)
					LanceFsstDecompressStrings(&t, &v, 4, out, out + 4 * 65, total, &total, &e);
				break;
			}
		case 3:
			{
				size_t		runs = in_len / (1 + words[p % 4] / 8);

				LanceRleDecode(words[p % 4], in + runs, runs * (words[p % 4] / 8), in, runs, n,
							   out, cap, &e);
				break;
			}
		case 4:
			{
				LanceVarBlock v;
				size_t		total;

				if (p & 1)
				{
					if (LanceVarBlockParseBlock(in, in_len, n % 256, &v, &e) != 0)
						break;
				}
				else if (LanceVarBlockParseMiniBlock(p & 2 ? 64 : 32, in, in_len, n % 256, &v, &e) != 0)
					break;
				/* gather with the view's own offset bytes as indices */
				if (LanceDictGatherVariable(8, v.offsets, v.num_values, &v, 8, NULL, NULL, 0,
											&total, &e) == 0 && total <= cap / 2)
					LanceDictGatherVariable(8, v.offsets, v.num_values, &v, 8, out + cap / 2,
											out, total, &total, &e);
				break;
			}
		case 5:
			{
				size_t		got;

				LanceGeneralDecompress(1 + p % 3, in, in_len, out, cap, &got, &e);
				break;
			}
		case 6:
			LanceByteStreamSplitDecode(8 * (1 + p % 9), in, in_len, n, out, cap, &e);
			break;
		case 7:
			if (in_len >= 64)
				LanceDictGatherFixed(words[p % 4], in + 64, (in_len - 64) / (words[p % 4] / 8),
									 in, 16, 4, out, cap, &e);
			break;
	}
	free(out);
	return 0;
}
