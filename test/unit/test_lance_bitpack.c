/*
 * test_lance_bitpack.c
 *	  FastLanes unpacking (src/lance/bitpack.c): LanceDB-written chunks, round
 *	  trips through an independent reference packer for every word size and
 *	  every bit width, and corrupt input.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lance/bitpack.h"
#include "tap.h"
#include "codec_fixture.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void
put(uint8_t *p, unsigned bytes, uint64_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t
get(const uint8_t *p, unsigned bytes)
{
	uint64_t	v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t) p[i] << (8 * i);
	return v;
}

/*
 * Reference FastLanes packer, written from the layout description: the value
 * at block index FL_ORDER[r/8]*16 + (r%8)*128 + lane goes to bits r*W.. of
 * the lane's stream; stream bit s lives in word lane + (s/T)*LANES, bit s%T.
 * It sets one bit at a time, so it shares no arithmetic with the decoder.
 */
static void
ref_pack(unsigned t, unsigned w, const uint64_t *in, uint8_t *out)
{
	static const unsigned order[8] = {0, 4, 2, 6, 1, 5, 3, 7};
	unsigned	lanes = 1024 / t;

	memset(out, 0, 128 * (size_t) w);
	for (unsigned lane = 0; lane < lanes; lane++)
		for (unsigned r = 0; r < t; r++)
		{
			uint64_t	v = in[order[r / 8] * 16 + (r % 8) * 128 + lane];

			for (unsigned b = 0; b < w; b++)
			{
				unsigned	s = r * w + b;
				size_t		word = lane + (size_t) (s / t) * lanes;
				size_t		bitpos = word * t + s % t;

				if ((v >> b) & 1)
					out[bitpos / 8] |= (uint8_t) (1u << (bitpos % 8));
			}
		}
}

static uint64_t
mask_of(unsigned w)
{
	return w == 64 ? UINT64_MAX : (((uint64_t) 1 << w) - 1);
}

/* Every T and every W <= T: pack random values, unpack, compare */
static void
test_round_trips(void)
{
	static const unsigned widths[] = {8, 16, 32, 64};
	uint64_t	in[1024];
	uint8_t		packed[128 * 64];
	uint8_t		out[1024 * 8];

	for (int k = 0; k < 4; k++)
	{
		unsigned	t = widths[k];
		unsigned	bytes = t / 8;
		int			bad = 0;
		bool		seen_ok = true;

		for (unsigned w = 0; w <= t; w++)
		{
			for (int i = 0; i < 1024; i++)
				in[i] = rnd() & mask_of(w);
			if (w > 0)
				in[5] = mask_of(w); /* the all-ones value */
			ref_pack(t, w, in, packed);
			memset(out, 0xAA, sizeof(out));
			if (LanceBitpackUnpackBlock(t, w, packed, 128 * (size_t) w, out, NULL) != 0)
			{
				bad++;
				continue;
			}
			for (int i = 0; i < 1024; i++)
				if (get(out + i * bytes, bytes) != in[i])
				{
					if (seen_ok)
						tap_diag("T=%u W=%u index %d: expected %llu found %llu", t, w, i,
								 (unsigned long long) in[i],
								 (unsigned long long) get(out + i * bytes, bytes));
					seen_ok = false;
					bad++;
					break;
				}
		}
		tap_ok(bad == 0, "unpack block round trips for T=%u, every width 0..%u", t, t);
	}
}

/* The FastLanes index map is a permutation of 0..1023 for every T */
static void
test_permutation(void)
{
	static const unsigned order[8] = {0, 4, 2, 6, 1, 5, 3, 7};
	bool		ok = true;

	for (unsigned t = 8; t <= 64; t *= 2)
	{
		unsigned char hit[1024] = {0};

		for (unsigned lane = 0; lane < 1024 / t; lane++)
			for (unsigned r = 0; r < t; r++)
				hit[order[r / 8] * 16 + (r % 8) * 128 + lane]++;
		for (int i = 0; i < 1024; i++)
			ok = ok && hit[i] == 1;
	}
	tap_ok(ok, "the FastLanes row/lane map visits every index once");
}

/* Builds InlineBitpacking data for 'n' values with per-block widths */
static size_t
ref_inline(unsigned t, const uint64_t *vals, size_t n, const unsigned *wid, uint8_t *out)
{
	size_t		pos = 0;

	for (size_t b = 0; b * 1024 < n; b++)
	{
		uint64_t	block[1024] = {0};
		size_t		m = n - b * 1024 < 1024 ? n - b * 1024 : 1024;

		memcpy(block, vals + b * 1024, m * sizeof(uint64_t));
		put(out + pos, t / 8, wid[b]);
		pos += t / 8;
		ref_pack(t, wid[b], block, out + pos);
		pos += 128 * (size_t) wid[b];
	}
	return pos;
}

static void
test_inline(void)
{
	static const unsigned t_list[] = {8, 16, 32, 64};
	size_t		n = 2500;
	uint64_t   *vals = malloc(n * sizeof(uint64_t));
	uint8_t    *enc = malloc(3 * (8 + 128 * 64));
	uint8_t    *out = malloc(n * 8);

	for (int k = 0; k < 4; k++)
	{
		unsigned	t = t_list[k];
		unsigned	bytes = t / 8;
		unsigned	wid[3] = {t / 2 + 1, t, 1};
		size_t		len;
		bool		ok = true;
		int			rc;

		for (size_t i = 0; i < n; i++)
			vals[i] = rnd() & mask_of(wid[i / 1024]);
		len = ref_inline(t, vals, n, wid, enc);
		rc = LanceInlineBitpackDecode(t, enc, len, n, out, n * bytes, NULL);
		for (size_t i = 0; rc == 0 && i < n; i++)
			ok = ok && get(out + i * bytes, bytes) == vals[i];
		tap_ok(rc == 0 && ok, "inline bitpacking T=%u: three blocks of widths %u,%u,%u", t,
			   wid[0], wid[1], wid[2]);

		/* truncated by one byte, an extra byte, a bad width word, small output */
		{
			LanceError	e;

			rc = LanceInlineBitpackDecode(t, enc, len - 1, n, out, n * bytes, &e);
			tap_ok(rc == EINVAL && strstr(e.message, "expected") != NULL,
				   "inline T=%u truncated: EINVAL (%s)", t, e.message);
			rc = LanceInlineBitpackDecode(t, enc, len + 1, n, out, n * bytes, &e);
			tap_ok(rc == EINVAL, "inline T=%u trailing byte: EINVAL (%s)", t, e.message);
			put(enc, bytes, t + 1);
			rc = LanceInlineBitpackDecode(t, enc, len, n, out, n * bytes, &e);
			tap_ok(rc == EINVAL, "inline T=%u width word %u: EINVAL (%s)", t, t + 1, e.message);
			put(enc, bytes, wid[0]);
			rc = LanceInlineBitpackDecode(t, enc, len, n, out, n * bytes - 1, &e);
			tap_ok(rc == EINVAL, "inline T=%u output too small: EINVAL (%s)", t, e.message);
		}
	}
	{
		LanceError	e;
		int			rc = LanceInlineBitpackDecode(12, enc, 10, 1, out, 8, &e);

		tap_ok(rc == ENOTSUP, "inline T=12: ENOTSUP (%s)", e.message);
		rc = LanceInlineBitpackDecode(32, NULL, 0, 0, out, 0, &e);
		tap_ok(rc == 0, "inline: zero values from zero bytes");
	}
	free(vals);
	free(enc);
	free(out);
}

/* Out-of-line: one width; the tail raw or packed, told apart by length */
static void
test_out_of_line(void)
{
	static const unsigned t_list[] = {8, 16, 32, 64};
	size_t		n = 2048 + 100;
	uint64_t   *vals = malloc(n * sizeof(uint64_t));
	uint8_t    *enc = malloc(3 * 128 * 64 + 8 * 100);
	uint8_t    *out = malloc(n * 8);

	for (int k = 0; k < 4; k++)
	{
		unsigned	t = t_list[k];
		unsigned	bytes = t / 8;
		unsigned	w = t - 3;
		size_t		pos = 0;
		bool		ok = true;
		int			rc;
		LanceError	e;

		for (size_t i = 0; i < n; i++)
			vals[i] = rnd() & mask_of(w);
		for (int b = 0; b < 2; b++, pos += 128 * (size_t) w)
			ref_pack(t, w, vals + b * 1024, enc + pos);
		/* raw tail */
		for (size_t i = 2048; i < n; i++, pos += bytes)
			put(enc + pos, bytes, vals[i]);
		rc = LanceOutOfLineBitpackDecode(t, w, enc, pos, n, out, n * bytes, &e);
		for (size_t i = 0; rc == 0 && i < n; i++)
			ok = ok && get(out + i * bytes, bytes) == vals[i];
		tap_ok(rc == 0 && ok, "out-of-line T=%u W=%u with a raw tail", t, w);

		/* packed (zero-padded) tail */
		{
			uint64_t	block[1024] = {0};

			pos = 2 * 128 * (size_t) w;
			memcpy(block, vals + 2048, 100 * sizeof(uint64_t));
			ref_pack(t, w, block, enc + pos);
			pos += 128 * (size_t) w;
		}
		ok = true;
		rc = LanceOutOfLineBitpackDecode(t, w, enc, pos, n, out, n * bytes, &e);
		for (size_t i = 0; rc == 0 && i < n; i++)
			ok = ok && get(out + i * bytes, bytes) == vals[i];
		tap_ok(rc == 0 && ok, "out-of-line T=%u W=%u with a packed tail", t, w);

		rc = LanceOutOfLineBitpackDecode(t, w, enc, pos - 1, n, out, n * bytes, &e);
		tap_ok(rc == EINVAL, "out-of-line T=%u bad length: EINVAL (%s)", t, e.message);
		rc = LanceOutOfLineBitpackDecode(t, t + 1, enc, pos, n, out, n * bytes, &e);
		tap_ok(rc == EINVAL, "out-of-line T=%u width %u: EINVAL (%s)", t, t + 1, e.message);
	}
	free(vals);
	free(enc);
	free(out);
}

/* Chunks LanceDB wrote with inline_bitpacking(T) decode to the input values */
static void
test_lancedb_inline(const char *name, unsigned t)
{
	CodecFixture fx;
	size_t		exp_len,
				len;
	const uint8_t *exp;
	size_t		off = 0;
	int			nchunks;
	bool		ok = true;
	uint8_t    *out;

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
		uint32_t	nv = fixture_chunk_u32(&fx, c, "nvals");
		const uint8_t *buf = fixture_chunk(&fx, c, "buf.0", &len);
		LanceError	e;
		int			rc = LanceInlineBitpackDecode(t, buf, len, nv, out + off, exp_len - off, &e);

		if (rc != 0)
		{
			tap_diag("chunk %d: %s", c, e.message);
			ok = false;
		}
		off += (size_t) nv * (t / 8);
	}
	ok = ok && off == exp_len && memcmp(out, exp, exp_len) == 0;
	tap_ok(ok, "LanceDB %s: %d chunks of inline_bitpacking(%u) decode to the %zu written values",
		   name, nchunks, t, exp_len / (t / 8));
	free(out);
	fixture_free(&fx);
}

/* Def levels LanceDB wrote with out_of_line_bitpacking(16, flat(1)) */
static void
test_lancedb_def_levels(void)
{
	CodecFixture fx;
	size_t		len,
				exp_len;
	const uint8_t *def,
			   *exp;
	uint32_t	levels;
	uint8_t		out[4096 * 2];
	int			rc;
	bool		ok = true;

	if (!fixture_load(&fx, "fsst_text"))
	{
		tap_ok(false, "fixture fsst_text loads");
		return;
	}
	def = fixture_chunk(&fx, 0, "def", &len);
	levels = fixture_chunk_u32(&fx, 0, "levels");
	exp = fixture_get(&fx, "expected.def", &exp_len);
	rc = LanceOutOfLineBitpackDecode(16, 1, def, len, levels, out, sizeof(out), NULL);
	for (uint32_t i = 0; rc == 0 && i < levels; i++)
		ok = ok && i < exp_len && get(out + 2 * i, 2) == exp[i];
	tap_ok(rc == 0 && ok && levels > 0,
		   "LanceDB def levels (%u levels, %zu bytes, padded tail) decode to the null pattern",
		   levels, len);
	fixture_free(&fx);
}

int
main(void)
{
	test_permutation();
	test_round_trips();
	test_inline();
	test_out_of_line();
	test_lancedb_inline("inline_bitpack_i64", 64);
	test_lancedb_inline("inline_bitpack_i32", 32);
	test_lancedb_inline("inline_bitpack_i16", 16);
	test_lancedb_inline("inline_bitpack_u8", 8);
	test_lancedb_def_levels();
	return tap_done();
}
