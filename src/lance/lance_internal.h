/*
 * lance_internal.h
 *	  Helpers shared by the files of src/lance; not part of the public API.
 *
 * Allocation through the caller's LanceAllocator, a growable byte buffer,
 * overflow-checked size arithmetic and little-endian loads/stores.  Every
 * length or offset that comes from disk goes through the checked helpers
 * before it is used.
 */
#ifndef LANCE_LANCE_INTERNAL_H
#define LANCE_LANCE_INTERNAL_H

#include "lance/lance.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

/* LanceErrorSet with a va_list, for the library's own variadic helpers. */
extern int	LanceErrorSetV(LanceError *error, int code, const char *fmt, va_list ap)
			__attribute__((format(printf, 3, 0)));

extern void *LanceAlloc(const LanceAllocator *a, size_t size);
extern void *LanceAllocZero(const LanceAllocator *a, size_t size);
extern void *LanceRealloc(const LanceAllocator *a, void *ptr, size_t old_size,
						  size_t new_size);
extern void LanceFree(const LanceAllocator *a, void *ptr, size_t size);
extern char *LanceStrdup(const LanceAllocator *a, const char *s);
/* Like LanceStrdup, but NULL copies as "" (protobuf strings are never NULL). */
extern char *LanceStrdupOrEmpty(const LanceAllocator *a, const char *s);
extern void LanceStrfree(const LanceAllocator *a, char *s);
extern void *LanceMemdup(const LanceAllocator *a, const void *src, size_t n);

/*
 * protobuf-c's allocator interface, allocating from a LanceAllocator (NULL:
 * malloc).  protobuf-c returns NULL from an unpack for corrupt bytes and for
 * a failed allocation alike; 'failed' records the latter so the caller can
 * report ENOMEM rather than corruption (LancePbUnpackError).  Pass &pa->pb
 * to protobuf-c.  The struct refers to itself: initialise it where it stays
 * and never copy it.
 */
typedef struct LancePbAllocator
{
	ProtobufCAllocator pb;
	const LanceAllocator *allocator;
	bool		failed;			/* an allocation failed since the last check */
} LancePbAllocator;

extern void LancePbAllocatorInit(LancePbAllocator *pa, const LanceAllocator *a);

/*
 * The error for an unpack that returned NULL: ENOMEM ("ran out of memory
 * decoding <what>") when one of its allocations failed, which clears the
 * flag; otherwise EINVAL with the message 'fmt'.
 */
extern int	LancePbUnpackError(LancePbAllocator *pa, LanceError *error, const char *what,
							   const char *fmt,...) __attribute__((format(printf, 4, 5)));

/* A growable byte buffer owned by 'allocator'. */
typedef struct LanceBuf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
	const LanceAllocator *allocator;
} LanceBuf;

extern void LanceBufInit(LanceBuf *buf, const LanceAllocator *a);
extern void LanceBufReset(LanceBuf *buf);
extern int	LanceBufReserve(LanceBuf *buf, size_t extra);
extern int	LanceBufAppend(LanceBuf *buf, const void *data, size_t len);
extern int	LanceBufAppendByte(LanceBuf *buf, uint8_t byte, size_t count);
/* Pad with 'byte' until (len - base) is a multiple of 'align'. */
extern int	LanceBufPad(LanceBuf *buf, size_t base, size_t align, uint8_t byte);

/* Overflow-checked arithmetic: false on overflow. */
static inline bool
LanceAddU64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

static inline bool
LanceMulU64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* True when [offset, offset+length) lies inside [0, size). */
static inline bool
LanceRangeOk(uint64_t offset, uint64_t length, uint64_t size)
{
	uint64_t	end;

	return LanceAddU64(offset, length, &end) && end <= size;
}

static inline uint16_t
LanceLoadU16(const uint8_t *p)
{
	return (uint16_t) (p[0] | (p[1] << 8));
}

static inline uint32_t
LanceLoadU32(const uint8_t *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);			/* little-endian hosts only (x86-64, arm64) */
	return v;
}

static inline uint64_t
LanceLoadU64(const uint8_t *p)
{
	uint64_t	v;

	memcpy(&v, p, 8);
	return v;
}

static inline void
LanceStoreU16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static inline void
LanceStoreU32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void
LanceStoreU64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline bool
LanceBitGet(const uint8_t *bits, uint64_t i)
{
	return (bits[i >> 3] >> (i & 7)) & 1;
}

static inline void
LanceBitSet(uint8_t *bits, uint64_t i, bool v)
{
	if (v)
		bits[i >> 3] |= (uint8_t) (1u << (i & 7));
	else
		bits[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/*
 * Copy bits [src_bit, src_bit + n) of the LSB-first bitmap 'src' (NULL: all
 * set) to bits [dst_bit, dst_bit + n) of 'dst'; other bits of 'dst' keep
 * their values.
 */
static inline void
LanceBitCopy(uint8_t *dst, uint64_t dst_bit, const uint8_t *src, uint64_t src_bit, uint64_t n)
{
	uint64_t	i = 0;

	if (src != NULL && (dst_bit & 7) == 0 && (src_bit & 7) == 0 && n >= 8)
	{
		i = n & ~(uint64_t) 7;
		memcpy(dst + (dst_bit >> 3), src + (src_bit >> 3), (size_t) (i >> 3));
	}
	for (; i < n; i++)
		LanceBitSet(dst, dst_bit + i, src == NULL || LanceBitGet(src, src_bit + i));
}

/* Is row i of 'column' (honouring column->offset) valid? */
static inline bool
LanceColumnIsValid(const LanceColumn *c, int64_t i)
{
	return c->validity == NULL || LanceBitGet(c->validity, (uint64_t) (c->offset + i));
}

#endif							/* LANCE_LANCE_INTERNAL_H */
