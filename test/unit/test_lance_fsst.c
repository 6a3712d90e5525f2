/*
 * test_lance_fsst.c
 *	  FSST decompression and the variable-width value views
 *	  (src/lance/fsst.c, src/lance/varblock.c): a chunk LanceDB wrote, round
 *	  trips through a reference encoder, and corrupt input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/fsst.h"
#include "lance/varblock.h"
#include "tap.h"
#include "codec_fixture.h"

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Reads a protobuf varint; returns the new position */
static size_t
varint(const uint8_t *p, size_t pos, uint64_t *v)
{
	int			shift = 0;

	*v = 0;
	while (p[pos] & 0x80)
	{
		*v |= (uint64_t) (p[pos++] & 0x7f) << shift;
		shift += 7;
	}
	*v |= (uint64_t) p[pos++] << shift;
	return pos;
}

/* CompressiveEncoding{fsst(6){symbol_table(1)}}: the table bytes */
static const uint8_t *
symbol_table_of(const uint8_t *enc, size_t len, size_t *tlen)
{
	uint64_t	v;
	size_t		pos = 0;

	if (len < 4 || enc[pos++] != 0x32)
		return NULL;
	pos = varint(enc, pos, &v);
	if (enc[pos++] != 0x0a)
		return NULL;
	pos = varint(enc, pos, &v);
	*tlen = (size_t) v;
	return pos + v <= len ? enc + pos : NULL;
}

static void
test_lancedb_chunk(void)
{
	CodecFixture fx;
	size_t		elen,
				tlen,
				blen,
				olen,
				xlen,
				total;
	const uint8_t *enc,
			   *table_bytes,
			   *buf,
			   *exp_off,
			   *exp_bytes;
	LanceFsstTable table;
	LanceVarBlock view;
	LanceError	e;
	uint32_t	nv;
	uint8_t    *offs,
			   *bytes;
	int			rc;

	if (!fixture_load(&fx, "fsst_text"))
	{
		tap_ok(false, "fixture fsst_text loads");
		return;
	}
	enc = fixture_get(&fx, "encoding", &elen);
	table_bytes = symbol_table_of(enc, elen, &tlen);
	rc = table_bytes ? LanceFsstTableParse(&table, table_bytes, tlen, &e) : EINVAL;
	tap_ok(rc == 0 && table.compressed && table.num_symbols > 0,
		   "LanceDB symbol table parses: %u symbols, compressed", table.num_symbols);

	buf = fixture_chunk(&fx, 0, "buf.0", &blen);
	nv = fixture_chunk_u32(&fx, 0, "nvals");
	rc = LanceVarBlockParseMiniBlock(32, buf, blen, nv, &view, &e);
	tap_ok(rc == 0, "LanceDB chunk: %u compressed strings parse as a variable buffer", nv);

	exp_off = fixture_get(&fx, "expected.offsets", &olen);
	exp_bytes = fixture_get(&fx, "expected.bytes", &xlen);
	rc = LanceFsstDecompressStrings(&table, &view, 4, NULL, NULL, 0, &total, &e);
	tap_ok(rc == 0 && total == le32(exp_off + 4 * nv),
		   "counting pass gives the decompressed size (%zu bytes)", total);
	offs = malloc(4 * (nv + 1));
	bytes = malloc(total + 1);
	rc = LanceFsstDecompressStrings(&table, &view, 4, offs, bytes, total, &total, &e);
	tap_ok(rc == 0 && memcmp(offs, exp_off, 4 * (nv + 1)) == 0 &&
		   memcmp(bytes, exp_bytes, total) == 0,
		   "LanceDB chunk decompresses to the %u strings written (UTF-8 and nulls included)", nv);
	rc = LanceFsstDecompressStrings(&table, &view, 4, offs, bytes, total - 1, &total, &e);
	tap_ok(rc == EINVAL, "one byte short of output: EINVAL (%s)", e.message);
	free(offs);
	free(bytes);
	fixture_free(&fx);
}

/* --- a reference encoder over a hand-made table --- */

static const char *const syms[] = {"the ", "and", "in", "ing", "e", " ", "qu", "zzzzzzzz", "ab"};
#define NSYMS 9

static void
make_table(uint8_t *buf, bool compressed)
{
	uint64_t	header = ((uint64_t) 0x46535354 << 32) | ((uint64_t) compressed << 24) | NSYMS;

	memset(buf, 0, LANCE_FSST_TABLE_BYTES);
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t) (header >> (8 * i));
	for (int s = 0; s < NSYMS; s++)
	{
		memcpy(buf + 8 + 8 * s, syms[s], strlen(syms[s]));
		buf[8 + 8 * NSYMS + s] = (uint8_t) strlen(syms[s]);
	}
}

/* greedy longest match, escapes otherwise */
static size_t
ref_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t		o = 0;

	for (size_t i = 0; i < n;)
	{
		int			best = -1;
		size_t		bestlen = 0;

		for (int s = 0; s < NSYMS; s++)
		{
			size_t		l = strlen(syms[s]);

			if (l <= n - i && l > bestlen && memcmp(in + i, syms[s], l) == 0)
				best = s, bestlen = l;
		}
		if (best >= 0)
		{
			out[o++] = (uint8_t) best;
			i += bestlen;
		}
		else
		{
			out[o++] = 255;
			out[o++] = in[i++];
		}
	}
	return o;
}

static void
test_round_trip(void)
{
	static const char *const pieces[] = {"the ", "and", "qu", "x", "\xff", "\x00", "zzzzzzzz", "ing", "e", "abab"};
	uint8_t		tbuf[LANCE_FSST_TABLE_BYTES];
	LanceFsstTable table;
	uint8_t		plain[512],
				packed[1024],
				out[512];
	uint32_t	seed = 7;
	bool		ok = true;
	int			rc = 0;

	make_table(tbuf, true);
	rc = LanceFsstTableParse(&table, tbuf, sizeof(tbuf), NULL);
	for (int iter = 0; iter < 500 && rc == 0 && ok; iter++)
	{
		size_t		n = 0,
					plen,
					olen;

		for (int k = 0; k < iter % 40; k++)
		{
			const char *p;
			size_t		l;

			seed = seed * 1103515245 + 12345;
			p = pieces[(seed >> 16) % 10];
			l = (seed >> 16) % 10 == 5 ? 1 : strlen(p);
			memcpy(plain + n, p, l);
			n += l;
		}
		plen = ref_encode(plain, n, packed);
		rc = LanceFsstDecompress(&table, packed, plen, out, sizeof(out), &olen, NULL);
		ok = rc == 0 && olen == n && memcmp(out, plain, n) == 0;
	}
	tap_ok(rc == 0 && ok, "500 random strings round trip through a reference encoder");

	/* switch off: bytes pass through */
	{
		size_t		olen;

		make_table(tbuf, false);
		rc = LanceFsstTableParse(&table, tbuf, sizeof(tbuf), NULL);
		rc = rc ? rc : LanceFsstDecompress(&table, (const uint8_t *) "\xff\x01raw", 5, out, 5, &olen, NULL);
		tap_ok(rc == 0 && olen == 5 && memcmp(out, "\xff\x01raw", 5) == 0,
			   "a table with the encoder switch off passes strings through");
	}
}

static void
test_corrupt(void)
{
	uint8_t		tbuf[LANCE_FSST_TABLE_BYTES];
	LanceFsstTable table;
	LanceError	e;
	uint8_t		out[64];
	size_t		olen;
	int			rc;

	make_table(tbuf, true);
	rc = LanceFsstTableParse(&table, tbuf, sizeof(tbuf) - 1, &e);
	tap_ok(rc == EINVAL, "short symbol table: EINVAL (%s)", e.message);
	tbuf[7] = 'X';
	rc = LanceFsstTableParse(&table, tbuf, sizeof(tbuf), &e);
	tap_ok(rc == EINVAL, "bad magic: EINVAL (%s)", e.message);
	make_table(tbuf, true);
	tbuf[8 + 8 * NSYMS + 2] = 9;
	rc = LanceFsstTableParse(&table, tbuf, sizeof(tbuf), &e);
	tap_ok(rc == EINVAL, "a 9-byte symbol: EINVAL (%s)", e.message);
	make_table(tbuf, true);
	LanceFsstTableParse(&table, tbuf, sizeof(tbuf), NULL);
	rc = LanceFsstDecompress(&table, (const uint8_t *) "\x01\x09", 2, out, sizeof(out), &olen, &e);
	tap_ok(rc == EINVAL, "code 9 with 9 symbols: EINVAL (%s)", e.message);
	rc = LanceFsstDecompress(&table, (const uint8_t *) "\x01\xff", 2, out, sizeof(out), &olen, &e);
	tap_ok(rc == EINVAL, "dangling escape: EINVAL (%s)", e.message);
	rc = LanceFsstDecompress(&table, (const uint8_t *) "\x07", 1, out, 7, &olen, &e);
	tap_ok(rc == EINVAL, "8-byte symbol into 7 bytes: EINVAL (%s)", e.message);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static void
test_varblock(void)
{
	uint8_t		b[64];
	LanceVarBlock v;
	LanceError	e;
	const uint8_t *s;
	size_t		l;
	int			rc;

	/* 2 values "ab", "" in the mini-block form, padded */
	put32(b, 12);
	put32(b + 4, 14);
	put32(b + 8, 14);
	memcpy(b + 12, "abHH", 4);
	rc = LanceVarBlockParseMiniBlock(32, b, 16, 2, &v, &e);
	LanceVarBlockValue(&v, 0, &s, &l);
	tap_ok(rc == 0 && l == 2 && memcmp(s, "ab", 2) == 0, "mini-block view: value 0 is \"ab\"");
	LanceVarBlockValue(&v, 1, &s, &l);
	tap_ok(l == 0, "mini-block view: value 1 is empty");
	put32(b, 8);
	rc = LanceVarBlockParseMiniBlock(32, b, 16, 2, &v, &e);
	tap_ok(rc == EINVAL, "first offset inside the offsets: EINVAL (%s)", e.message);
	put32(b, 12);
	put32(b + 8, 13);
	rc = LanceVarBlockParseMiniBlock(32, b, 16, 2, &v, &e);
	tap_ok(rc == EINVAL, "decreasing offsets: EINVAL (%s)", e.message);
	put32(b + 8, 17);
	rc = LanceVarBlockParseMiniBlock(32, b, 16, 2, &v, &e);
	tap_ok(rc == EINVAL, "offset past the end: EINVAL (%s)", e.message);
	rc = LanceVarBlockParseMiniBlock(32, b, 8, 2, &v, &e);
	tap_ok(rc == EINVAL, "truncated offsets: EINVAL (%s)", e.message);
	rc = LanceVarBlockParseMiniBlock(16, b, 16, 2, &v, &e);
	tap_ok(rc == ENOTSUP, "16-bit offsets: ENOTSUP (%s)", e.message);

	/* block form: u32 32 | u32 bytes_start | offsets from 0 | bytes */
	put32(b, 32);
	put32(b + 4, 20);
	put32(b + 8, 0);
	put32(b + 12, 3);
	put32(b + 16, 5);
	memcpy(b + 20, "redok", 5);
	rc = LanceVarBlockParseBlock(b, 25, 2, &v, &e);
	LanceVarBlockValue(&v, 1, &s, &l);
	tap_ok(rc == 0 && l == 2 && memcmp(s, "ok", 2) == 0, "block form: value 1 is \"ok\"");
	rc = LanceVarBlockParseBlock(b, 25, 3, &v, &e);
	tap_ok(rc == EINVAL, "block form with the wrong count: EINVAL (%s)", e.message);
	rc = LanceVarBlockParseBlock(b, 24, 2, &v, &e);
	tap_ok(rc == EINVAL, "block form truncated: EINVAL (%s)", e.message);
	put32(b, 16);
	rc = LanceVarBlockParseBlock(b, 25, 2, &v, &e);
	tap_ok(rc == EINVAL, "block form with 16-bit offsets: EINVAL (%s)", e.message);
}

int
main(void)
{
	test_lancedb_chunk();
	test_round_trip();
	test_corrupt();
	test_varblock();
	return tap_done();
}
