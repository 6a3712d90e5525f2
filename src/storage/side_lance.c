/*
 * side_lance.c
 *	  The Lance library (src/lance/, which knows nothing of PostgreSQL) in a
 *	  backend: memory from memory contexts, reads through the I/O runtime,
 *	  errors as ERRORs with a SQLSTATE.
 *
 * The reader's read callback waits with LanceIoBatchWaitAll, which honours
 * query cancel: an ERROR raised there unwinds through the Lance reader.
 * That is safe because everything the reader allocates comes from a memory
 * context and it holds no lock or other resource of its own.
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "storage/fd.h"
#include "storage/io.h"
#include "storage/side_lance.h"
#include "storage/side_storage.h"
#include "utils/memutils.h"

/* Reads are split into pieces of this size, submitted together. */
#define READ_PIECE (1024 * 1024)
#define PIECES_PER_BATCH 8

static void *
ContextAlloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
ContextRealloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
	void	   *copy = ContextAlloc(ctx, new_size);

	if (copy != NULL && ptr != NULL)
	{
		memcpy(copy, ptr, Min(old_size, new_size));
		pfree(ptr);
	}
	return copy;
}

static void
ContextFree(void *ctx, void *ptr, size_t size)
{
	(void) ctx;
	(void) size;
	if (ptr != NULL)
		pfree(ptr);
}

const LanceAllocator *
SideLanceAllocator(void)
{
	LanceAllocator *allocator = palloc(sizeof(LanceAllocator));

	allocator->alloc = ContextAlloc;
	allocator->realloc = ContextRealloc;
	allocator->free = ContextFree;
	allocator->ctx = CurrentMemoryContext;
	return allocator;
}

void
SideLanceCheck(int code, const LanceError *error, const char *what)
{
	int			sqlstate;

	if (code == 0)
		return;
	switch (code)
	{
		case ENOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			break;
		case ENOTSUP:
			sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED;
			break;
		case EIO:
			sqlstate = ERRCODE_IO_ERROR;
			break;
		default:
			/* EINVAL and the rest: the bytes are not what the format says */
			sqlstate = ERRCODE_DATA_CORRUPTED;
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s: %s", what, LanceErrorMessage(error))));
}

static int
ReadThroughRuntime(void *ctx, uint64_t offset, size_t length, void *dest)
{
	SideLanceFile *file = (SideLanceFile *) ctx;
	size_t		done = 0;

	while (done < length)
	{
		size_t		batch_bytes = Min(length - done, (size_t) READ_PIECE * PIECES_PER_BATCH);
		int			pieces = (int) ((batch_bytes + READ_PIECE - 1) / READ_PIECE);
		LanceIoBatch *batch = LanceIoBatchBegin(pieces, batch_bytes + pieces * RUNTIME_READ_ALIGN);

		for (int i = 0; i < pieces; i++)
		{
			size_t		start = (size_t) i * READ_PIECE;

			LanceIoBatchRead(batch, file->fd, (int64) (offset + done + start),
							 Min((size_t) READ_PIECE, batch_bytes - start));
		}
		LanceIoBatchSubmit(batch);
		LanceIoBatchWaitAll(batch);
		for (int i = 0; i < pieces; i++)
		{
			size_t		start = (size_t) i * READ_PIECE;
			size_t		want = Min((size_t) READ_PIECE, batch_bytes - start);
			size_t		got;
			const void *data = LanceIoBatchData(batch, i, &got);

			if (got != want)
			{
				LanceIoBatchEnd(batch);
				return EINVAL;	/* short: the file is shorter than it says */
			}
			memcpy((char *) dest + done + start, data, want);
		}
		LanceIoBatchEnd(batch);
		done += batch_bytes;
	}
	return 0;
}

SideLanceFile *
SideLanceOpen(Relation rel, const char *name, bool cached)
{
	SideLanceFile *file = palloc0(sizeof(SideLanceFile));
	LanceFileIo io;
	LanceError error;
	off_t		size;
	int			rc;

	file->name = pstrdup(name);
	file->cached = cached;
	file->fd = SideFileOpen(rel, name, &size);
	if (cached)
	{
		/* a plain fd of our own, not the transaction's */
		int			fd = fcntl(file->fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not duplicate a descriptor of side file \"%s\": %m", name)));
		CloseTransientFile(file->fd);
		file->fd = fd;
	}
	io.read = ReadThroughRuntime;
	io.size = (uint64_t) size;
	io.ctx = file;
	rc = LanceFileReaderOpen(&file->reader, &io, SideLanceAllocator(), &error);
	if (rc != 0 && cached)
		close(file->fd);
	SideLanceCheck(rc, &error, psprintf("could not open side file \"%s\"", name));
	return file;
}

void
SideLanceClose(SideLanceFile *file)
{
	LanceFileReaderClose(file->reader);
	if (file->cached)
		close(file->fd);
	else
		CloseTransientFile(file->fd);
	pfree(file);
}
