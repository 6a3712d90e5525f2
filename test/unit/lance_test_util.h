/*
 * lance_test_util.h
 *	  Helpers shared by the Lance library's unit tests: an in-memory write
 *	  sink, field construction, fixture files loaded for the reader, an
 *	  allocator that counts bytes and can fail, and the row check of the
 *	  LanceDB-written list fixtures (data/lancedb_list.js).
 *
 * Everything is static inline so each test links only what it uses.
 */
#ifndef LANCE_TEST_UTIL_H
#define LANCE_TEST_UTIL_H

#include "lance/lance_file.h"
#include "lance/lance_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing in-memory file for LanceFileWriterOpen's write callback. */
typedef struct Sink
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Sink;

static inline int
sink_write(void *ctx, const void *data, size_t len)
{
	Sink	   *s = ctx;

	if (s->len + len > s->cap)
	{
		s->cap = (s->len + len) * 2;
		s->data = realloc(s->data, s->cap);
	}
	memcpy(s->data + s->len, data, len);
	s->len += len;
	return 0;
}

/* A top-level field (the caller keeps 'name' alive). */
static inline LanceField
field_of(const char *name, int id, LanceTypeId type, bool nullable)
{
	LanceField	f;

	memset(&f, 0, sizeof(f));
	f.name = (char *) name;
	f.id = id;
	f.parent_id = -1;
	f.type = type;
	f.nullable = nullable;
	return f;
}

/* An allocator that counts live bytes and can fail after 'budget' calls. */
typedef struct CountingAllocator
{
	int64_t		live_bytes;
	int64_t		calls;
	int64_t		budget;			/* -1: never fail */
} CountingAllocator;

static inline void *
counting_alloc(void *ctx, size_t size)
{
	CountingAllocator *c = ctx;

	if (c->budget >= 0 && c->calls >= c->budget)
		return NULL;
	c->calls++;
	c->live_bytes += (int64_t) size;
	return malloc(size);
}

static inline void *
counting_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
	CountingAllocator *c = ctx;
	void	   *p;

	if (c->budget >= 0 && c->calls >= c->budget)
		return NULL;
	c->calls++;
	p = realloc(ptr, new_size);
	if (p != NULL)
		c->live_bytes += (int64_t) new_size - (int64_t) old_size;
	return p;
}

static inline void
counting_free(void *ctx, void *ptr, size_t size)
{
	CountingAllocator *c = ctx;

	c->live_bytes -= (int64_t) size;
	free(ptr);
}

/* A fixture file held in memory for the reader; free fx->data after closing. */
typedef struct Fixture
{
	uint8_t    *data;
	size_t		len;
	LanceMemoryFile mem;
	LanceFileIo io;
} Fixture;

static inline int
fixture_open(Fixture *fx, const char *path, LanceFileReader **r, LanceError *e)
{
	FILE	   *fp = fopen(path, "rb");

	fx->data = malloc(1 << 17);
	fx->len = fp ? fread(fx->data, 1, 1 << 17, fp) : 0;
	if (fp)
		fclose(fp);
	LanceFileIoInitMemory(&fx->io, &fx->mem, fx->data, fx->len);
	return LanceFileReaderOpen(r, &fx->io, NULL, e);
}

/*
 * Row k of 'a' against row i of data/lancedb_list.js's list column (either
 * file version): null if i % 5 == 2 (with no items), empty if i % 5 == 4,
 * else i % 4 + 1 items; item j = i * 10 + j, null when (i + j) % 6 == 5.
 */
static inline bool
lancedb_list_row_ok(const LanceArray *a, int64_t k, int i)
{
	const int32_t *o = a->column.offsets;
	int			n;

	if (i % 5 == 2)
		return !LanceColumnIsValid(&a->column, k) && o[k + 1] == o[k];
	if (!LanceColumnIsValid(&a->column, k))
		return false;
	n = i % 5 == 4 ? 0 : i % 4 + 1;
	if (o[k + 1] - o[k] != n)
		return false;
	for (int j = 0; j < n; j++)
	{
		int64_t		t = o[k] + j;
		bool		null = (i + j) % 6 == 5;

		if (LanceColumnIsValid(&a->child, t) == null)
			return false;
		if (!null && ((const float *) a->child.values)[t] != (float) (i * 10 + j))
			return false;
	}
	return true;
}

#endif							/* LANCE_TEST_UTIL_H */
