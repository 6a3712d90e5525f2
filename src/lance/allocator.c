/*
 * allocator.c
 *	  The default LanceAllocator (malloc/realloc/free) and the helpers the
 *	  library uses to allocate through whatever allocator the caller gave.
 *
 * Every allocation in src/lance goes through LanceAlloc/LanceRealloc/
 * LanceFree (lance_internal.h) so the PostgreSQL layer can route memory to a
 * memory context; NULL as allocator means this default.
 */
#include "lance/lance_internal.h"

#include <stdlib.h>
#include <string.h>

static void *
default_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size == 0 ? 1 : size);
}

static void *
default_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
	(void) ctx;
	(void) old_size;
	return realloc(ptr, new_size == 0 ? 1 : new_size);
}

static void
default_free(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	(void) size;
	free(ptr);
}

static const LanceAllocator default_allocator = {
	default_alloc, default_realloc, default_free, NULL
};

const LanceAllocator *
LanceAllocatorDefault(void)
{
	return &default_allocator;
}

/*
 * Zero-byte requests are made one byte long for every allocator, so a NULL
 * result always means "out of memory" (an allocator may return NULL for 0).
 * LanceFree rounds the same way, so sizes passed back always match.
 */
void *
LanceAlloc(const LanceAllocator *a, size_t size)
{
	if (a == NULL)
		a = &default_allocator;
	return a->alloc(a->ctx, size == 0 ? 1 : size);
}

void *
LanceAllocZero(const LanceAllocator *a, size_t size)
{
	void	   *p = LanceAlloc(a, size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void *
LanceRealloc(const LanceAllocator *a, void *ptr, size_t old_size, size_t new_size)
{
	if (a == NULL)
		a = &default_allocator;
	if (ptr == NULL)
		return LanceAlloc(a, new_size);
	return a->realloc(a->ctx, ptr, old_size == 0 ? 1 : old_size,
					  new_size == 0 ? 1 : new_size);
}

void
LanceFree(const LanceAllocator *a, void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	if (a == NULL)
		a = &default_allocator;
	a->free(a->ctx, ptr, size == 0 ? 1 : size);
}

char *
LanceStrdup(const LanceAllocator *a, const char *s)
{
	size_t		n;
	char	   *copy;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	copy = LanceAlloc(a, n);
	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

char *
LanceStrdupOrEmpty(const LanceAllocator *a, const char *s)
{
	return LanceStrdup(a, s != NULL ? s : "");
}

void *
LanceMemdup(const LanceAllocator *a, const void *src, size_t n)
{
	void	   *copy = LanceAlloc(a, n);

	if (copy != NULL && n > 0)
		memcpy(copy, src, n);
	return copy;
}

void
LanceStrfree(const LanceAllocator *a, char *s)
{
	if (s != NULL)
		LanceFree(a, s, strlen(s) + 1);
}

/*
 * protobuf-c allocations on top of a LanceAllocator.  protobuf-c's free does
 * not pass the size, and LanceAllocator's does, so each block carries its
 * size in a 16-byte header (16 keeps the payload aligned for any scalar).
 * allocator_data is the LancePbAllocator itself, so a failure can be noted.
 */
static void *
protobuf_alloc(void *ctx, size_t size)
{
	LancePbAllocator *pa = ctx;
	uint8_t    *p = NULL;

	if (size <= SIZE_MAX - 16)
		p = LanceAlloc(pa->allocator, size + 16);
	if (p == NULL)
	{
		pa->failed = true;
		return NULL;
	}
	memcpy(p, &size, sizeof(size));
	return p + 16;
}

static void
protobuf_free(void *ctx, void *ptr)
{
	LancePbAllocator *pa = ctx;
	uint8_t    *p;
	size_t		size;

	if (ptr == NULL)
		return;
	p = (uint8_t *) ptr - 16;
	memcpy(&size, p, sizeof(size));
	LanceFree(pa->allocator, p, size + 16);
}

void
LancePbAllocatorInit(LancePbAllocator *pa, const LanceAllocator *a)
{
	pa->pb.alloc = protobuf_alloc;
	pa->pb.free = protobuf_free;
	pa->pb.allocator_data = pa;
	pa->allocator = a;
	pa->failed = false;
}

int
LancePbUnpackError(LancePbAllocator *pa, LanceError *error, const char *what,
				   const char *fmt,...)
{
	va_list		ap;

	if (pa->failed)
	{
		pa->failed = false;
		return LanceErrorSet(error, ENOMEM, "ran out of memory decoding %s", what);
	}
	va_start(ap, fmt);
	LanceErrorSetV(error, EINVAL, fmt, ap);
	va_end(ap);
	return EINVAL;
}

/* ---- growable byte buffer ---- */

void
LanceBufInit(LanceBuf *buf, const LanceAllocator *a)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->allocator = a;
}

void
LanceBufReset(LanceBuf *buf)
{
	LanceFree(buf->allocator, buf->data, buf->cap);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

int
LanceBufReserve(LanceBuf *buf, size_t extra)
{
	size_t		need;
	size_t		cap;
	uint8_t    *p;

	if (extra > SIZE_MAX - buf->len)
		return ENOMEM;
	need = buf->len + extra;
	if (need <= buf->cap)
		return 0;
	/*
	 * A first reservation is taken as the size wanted, exactly: readers
	 * reserve a column's whole length up front and hand the buffer over as
	 * the array's, so rounding it up to a power of two wasted up to half of
	 * what a caller keeps.  Growth past it doubles.
	 */
	if (buf->cap == 0)
		cap = need < 64 ? 64 : need;
	else
		cap = buf->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = LanceRealloc(buf->allocator, buf->data, buf->cap, cap);
	if (p == NULL)
		return ENOMEM;
	buf->data = p;
	buf->cap = cap;
	return 0;
}

int
LanceBufAppend(LanceBuf *buf, const void *data, size_t len)
{
	int			rc;

	if (len == 0)
		return 0;
	rc = LanceBufReserve(buf, len);
	if (rc != 0)
		return rc;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	return 0;
}

int
LanceBufAppendByte(LanceBuf *buf, uint8_t byte, size_t count)
{
	int			rc;

	if (count == 0)
		return 0;
	rc = LanceBufReserve(buf, count);
	if (rc != 0)
		return rc;
	memset(buf->data + buf->len, byte, count);
	buf->len += count;
	return 0;
}

int
LanceBufPad(LanceBuf *buf, size_t base, size_t align, uint8_t byte)
{
	size_t		rel = buf->len - base;
	size_t		rem = rel % align;

	return rem == 0 ? 0 : LanceBufAppendByte(buf, byte, align - rem);
}
