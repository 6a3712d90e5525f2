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

/* Reads are split into pieces of at most this size, this many per batch. */
#define READ_PIECE (1024 * 1024)
#define PIECES_PER_BATCH 64
#define BATCH_BYTES (8 * 1024 * 1024)

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

/* One read of a batch: where it lands. */
typedef struct Piece
{
	void	   *dest;
	size_t		length;
} Piece;

/*
 * Many reads through the runtime: pieces of at most READ_PIECE bytes,
 * PIECES_PER_BATCH at a time in one batch, so that io_uring (or the pread
 * pool) has them all in flight together.  The data is copied out of the
 * batch's memory into the caller's.
 */
static int
ReadManyThroughRuntime(void *ctx, const LanceReadRange *ranges, size_t n)
{
	SideLanceFile *file = (SideLanceFile *) ctx;
	Piece		pieces[PIECES_PER_BATCH];
	int64		offsets[PIECES_PER_BATCH];
	size_t		range = 0;
	size_t		done = 0;		/* bytes of ranges[range] already batched */

	while (range < n)
	{
		int			count = 0;
		size_t		bytes = 0;
		LanceIoBatch *batch;

		while (range < n && count < PIECES_PER_BATCH && bytes < BATCH_BYTES)
		{
			size_t		length = Min(ranges[range].length - done, (size_t) READ_PIECE);

			pieces[count].dest = (char *) ranges[range].dest + done;
			pieces[count].length = length;
			offsets[count] = (int64) (ranges[range].offset + done);
			bytes += length;
			count++;
			done += length;
			if (done == ranges[range].length)
			{
				range++;
				done = 0;
			}
		}
		batch = LanceIoBatchBegin(count, bytes + (size_t) count * RUNTIME_READ_ALIGN);
		for (int i = 0; i < count; i++)
			LanceIoBatchRead(batch, file->fd, offsets[i], pieces[i].length);
		LanceIoBatchSubmit(batch);
		LanceIoBatchWaitAll(batch);
		for (int i = 0; i < count; i++)
		{
			size_t		got;
			const void *data = LanceIoBatchData(batch, i, &got);

			if (got != pieces[i].length)
			{
				LanceIoBatchEnd(batch);
				return EINVAL;	/* short: the file is shorter than it says */
			}
			memcpy(pieces[i].dest, data, got);
		}
		LanceIoBatchEnd(batch);
	}
	return 0;
}

static int
ReadThroughRuntime(void *ctx, uint64_t offset, size_t length, void *dest)
{
	LanceReadRange range = {offset, length, dest};

	return ReadManyThroughRuntime(ctx, &range, 1);
}

static const void *
ViewThroughRuntime(void *ctx, uint64_t offset, size_t length)
{
	SideLanceFile *file = (SideLanceFile *) ctx;

	return file->viewing ? RuntimeViewBytes(&file->view, offset, length) : NULL;
}

/* A cached file's own fd, and fd.c's count of it */
static void
CloseCachedFd(SideLanceFile *file)
{
	close(file->fd);
	file->fd = -1;
	ReleaseExternalFD();
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
	RuntimeViewInit(&file->view);
	file->fd = SideFileOpen(rel, name, &size);
	if (cached)
	{
		/*
		 * A plain fd of our own, not the transaction's.  fd.c counts it
		 * (closing its own least recently used files to make room), so that
		 * many cached files cannot push the backend past its descriptor
		 * limit; it refuses once a third of max_safe_fds are held this way.
		 */
		int			fd;

		if (!AcquireExternalFD())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("could not keep side file \"%s\" open: too many files are kept open in this backend",
							name),
					 errhint("Close cursors over other indexes, or raise max_files_per_process.")));
		fd = fcntl(file->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
		{
			int			save_errno = errno;

			ReleaseExternalFD();
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not duplicate a descriptor of side file \"%s\": %m", name)));
		}
		CloseTransientFile(file->fd);
		file->fd = fd;
	}
	io.read = ReadThroughRuntime;
	io.read_many = ReadManyThroughRuntime;
	io.view = ViewThroughRuntime;
	io.size = (uint64_t) size;
	io.ctx = file;
	PG_TRY();
	{
		/* its reads may raise an ERROR (a query cancel) */
		rc = LanceFileReaderOpen(&file->reader, &io, SideLanceAllocator(), &error);
	}
	PG_CATCH();
	{
		if (cached)
			CloseCachedFd(file);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (rc != 0 && cached)
		CloseCachedFd(file);
	SideLanceCheck(rc, &error, psprintf("could not open side file \"%s\"", name));
	return file;
}

void
SideLanceBeginViews(SideLanceFile *file)
{
	Assert(!file->viewing);
	if (!file->cached)
		return;
	LanceIoViewPin(&file->view, file->fd);
	file->viewing = true;
}

void
SideLanceEndViews(SideLanceFile *file)
{
	if (!file->viewing)
		return;
	file->viewing = false;
	LanceIoViewUnpin(&file->view);
}

void
SideLanceClose(SideLanceFile *file)
{
	SideLanceEndViews(file);
	LanceFileReaderClose(file->reader);
	if (file->cached)
		CloseCachedFd(file);
	else
		CloseTransientFile(file->fd);
	pfree(file);
}
