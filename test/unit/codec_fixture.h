/*
 * codec_fixture.h
 *	  Loads the codec fixtures in data/codecs/ (made from LanceDB's own output
 *	  by data/codecs/make_fixtures.js; see the README there).
 *
 * A fixture file is a sequence of records `u8 name_len | name | u32 LE len |
 * bytes`.  Tests look records up by name.  Header-only, test-only.
 */
#ifndef LANCEDB_TEST_CODEC_FIXTURE_H
#define LANCEDB_TEST_CODEC_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct CodecFixture
{
	uint8_t    *data;
	size_t		len;
} CodecFixture;

/* Reads data/codecs/<name>.fix; false (and a diagnostic) if it is missing. */
static inline bool
fixture_load(CodecFixture *fx, const char *name)
{
	char		path[256];
	FILE	   *f;
	long		n;

	fx->data = NULL;
	fx->len = 0;
	snprintf(path, sizeof(path), "data/codecs/%s.fix", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return false;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	fx->data = malloc(n > 0 ? (size_t) n : 1);
	if (fx->data == NULL || fread(fx->data, 1, (size_t) n, f) != (size_t) n)
	{
		fclose(f);
		free(fx->data);
		fx->data = NULL;
		return false;
	}
	fclose(f);
	fx->len = (size_t) n;
	return true;
}

static inline void
fixture_free(CodecFixture *fx)
{
	free(fx->data);
	fx->data = NULL;
}

/* Finds record 'name'; returns its bytes (NULL if absent) and length. */
static inline const uint8_t *
fixture_get(const CodecFixture *fx, const char *name, size_t *len)
{
	size_t		pos = 0;
	size_t		want = strlen(name);

	while (pos + 1 <= fx->len)
	{
		size_t		nlen = fx->data[pos];
		size_t		dlen;

		if (pos + 1 + nlen + 4 > fx->len)
			break;
		dlen = (size_t) fx->data[pos + 1 + nlen] | ((size_t) fx->data[pos + 2 + nlen] << 8) |
			((size_t) fx->data[pos + 3 + nlen] << 16) | ((size_t) fx->data[pos + 4 + nlen] << 24);
		if (pos + 5 + nlen + dlen > fx->len)
			break;
		if (nlen == want && memcmp(fx->data + pos + 1, name, nlen) == 0)
		{
			*len = dlen;
			return fx->data + pos + 5 + nlen;
		}
		pos += 5 + nlen + dlen;
	}
	*len = 0;
	return NULL;
}

/* A u32 record (0 if absent) */
static inline uint32_t
fixture_u32(const CodecFixture *fx, const char *name)
{
	size_t		len;
	const uint8_t *p = fixture_get(fx, name, &len);

	if (p == NULL || len != 4)
		return 0;
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

/* Like fixture_get for "chunk.<i>.<what>" */
static inline const uint8_t *
fixture_chunk(const CodecFixture *fx, int chunk, const char *what, size_t *len)
{
	char		name[64];

	snprintf(name, sizeof(name), "chunk.%d.%s", chunk, what);
	return fixture_get(fx, name, len);
}

static inline uint32_t
fixture_chunk_u32(const CodecFixture *fx, int chunk, const char *what)
{
	char		name[64];

	snprintf(name, sizeof(name), "chunk.%d.%s", chunk, what);
	return fixture_u32(fx, name);
}

#endif							/* LANCEDB_TEST_CODEC_FIXTURE_H */
