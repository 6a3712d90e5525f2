/*
 * lance_file.h
 *	  Public interface of Lance data files (format 2.0 and 2.1): a streaming
 *	  writer, a reader with column scans and random access, and the small
 *	  I/O interface the reader reads through.
 *
 * Files written here are what LanceDB 0.31.0 (lance 8.0.0) writes for the
 * same data when it chooses plain encodings: Flat/Variable/FixedSizeList
 * values, definition levels for nulls, mini-block pages for values narrower
 * than 256 bytes and full-zip pages for wider ones (format 2.1), or the
 * Nullable/Flat/Binary/FixedSizeList trees of format 2.0.  Supported column
 * types: bool, int8..int64, uint8..uint64, float16/32/64, utf8, binary,
 * large_utf8, large_binary, date32, timestamp[us], fixed_size_list of a
 * fixed-width primitive (null items: the writer keeps the child's bitmap
 * as given, as lance does, and the reader returns it in child.validity,
 * where items of null rows count as valid); nullable or not; and
 * list<fixed-width primitive> (null lists, empty lists and null items),
 * written and read as lance 8 does: in format 2.1 mini-block pages with
 * repetition levels, in format 2.0 two columns, the list field's
 * List-encoded offsets and the item field's items.  Struct columns and
 * lists of other types are refused with ENOTSUP.
 *
 * Errors follow lance.h: EINVAL corrupt input or bad arguments, ENOTSUP an
 * encoding or version this library does not implement (named in the
 * message), ENOMEM, or the errno of a failed system call.
 */
#ifndef LANCE_LANCE_FILE_H
#define LANCE_LANCE_FILE_H

#include "lance/lance.h"

#ifdef __cplusplus
extern "C"
{
#endif

typedef enum LanceFileVersion
{
	LANCE_FILE_VERSION_DEFAULT = 0, /* 2.1 */
	LANCE_FILE_VERSION_2_0 = 20,	/* footer (0,3); (2,0) is accepted on read */
	LANCE_FILE_VERSION_2_1 = 21		/* footer (2,1) */
} LanceFileVersion;

/* ---------------------------------------------------------------------------
 * I/O for the reader
 * ------------------------------------------------------------------------- */

/*
 * How the reader gets bytes.  read() must fill all of dest[0..length) from
 * 'offset' or return an errno (EINVAL for a short read); the reader only
 * asks for ranges inside [0, size), and calls read() from any thread that
 * uses the reader, so it must be thread-safe (pread is).
 */
typedef struct LanceReadRange
{
	uint64_t	offset;
	size_t		length;
	void	   *dest;
} LanceReadRange;

typedef struct LanceFileIo
{
	int			(*read) (void *ctx, uint64_t offset, size_t length, void *dest);
	/*
	 * Optional (NULL: read() per range): many reads at once, all of which
	 * must be filled or an errno returned, as read() does.  Random access
	 * (LanceFileReaderTake) hands its rows here in one call, so a back end
	 * that batches (an io_uring) issues them together.
	 */
	int			(*read_many) (void *ctx, const LanceReadRange *ranges, size_t n);
	/*
	 * Optional (NULL: never): the file's bytes [offset, offset + length)
	 * where they already lie in memory, or NULL when the back end cannot
	 * show them cheaply now (the reader then reads them).  Only
	 * LanceFileReaderTakeViews asks; how long a pointer stays valid is the
	 * back end's to say to its own callers.
	 */
	const void *(*view) (void *ctx, uint64_t offset, size_t length);
	uint64_t	size;			/* file size in bytes */
	void	   *ctx;
} LanceFileIo;

/* pread() on an open fd; the size comes from fstat.  The fd stays the
 * caller's (it must outlive the reader). */
extern int	LanceFileIoInitFd(LanceFileIo *io, int fd, LanceError *error);

/* Bytes in memory ('mem' holds the view and must outlive the reader);
 * view() shows any range, for as long as the bytes live. */
typedef struct LanceMemoryFile
{
	const uint8_t *data;
	size_t		size;
} LanceMemoryFile;
extern void LanceFileIoInitMemory(LanceFileIo *io, LanceMemoryFile *mem,
								  const void *data, size_t size);

/* ---------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------- */

typedef struct LanceFileWriter LanceFileWriter;

/* Sink for the writer: write all 'length' bytes or return an errno. */
typedef int (*LanceWriteFn) (void *ctx, const void *data, size_t length);

typedef struct LanceFileWriterOptions
{
	LanceFileVersion version;	/* DEFAULT: 2.1 */
	/*
	 * A column's buffered values become a page once they reach this many
	 * bytes (0: 8 MiB, as lance does).  Memory use is about this much per
	 * leaf column.
	 */
	size_t		page_bytes;
	const LanceAllocator *allocator;	/* NULL: malloc */
} LanceFileWriterOptions;

extern void LanceFileWriterOptionsInit(LanceFileWriterOptions *options);

/*
 * Start a file with 'schema' (copied; validated; top-level fields, plus
 * the item field right after each list field) whose bytes go to
 * write(ctx, ...).  'options' may
 * be NULL.  Nothing is written until pages fill or the file is finished.
 */
extern int	LanceFileWriterOpen(LanceFileWriter **writer, LanceWriteFn write,
								void *ctx, const LanceSchema *schema,
								const LanceFileWriterOptions *options,
								LanceError *error);

/* The same, writing a new file at 'path' (created, or truncated). */
extern int	LanceFileWriterOpenPath(LanceFileWriter **writer, const char *path,
									const LanceSchema *schema,
									const LanceFileWriterOptions *options,
									LanceError *error);

/*
 * Append a batch: columns[i] holds the values of the i-th top-level field,
 * all of the same length, in the Arrow layout LanceColumn describes (type
 * must match the field; a non-nullable field must have no nulls; a list
 * has int32 offsets and its items in 'child').  The
 * values are copied; the caller keeps its buffers.
 */
extern int	LanceFileWriterWrite(LanceFileWriter *writer, const LanceColumn *columns,
								 int32_t num_columns, LanceError *error);

/*
 * Write an extra global buffer now (index files use them); *index receives
 * its global buffer number (1, 2, ...; 0 is the file descriptor).
 */
extern int	LanceFileWriterAddGlobalBuffer(LanceFileWriter *writer, const void *data,
										   size_t length, uint32_t *index,
										   LanceError *error);

/* Add a schema-level metadata entry to the file descriptor (before Finish). */
extern int	LanceFileWriterAddMetadata(LanceFileWriter *writer, const char *key,
									   const char *value, LanceError *error);

/*
 * Flush the remaining pages and write the file descriptor, column
 * metadata, offset tables and footer.  *file_size (may be NULL) receives
 * the total length.  The writer only accepts Close afterwards.
 */
extern int	LanceFileWriterFinish(LanceFileWriter *writer, uint64_t *file_size,
								  LanceError *error);

/* Free the writer (an unfinished file is left incomplete); NULL is fine. */
extern void LanceFileWriterClose(LanceFileWriter *writer);

/* ---------------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------------- */

typedef struct LanceFileReader LanceFileReader;

/*
 * Column data read from a file, owning its buffers.  'column' is the result
 * (column.child points at 'child' for fixed-size lists).  Reset frees it.
 */
typedef struct LanceArray
{
	LanceColumn column;
	LanceColumn child;
	uint8_t    *buffers[4];		/* validity, offsets, values, spare */
	size_t		sizes[4];
	const LanceAllocator *allocator;
} LanceArray;

extern void LanceArrayInit(LanceArray *array, const LanceAllocator *allocator);
extern void LanceArrayReset(LanceArray *array);

/*
 * The items of a fixed-size-list array of a fixed-width item type, from its
 * first row: length * list_size values back to back (the offsets of both
 * the list and its child applied).
 */
extern const void *LanceArrayListItems(const LanceArray *array);

/*
 * Open a file: validate the footer, version, offset tables and every page's
 * buffer ranges; decode the schema and column metadata.  'io' is copied
 * (its ctx must outlive the reader).  After Open the reader changes only
 * what it caches for later reads (a page's chunk map, at the page's first
 * read, published atomically): any number of threads may read from it at
 * once, and then 'allocator', which the caches come from, must be safe
 * to call from all of them.
 */
extern int	LanceFileReaderOpen(LanceFileReader **reader, const LanceFileIo *io,
								const LanceAllocator *allocator, LanceError *error);
extern void LanceFileReaderClose(LanceFileReader *reader);

extern const LanceSchema *LanceFileReaderSchema(const LanceFileReader *reader);
extern uint64_t LanceFileReaderNumRows(const LanceFileReader *reader);
extern LanceFileVersion LanceFileReaderVersion(const LanceFileReader *reader);
extern int32_t LanceFileReaderNumColumns(const LanceFileReader *reader);
extern uint32_t LanceFileReaderNumGlobalBuffers(const LanceFileReader *reader);

/* Read global buffer 'index' into 'out' (its buffers[2], column.values;
 * column.length = bytes). */
extern int	LanceFileReaderReadGlobalBuffer(const LanceFileReader *reader,
											uint32_t index, LanceArray *out,
											LanceError *error);

/*
 * Read rows [first_row, first_row + num_rows) of top-level field number
 * 'field' (an index into LanceFileReaderSchema()->fields whose parent is
 * -1) into 'out' (initialised; reset first if used).  Only the pages and,
 * for mini-block pages, the chunks covering the range are read (list pages
 * are decoded whole).  A list comes back as int32 offsets and validity in
 * out->column, its items in out->child (= *out->column.child).
 */
extern int	LanceFileReaderReadRange(const LanceFileReader *reader, int32_t field,
									 uint64_t first_row, uint64_t num_rows,
									 LanceArray *out, LanceError *error);

/*
 * Random access: out row i = file row rows[i] (any order, repeats allowed).
 * Reads only the bytes of those rows for fixed-width full-zip pages and only
 * the chunks that hold them for mini-block pages.
 */
extern int	LanceFileReaderTake(const LanceFileReader *reader, int32_t field,
								const uint64_t *rows, size_t num_rows,
								LanceArray *out, LanceError *error);

/*
 * Random access without a copy, for a fixed-size list of fixed-width items
 * (vectors): values[i] points at the value of file row rows[i], list_size
 * items back to back, or is NULL for a null row.  A row that lies whole and
 * plain in the file (a 2.1 full-zip page without control words or item
 * validity, as vectors are written) and that io->view shows points into the
 * back end's memory (when aligned to its item width); every other row is
 * read with LanceFileReaderTake into 'spill' (initialised; reset first) and
 * points there.
 */
extern int	LanceFileReaderTakeViews(const LanceFileReader *reader, int32_t field,
									 const uint64_t *rows, size_t num_rows,
									 const void **values, LanceArray *spill,
									 LanceError *error);

#ifdef __cplusplus
}
#endif

#endif							/* LANCE_LANCE_FILE_H */
