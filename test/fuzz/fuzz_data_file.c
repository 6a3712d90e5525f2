/*
 * fuzz_data_file.c
 *	  libFuzzer target: the data file reader on arbitrary bytes, through the
 *	  in-memory I/O back end.  Opens the file and, if that works, reads
 *	  every top-level field by range and by random access.  Any crash,
 *	  sanitizer report or leak is a bug in src/lance.
 */
#include "lance/lance_file.h"

#include <stddef.h>
#include <stdint.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LanceMemoryFile mem;
	LanceFileIo io;
	LanceFileReader *r;
	LanceError	e;

	LanceFileIoInitMemory(&io, &mem, data, size);
	if (LanceFileReaderOpen(&r, &io, NULL, &e) != 0)
		return 0;
	for (int32_t f = 0; f < LanceFileReaderSchema(r)->num_fields; f++)
	{
		LanceArray	a;
		uint64_t	n = LanceFileReaderNumRows(r);
		uint64_t	rows[4] = {n ? n - 1 : 0, 0, n / 2, n / 3};

		if (LanceFileReaderSchema(r)->fields[f].parent_id != -1)
			continue;
		if (n > 4096)
			n = 4096;			/* all-null pages may claim any row count */
		LanceArrayInit(&a, NULL);
		(void) LanceFileReaderReadRange(r, f, 0, n, &a, &e);
		LanceArrayReset(&a);
		if (n > 0)
			(void) LanceFileReaderTake(r, f, rows, 4, &a, &e);
		LanceArrayReset(&a);
	}
	for (uint32_t g = 0; g < LanceFileReaderNumGlobalBuffers(r); g++)
	{
		LanceArray	a;

		LanceArrayInit(&a, NULL);
		(void) LanceFileReaderReadGlobalBuffer(r, g, &a, &e);
		LanceArrayReset(&a);
	}
	LanceFileReaderClose(r);
	return 0;
}
