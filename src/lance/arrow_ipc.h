/*
 * arrow_ipc.h
 *	  Internal: a minimal Arrow IPC *file* reader (arrow_ipc.c), enough for
 *	  Lance deletion files: one record batch (or several), one non-nullable
 *	  uint32 column, bodies uncompressed or ZSTD-compressed.
 */
#ifndef LANCE_ARROW_IPC_H
#define LANCE_ARROW_IPC_H

#include "lance/lance.h"

/*
 * Read every value of the single uint32 column named 'column' from the
 * Arrow IPC file in 'bytes'.  *values (allocated from 'allocator', *count
 * elements, NULL if zero) in file order.  EINVAL for anything malformed or
 * of another shape; ENOTSUP for LZ4 bodies.
 */
extern int	LanceArrowIpcReadUInt32(const uint8_t *bytes, size_t len, const char *column,
									const LanceAllocator *allocator, uint32_t **values,
									int64_t *count, LanceError *error);

#endif							/* LANCE_ARROW_IPC_H */
