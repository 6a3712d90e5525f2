/*
 * file_io.c
 *	  The reader's two built-in I/O back ends (LanceFileIo): pread() on a
 *	  file descriptor and a byte range in memory (used by tests and the
 *	  fuzzer), plus LanceReadBytes, the bounds-checked "read a range into a
 *	  new allocation" every decoder uses.
 */
#include "lance/file_internal.h"

#include <sys/stat.h>
#include <unistd.h>

static int
fd_read(void *ctx, uint64_t offset, size_t length, void *dest)
{
	int			fd = (int) (intptr_t) ctx;
	uint8_t    *p = dest;

	while (length > 0)
	{
		ssize_t		n = pread(fd, p, length, (off_t) offset);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EINVAL;		/* the file shrank under us */
		p += n;
		offset += (uint64_t) n;
		length -= (size_t) n;
	}
	return 0;
}

int
LanceFileIoInitFd(LanceFileIo *io, int fd, LanceError *error)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return LanceErrorSet(error, errno, "cannot stat the data file: %s", strerror(errno));
	io->read = fd_read;
	io->read_many = NULL;
	io->view = NULL;
	io->size = (uint64_t) st.st_size;
	io->ctx = (void *) (intptr_t) fd;
	return 0;
}

static int
mem_read(void *ctx, uint64_t offset, size_t length, void *dest)
{
	const LanceMemoryFile *mem = ctx;

	if (!LanceRangeOk(offset, length, mem->size))
		return EINVAL;
	if (length > 0)
		memcpy(dest, mem->data + offset, length);
	return 0;
}

static const void *
mem_view(void *ctx, uint64_t offset, size_t length)
{
	const LanceMemoryFile *mem = ctx;

	return LanceRangeOk(offset, length, mem->size) ? mem->data + offset : NULL;
}

void
LanceFileIoInitMemory(LanceFileIo *io, LanceMemoryFile *mem, const void *data, size_t size)
{
	mem->data = data;
	mem->size = size;
	io->read = mem_read;
	io->read_many = NULL;
	io->view = mem_view;
	io->size = size;
	io->ctx = mem;
}

int
LanceReadBytes(const LanceFileIo *io, uint64_t offset, uint64_t length,
			   const LanceAllocator *a, uint8_t **out, LanceError *error)
{
	uint8_t    *p;
	int			rc;

	*out = NULL;
	if (!LanceRangeOk(offset, length, io->size) || length > SIZE_MAX / 2)
		return LanceErrorSet(error, EINVAL,
							 "expected bytes %llu..+%llu inside the file of %llu bytes",
							 (unsigned long long) offset, (unsigned long long) length,
							 (unsigned long long) io->size);
	p = LanceAlloc(a, (size_t) length);
	if (p == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory reading %llu bytes",
							 (unsigned long long) length);
	if (length > 0 && (rc = io->read(io->ctx, offset, (size_t) length, p)) != 0)
	{
		LanceFree(a, p, (size_t) length);
		return LanceErrorSet(error, rc, "cannot read %llu bytes at %llu: %s",
							 (unsigned long long) length, (unsigned long long) offset,
							 strerror(rc));
	}
	*out = p;
	return 0;
}
