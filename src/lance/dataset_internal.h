/*
 * dataset_internal.h
 *	  Helpers shared by the dataset-level files of the Lance library
 *	  (manifest.c, versions.c, commit.c, deletion.c, arrow_ipc.c, rowids.c,
 *	  dataset.c): error formatting, allocation through a LanceAllocator,
 *	  byte-order helpers and a protobuf-c allocator bound to a LanceAllocator.
 *
 * Everything here is static inline so that these files do not depend on the
 * link-time presence of other parts of the library; the public error and
 * allocator contracts are the ones lance.h describes.
 */
#ifndef LANCE_DATASET_INTERNAL_H
#define LANCE_DATASET_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "lance/lance.h"

/* Fill 'error' (if any) and return 'code'. */
static inline int
ds_error(LanceError *error, int code, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static inline int
ds_error(LanceError *error, int code, const char *fmt,...)
{
	if (error != NULL)
	{
		va_list		ap;

		va_start(ap, fmt);
		vsnprintf(error->message, sizeof(error->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- allocation: NULL allocator means malloc ---- */

static inline void *
ds_alloc(const LanceAllocator *a, size_t size)
{
	if (size == 0)
		size = 1;
	return a != NULL ? a->alloc(a->ctx, size) : malloc(size);
}

static inline void *
ds_realloc(const LanceAllocator *a, void *ptr, size_t old_size, size_t new_size)
{
	if (new_size == 0)
		new_size = 1;
	if (ptr != NULL && old_size == 0)
		old_size = 1;
	return a != NULL ? a->realloc(a->ctx, ptr, old_size, new_size) : realloc(ptr, new_size);
}

static inline void
ds_free(const LanceAllocator *a, void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	if (a != NULL)
		a->free(a->ctx, ptr, size == 0 ? 1 : size);	/* as ds_alloc rounded it */
	else
		free(ptr);
}

static inline void *
ds_zalloc(const LanceAllocator *a, size_t size)
{
	void	   *p = ds_alloc(a, size);

	if (p != NULL)
		memset(p, 0, size == 0 ? 1 : size);
	return p;
}

/* Overflow-checked n * size for array allocations; 0 on overflow. */
static inline size_t
ds_array_size(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return 0;
	return n * size;
}

static inline char *
ds_strdup(const LanceAllocator *a, const char *s)
{
	size_t		n;
	char	   *p;

	if (s == NULL)
		s = "";
	n = strlen(s) + 1;
	p = ds_alloc(a, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

static inline void
ds_strfree(const LanceAllocator *a, char *s)
{
	if (s != NULL)
		ds_free(a, s, strlen(s) + 1);
}

static inline void *
ds_memdup(const LanceAllocator *a, const void *src, size_t n)
{
	void	   *p = ds_alloc(a, n);

	if (p != NULL && n > 0)
		memcpy(p, src, n);
	return p;
}

/* ---- little-endian access (the formats are all little-endian) ---- */

static inline uint16_t
ds_le16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
ds_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[3] << 24);
}

static inline uint64_t
ds_le64(const uint8_t *p)
{
	return (uint64_t) ds_le32(p) | ((uint64_t) ds_le32(p + 4) << 32);
}

static inline void
ds_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static inline void
ds_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static inline void
ds_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/*
 * A protobuf-c allocator on top of a LanceAllocator.  protobuf-c's free does
 * not pass the size, and LanceAllocator's does, so each block carries its
 * size in a 16-byte header (16 keeps the payload aligned for any scalar).
 */
static inline void *
ds_pb_alloc(void *ctx, size_t size)
{
	const LanceAllocator *a = ctx;
	uint8_t    *p;

	if (size > SIZE_MAX - 16)
		return NULL;
	p = ds_alloc(a, size + 16);
	if (p == NULL)
		return NULL;
	memcpy(p, &size, sizeof(size));
	return p + 16;
}

static inline void
ds_pb_free(void *ctx, void *ptr)
{
	const LanceAllocator *a = ctx;
	uint8_t    *p;
	size_t		size;

	if (ptr == NULL)
		return;
	p = (uint8_t *) ptr - 16;
	memcpy(&size, p, sizeof(size));
	ds_free(a, p, size + 16);
}

static inline ProtobufCAllocator
ds_pb_allocator(const LanceAllocator *a)
{
	ProtobufCAllocator pa;

	pa.alloc = ds_pb_alloc;
	pa.free = ds_pb_free;
	pa.allocator_data = (void *) a;
	return pa;
}

/*
 * Read a whole regular file into memory allocated from 'allocator' (commit.c).
 * ENOENT if it does not exist; other errno values for I/O errors.
 */
extern int	LanceFileReadAll(const char *path, const LanceAllocator *allocator, uint8_t **bytes,
							 size_t *len, LanceError *error);

/* "dir/name" into buffer; ENAMETOOLONG if it does not fit (commit.c). */
extern int	LancePathJoin(char *buffer, size_t size, const char *dir, const char *name,
						  LanceError *error);

#endif							/* LANCE_DATASET_INTERNAL_H */
