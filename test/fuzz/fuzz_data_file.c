/*
 * fuzz_data_file.c
 *	  libFuzzer target: the data file reader on arbitrary bytes, through the
 *	  in-memory I/O back end.  Opens the file and, if that works, reads
 *	  every top-level field by range and by random access (copied and in
 *	  place).  Any crash, sanitizer report or leak is a bug in src/lance.
 */
#include "lance/lance_file.h"

#include <stddef.h>
#include <stdint.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Random access in place: every byte of each value shown is read, so a
 * pointer past the input shows up under AddressSanitizer.
 */
static void
TouchViews(const LanceFileReader *r, int32_t f, const uint64_t *rows, LanceArray *spill)
{
	const LanceField *field = &LanceFileReaderSchema(r)->fields[f];
	const void *values[4];
	LanceError	e;
	volatile uint8_t sink = 0;

	if (LanceFileReaderTakeViews(r, f, rows, 4, values, spill, &e) != 0)
		return;
	for (int i = 0; i < 4; i++)
		for (size_t b = 0; values[i] != NULL &&
			 b < LanceTypeByteWidth(field->item_type) * (size_t) field->list_size; b++)
			sink ^= ((const uint8_t *) values[i])[b];
	(void) sink;
}

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
		if (n > 0)
			TouchViews(r, f, rows, &a);
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
