/*
 * test_lance_rle.c
 *	  Run-length and byte-stream-split decoding (src/lance/rle.c,
 *	  src/lance/bytestream_split.c): chunks LanceDB wrote, round trips
 *	  through reference encoders, and corrupt input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/bytestream_split.h"
#include "lance/rle.h"
#include "tap.h"
#include "codec_fixture.h"

static void
test_lancedb(const char *name, unsigned t)
{
	CodecFixture fx;
	size_t		exp_len,
				off = 0;
	const uint8_t *exp;
	uint8_t    *out;
	int			nchunks;
	bool		ok = true;
	int			max_run = 0;

	if (!fixture_load(&fx, name))
	{
		tap_ok(false, "fixture %s loads", name);
		return;
	}
	exp = fixture_get(&fx, "expected", &exp_len);
	nchunks = (int) fixture_u32(&fx, "nchunks");
	out = malloc(exp_len);
	for (int c = 0; c < nchunks && ok; c++)
	{
		size_t		vlen,
					llen;
		const uint8_t *v = fixture_chunk(&fx, c, "buf.0", &vlen);
		const uint8_t *l = fixture_chunk(&fx, c, "buf.1", &llen);
		uint32_t	nv = fixture_chunk_u32(&fx, c, "nvals");
		LanceError	e;

		for (size_t i = 0; i < llen; i++)
			max_run = l[i] > max_run ? l[i] : max_run;
		if (LanceRleDecode(t, v, vlen, l, llen, nv, out + off, exp_len - off, &e) != 0)
		{
			tap_diag("chunk %d: %s", c, e.message);
			ok = false;
		}
		off += (size_t) nv * (t / 8);
	}
	tap_ok(ok && off == exp_len && memcmp(out, exp, exp_len) == 0,
		   "LanceDB %s: %d rle(flat(%u), flat(8)) chunks decode to the values written (longest piece %d)",
		   name, nchunks, t, max_run);
	free(out);
	fixture_free(&fx);
}

static void
test_round_trip(void)
{
	static const unsigned ts[] = {8, 16, 32, 64};

	for (int k = 0; k < 4; k++)
	{
		unsigned	t = ts[k],
					b = t / 8;
		uint8_t		plain[3000 * 8],
					vals[3000 * 8],
					lens[3000],
					out[3000 * 8];
		size_t		n = 0,
					runs = 0;
		uint32_t	seed = 99 + k;
		int			rc;

		/* runs of 1..700 values, split at 255 as Lance does */
		while (n < 2900)
		{
			size_t		len;
			uint8_t		v[8];

			seed = seed * 1103515245 + 12345;
			len = 1 + (seed >> 16) % 700;
			if (len > 3000 - n)
				len = 3000 - n;
			for (unsigned j = 0; j < b; j++)
				v[j] = (uint8_t) (seed >> (j % 4 * 8));
			for (size_t i = 0; i < len; i++)
				memcpy(plain + (n + i) * b, v, b);
			n += len;
			for (size_t left = len; left > 0;)
			{
				size_t		piece = left > 255 ? 255 : left;

				memcpy(vals + runs * b, v, b);
				lens[runs++] = (uint8_t) piece;
				left -= piece;
			}
		}
		rc = LanceRleDecode(t, vals, runs * b, lens, runs, n, out, sizeof(out), NULL);
		tap_ok(rc == 0 && memcmp(out, plain, n * b) == 0,
			   "rle T=%u: %zu values from %zu runs round trip", t, n, runs);
		rc = LanceRleDecode(t, vals, runs * b, lens, runs, n - 5, out, sizeof(out), NULL);
		tap_ok(rc == 0 && memcmp(out, plain, (n - 5) * b) == 0,
			   "rle T=%u: runs past the value count are truncated, as Lance does", t);
	}
}

static void
test_corrupt(void)
{
	uint8_t		vals[8] = {1, 2, 3, 4, 5, 6, 7, 8},
				lens[2] = {3, 4},
				out[64];
	LanceError	e;
	int			rc;

	rc = LanceRleDecode(32, vals, 8, lens, 2, 8, out, sizeof(out), &e);
	tap_ok(rc == EINVAL && strstr(e.message, "expected runs covering 8") != NULL,
		   "runs too short: EINVAL (%s)", e.message);
	rc = LanceRleDecode(32, vals, 7, lens, 2, 7, out, sizeof(out), &e);
	tap_ok(rc == EINVAL, "values not whole words: EINVAL (%s)", e.message);
	rc = LanceRleDecode(32, vals, 8, lens, 1, 3, out, sizeof(out), &e);
	tap_ok(rc == EINVAL, "value and length counts differ: EINVAL (%s)", e.message);
	rc = LanceRleDecode(32, vals, 8, lens, 2, 7, out, 27, &e);
	tap_ok(rc == EINVAL, "output too small: EINVAL (%s)", e.message);
	rc = LanceRleDecode(24, vals, 6, lens, 2, 7, out, sizeof(out), &e);
	tap_ok(rc == ENOTSUP, "24-bit values: ENOTSUP (%s)", e.message);
	rc = LanceRleDecode(32, NULL, 0, NULL, 0, 0, out, 0, &e);
	tap_ok(rc == 0, "no runs, no values");
}

static void
test_bss(void)
{
	static const unsigned ts[] = {16, 32, 64};

	for (int k = 0; k < 3; k++)
	{
		unsigned	b = ts[k] / 8;
		size_t		n = 301;
		uint8_t		plain[301 * 8],
					split[301 * 8],
					out[301 * 8];
		int			rc;

		for (size_t i = 0; i < n * b; i++)
			plain[i] = (uint8_t) (i * 37 + k);
		for (size_t i = 0; i < n; i++)
			for (unsigned j = 0; j < b; j++)
				split[j * n + i] = plain[i * b + j];
		rc = LanceByteStreamSplitDecode(ts[k], split, n * b, n, out, sizeof(out), NULL);
		tap_ok(rc == 0 && memcmp(out, plain, n * b) == 0,
			   "byte stream split %u bits: 301 values round trip", ts[k]);
	}
	{
		uint8_t		in[16] = {0},
					out[16];
		LanceError	e;
		int			rc = LanceByteStreamSplitDecode(32, in, 15, 4, out, 16, &e);

		tap_ok(rc == EINVAL, "byte stream split, short input: EINVAL (%s)", e.message);
		rc = LanceByteStreamSplitDecode(32, in, 16, 4, out, 15, &e);
		tap_ok(rc == EINVAL, "byte stream split, small output: EINVAL (%s)", e.message);
		rc = LanceByteStreamSplitDecode(12, in, 16, 4, out, 16, &e);
		tap_ok(rc == ENOTSUP, "byte stream split, 12 bits: ENOTSUP (%s)", e.message);
	}
}

int
main(void)
{
	test_lancedb("rle_r32", 32);
	test_lancedb("rle_r64", 64);
	test_round_trip();
	test_corrupt();
	test_bss();
	return tap_done();
}
