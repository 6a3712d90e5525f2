/*
 * test_lance_dict.c
 *	  Dictionary gathering (src/lance/dict.c) on a page LanceDB wrote
 *	  (bitpacked indices + VariableEncoder dictionary), plus corrupt indices.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/bitpack.h"
#include "lance/dict.h"
#include "lance/varblock.h"
#include "tap.h"
#include "codec_fixture.h"

static void
test_lancedb(void)
{
	CodecFixture fx;
	size_t		dlen,
				blen,
				olen,
				xlen,
				total;
	const uint8_t *dict,
			   *buf,
			   *exp_off,
			   *exp_bytes;
	LanceVarBlock items;
	LanceError	e;
	uint32_t	nv,
				ndict;
	uint8_t    *idx,
			   *offs,
			   *bytes;
	int			rc;

	if (!fixture_load(&fx, "dict_strings"))
	{
		tap_ok(false, "fixture dict_strings loads");
		return;
	}
	dict = fixture_get(&fx, "dictionary", &dlen);
	ndict = fixture_u32(&fx, "num_dict_items");
	rc = LanceVarBlockParseBlock(dict, dlen, ndict, &items, &e);
	tap_ok(rc == 0 && ndict == 11, "LanceDB dictionary buffer parses as a %u-item variable block",
		   ndict);
	buf = fixture_chunk(&fx, 0, "buf.0", &blen);
	nv = fixture_chunk_u32(&fx, 0, "nvals");
	idx = malloc((size_t) nv * 4);
	rc = LanceInlineBitpackDecode(32, buf, blen, nv, idx, (size_t) nv * 4, &e);
	tap_ok(rc == 0, "LanceDB index chunk: %u inline-bitpacked indices decode", nv);
	exp_off = fixture_get(&fx, "expected.offsets", &olen);
	exp_bytes = fixture_get(&fx, "expected.bytes", &xlen);
	rc = LanceDictGatherVariable(32, idx, nv, &items, 4, NULL, NULL, 0, &total, &e);
	tap_ok(rc == 0 && total == xlen, "counting pass: %zu bytes", total);
	offs = malloc(4 * ((size_t) nv + 1));
	bytes = malloc(total);
	rc = LanceDictGatherVariable(32, idx, nv, &items, 4, offs, bytes, total, &total, &e);
	tap_ok(rc == 0 && memcmp(offs, exp_off, 4 * ((size_t) nv + 1)) == 0 &&
		   memcmp(bytes, exp_bytes, total) == 0,
		   "indices + dictionary give the %u strings LanceDB was given", nv);

	/* 8-byte output offsets agree */
	{
		uint8_t    *o64 = malloc(8 * ((size_t) nv + 1));
		bool		ok;

		rc = LanceDictGatherVariable(32, idx, nv, &items, 8, o64, bytes, total, &total, &e);
		ok = rc == 0;
		for (uint32_t i = 0; ok && i <= nv; i++)
			ok = memcmp(o64 + 8 * i, offs + 4 * i, 4) == 0 && o64[8 * i + 4] == 0;
		tap_ok(ok, "the same with 64-bit output offsets");
		free(o64);
	}

	idx[40] = 11;
	rc = LanceDictGatherVariable(32, idx, nv, &items, 4, offs, bytes, total, &total, &e);
	tap_ok(rc == EINVAL && strstr(e.message, "below 11") != NULL,
		   "index 11 of 11 items: EINVAL (%s)", e.message);
	idx[40] = 0xff;
	idx[43] = 0xff;
	rc = LanceDictGatherVariable(32, idx, nv, &items, 4, NULL, NULL, 0, &total, &e);
	tap_ok(rc == EINVAL, "negative index: EINVAL (%s)", e.message);
	free(idx);
	free(offs);
	free(bytes);
	fixture_free(&fx);
}

static void
test_fixed(void)
{
	uint8_t		items[3 * 16],
				out[5 * 16];
	uint16_t	idx[5] = {2, 0, 1, 2, 2};
	uint8_t		idx_le[10];
	LanceError	e;
	bool		ok = true;
	int			rc;

	for (int i = 0; i < 48; i++)
		items[i] = (uint8_t) (i * 3);
	for (int i = 0; i < 5; i++)
	{
		idx_le[2 * i] = (uint8_t) idx[i];
		idx_le[2 * i + 1] = 0;
	}
	rc = LanceDictGatherFixed(16, idx_le, 5, items, 16, 3, out, sizeof(out), &e);
	for (int i = 0; rc == 0 && i < 5; i++)
		ok = ok && memcmp(out + 16 * i, items + 16 * idx[i], 16) == 0;
	tap_ok(rc == 0 && ok, "128-bit items gathered by 16-bit indices");
	rc = LanceDictGatherFixed(16, idx_le, 5, items, 16, 2, out, sizeof(out), &e);
	tap_ok(rc == EINVAL, "index 2 of 2 items: EINVAL (%s)", e.message);
	rc = LanceDictGatherFixed(16, idx_le, 5, items, 16, 3, out, sizeof(out) - 1, &e);
	tap_ok(rc == EINVAL, "output too small: EINVAL (%s)", e.message);
	rc = LanceDictGatherFixed(12, idx_le, 5, items, 16, 3, out, sizeof(out), &e);
	tap_ok(rc == ENOTSUP, "12-bit indices: ENOTSUP (%s)", e.message);
}

int
main(void)
{
	test_lancedb();
	test_fixed();
	return tap_done();
}
