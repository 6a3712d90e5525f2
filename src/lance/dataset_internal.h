/*
 * dataset_internal.h
 *	  Helpers shared by the dataset-level files of the Lance library
 *	  (manifest.c, versions.c, commit.c, deletion.c, arrow_ipc.c, rowids.c,
 *	  dataset.c).  Allocation, errors and byte order come from
 *	  lance_internal.h like everywhere else in src/lance.
 */
#ifndef LANCE_DATASET_INTERNAL_H
#define LANCE_DATASET_INTERNAL_H

#include "lance/lance_internal.h"

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
