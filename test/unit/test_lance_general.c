/*
 * test_lance_general.c
 *	  General (zstd / LZ4) buffer decompression (src/lance/general.c) on
 *	  chunks LanceDB wrote, with the inner encodings it chose underneath
 *	  (byte stream split, inline bitpacking, variable strings), plus our own
 *	  framings and corrupt input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "lance/bitpack.h"
#include "lance/bytestream_split.h"
#include "lance/general.h"
#include "lance/varblock.h"
#include "tap.h"
#include "codec_fixture.h"

enum inner
{
	INNER_BSS64,
	INNER_BITPACK64,
	INNER_STRINGS
};

static void
test_lancedb(const char *name, int scheme, enum inner inner)
{
	CodecFixture fx;
	size_t		blen,
				size,
				got,
				elen;
	const uint8_t *buf;
	uint8_t    *plain,
			   *values = NULL;
	uint32_t	nv;
	LanceError	e;
	int			rc;
	bool		ok = false;

	if (!fixture_load(&fx, name))
	{
		tap_ok(false, "fixture %s loads", name);
		return;
	}
	buf = fixture_chunk(&fx, 0, "buf.0", &blen);
	nv = fixture_chunk_u32(&fx, 0, "nvals");
	rc = LanceGeneralDecompressedSize(scheme, buf, blen, &size, &e);
	plain = malloc(size + 1);
	rc = rc ? rc : LanceGeneralDecompress(scheme, buf, blen, plain, size, &got, &e);
	if (rc == 0 && inner != INNER_STRINGS)
	{
		const uint8_t *exp = fixture_get(&fx, "expected", &elen);

		values = malloc((size_t) nv * 8);
		rc = inner == INNER_BSS64 ?
			LanceByteStreamSplitDecode(64, plain, got, nv, values, (size_t) nv * 8, &e) :
			LanceInlineBitpackDecode(64, plain, got, nv, values, (size_t) nv * 8, &e);
		ok = rc == 0 && elen == (size_t) nv * 8 && memcmp(values, exp, elen) == 0;
	}
	else if (rc == 0)
	{
		LanceVarBlock v;
		const uint8_t *exp_off = fixture_get(&fx, "expected.offsets", &elen);
		const uint8_t *exp_bytes = fixture_get(&fx, "expected.bytes", &elen);

		rc = LanceVarBlockParseMiniBlock(32, plain, got, nv, &v, &e);
		ok = rc == 0;
		for (uint32_t i = 0; ok && i < nv; i++)
		{
			const uint8_t *s;
			size_t		l;
			uint32_t	start = (uint32_t) exp_off[4 * i] | ((uint32_t) exp_off[4 * i + 1] << 8),
						end = (uint32_t) exp_off[4 * i + 4] | ((uint32_t) exp_off[4 * i + 5] << 8);

			LanceVarBlockValue(&v, i, &s, &l);
			ok = l == end - start && memcmp(s, exp_bytes + start, l) == 0;
		}
	}
	if (rc != 0)
		tap_diag("%s: %s", name, e.message);
	tap_ok(ok, "LanceDB %s: a %s chunk (%zu -> %zu bytes) decodes to the %u values written",
		   name, scheme == LANCE_COMPRESSION_ZSTD ? "zstd" : "lz4", blen, size, nv);

	/* the same chunk cut short, and with its length prefix off by one */
	if (rc == 0)
	{
		uint8_t    *copy = malloc(blen);

		rc = LanceGeneralDecompress(scheme, buf, blen - 3, plain, size, &got, &e);
		tap_ok(rc == EINVAL, "%s truncated: EINVAL (%s)", name, e.message);
		memcpy(copy, buf, blen);
		copy[0] ^= 1;
		rc = LanceGeneralDecompress(scheme, copy, blen, plain, size + 1, &got, &e);
		tap_ok(rc == EINVAL, "%s with a wrong length prefix: EINVAL (%s)", name, e.message);
		free(copy);
	}
	free(plain);
	free(values);
	fixture_free(&fx);
}

static void
test_own_framings(void)
{
	uint8_t		plain[5000],
				comp[6000],
				out[5000];
	size_t		got,
				clen;
	LanceError	e;
	int			rc;

	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t) ((i * i) % 251 < 50 ? i % 7 : 'x');

	/* zstd with the u64 prefix */
	for (int i = 0; i < 8; i++)
		comp[i] = (uint8_t) ((uint64_t) sizeof(plain) >> (8 * i));
	clen = 8 + ZSTD_compress(comp + 8, sizeof(comp) - 8, plain, sizeof(plain), 3);
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_ZSTD, comp, clen, out, sizeof(out), &got, &e);
	tap_ok(rc == 0 && got == sizeof(plain) && memcmp(out, plain, got) == 0,
		   "zstd with a length prefix round trips");
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_ZSTD, comp, clen, out, sizeof(out) - 1, &got, &e);
	tap_ok(rc == EINVAL, "zstd into a smaller buffer: EINVAL (%s)", e.message);

	/* a bare zstd frame, as older writers stored it */
	clen = ZSTD_compress(comp, sizeof(comp), plain, sizeof(plain), 1);
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_ZSTD, comp, clen, out, sizeof(out), &got, &e);
	tap_ok(rc == 0 && got == sizeof(plain) && memcmp(out, plain, got) == 0,
		   "a bare zstd frame is recognized by its magic and decodes");

	/* LZ4: u32 prefix + raw block */
	comp[0] = (uint8_t) sizeof(plain);
	comp[1] = (uint8_t) (sizeof(plain) >> 8);
	comp[2] = comp[3] = 0;
	clen = 4 + (size_t) LZ4_compress_default((const char *) plain, (char *) comp + 4,
											 sizeof(plain), sizeof(comp) - 4);
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_LZ4, comp, clen, out, sizeof(out), &got, &e);
	tap_ok(rc == 0 && got == sizeof(plain) && memcmp(out, plain, got) == 0,
		   "lz4 block with a length prefix round trips");
	comp[10] ^= 0x55;
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_LZ4, comp, clen, out, sizeof(out), &got, &e);
	tap_ok(rc == EINVAL || (rc == 0 && memcmp(out, plain, got) != 0),
		   "corrupt lz4 block is rejected or at least not mistaken for the data");
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_LZ4, comp, 3, out, sizeof(out), &got, &e);
	tap_ok(rc == EINVAL, "lz4 shorter than its prefix: EINVAL (%s)", e.message);

	rc = LanceGeneralDecompress(LANCE_COMPRESSION_ZSTD, comp, 0, out, 0, &got, &e);
	tap_ok(rc == 0 && got == 0, "empty zstd buffer: empty output");
	rc = LanceGeneralDecompress(3, comp, 10, out, sizeof(out), &got, &e);
	tap_ok(rc == ENOTSUP, "scheme 3: ENOTSUP (%s)", e.message);
	rc = LanceGeneralDecompress(LANCE_COMPRESSION_ZSTD, (const uint8_t *) "\x01\x02\x03", 3,
								out, sizeof(out), &got, &e);
	tap_ok(rc == EINVAL, "3 bytes that are not a zstd frame: EINVAL (%s)", e.message);
}

int
main(void)
{
	test_lancedb("general_z", LANCE_COMPRESSION_ZSTD, INNER_BSS64);
	test_lancedb("general_l", LANCE_COMPRESSION_LZ4, INNER_BSS64);
	test_lancedb("general_zf", LANCE_COMPRESSION_ZSTD, INNER_BSS64);
	test_lancedb("general_zn", LANCE_COMPRESSION_ZSTD, INNER_BITPACK64);
	test_lancedb("general_zs", LANCE_COMPRESSION_ZSTD, INNER_STRINGS);
	test_lancedb("general_ls", LANCE_COMPRESSION_LZ4, INNER_STRINGS);
	test_own_framings();
	return tap_done();
}
