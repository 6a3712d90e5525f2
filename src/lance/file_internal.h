/*
 * file_internal.h
 *	  Types shared by the data file writer, reader and page codecs: a page's
 *	  accumulated values (writer side), an encoded page, the decoded column
 *	  metadata (reader side), and the page encoder/decoder entry points.
 *
 * Fact sheet: the Lance format fact sheet (shared/reference/lance-format.md) sections 2.2-2.5.
 */
#ifndef LANCE_FILE_INTERNAL_H
#define LANCE_FILE_INTERNAL_H

#include "lance/lance_file.h"
#include "lance/lance_internal.h"
#include "lance/proto/encodings_v2_0.pb-c.h"
#include "lance/proto/encodings_v2_1.pb-c.h"
#include "lance/proto/file2.pb-c.h"

#define LANCE_FOOTER_SIZE 40
#define LANCE_MAGIC "LANC"
#define LANCE_ALIGN 64
#define LANCE_PAD_BYTE 0x48		/* 'H': between buffers in the file */
#define LANCE_CHUNK_PAD 0xFE	/* inside mini-block chunks */
#define LANCE_DEFAULT_PAGE_BYTES (8u << 20)
#define LANCE_FULLZIP_MIN_BYTES 256 /* values this wide or wider: full-zip */

#define LANCE_URL_PAGE_LAYOUT "/lance.encodings21.PageLayout"
#define LANCE_URL_ARRAY_ENCODING "/lance.encodings.ArrayEncoding"
#define LANCE_URL_COLUMN_ENCODING "/lance.encodings.ColumnEncoding"

/*
 * The values of one leaf column waiting to become a page, in an Arrow-like
 * layout: validity bitmap (always kept), fixed-width rows packed in
 * 'values' (bool: a bitmap), or variable-width bytes with num_rows + 1
 * uint64 offsets starting at 0.
 */
typedef struct LancePageValues
{
	LanceTypeId type;			/* the field's type */
	LanceTypeId item_type;		/* fixed_size_list item type */
	int32_t		list_size;
	uint32_t	bits_per_value; /* fixed width: bits per row; 0: variable */
	uint32_t	offset_bytes;	/* variable width: 4 or 8 on disk */
	uint64_t	num_rows;
	uint64_t	null_count;
	uint64_t	max_length;		/* variable width: longest value */
	LanceBuf	validity;
	LanceBuf	values;
	LanceBuf	offsets;
	/*
	 * list<fixed-width>: rows are lists; 'validity' and 'offsets' (uint64
	 * item ends, num_rows + 1 from 0) describe the rows, 'values' and
	 * 'item_validity' the num_items items (bits_per_value each).
	 */
	bool		is_list;
	bool		separate_items; /* 2.0: items are their own column; only
								 * 'validity', 'offsets' and num_items here */
	uint64_t	num_items;
	uint64_t	empty_lists;
	/*
	 * Item validity bitmap of lists (num_items bits) and of fixed-size lists
	 * (num_rows * list_size bits, as the caller gave it, items of null rows
	 * included), and how many of those bits are 0.
	 */
	uint64_t	null_items;
	LanceBuf	item_validity;
} LancePageValues;

/* A page ready to write: up to 4 buffers and its encoding (Any bytes). */
typedef struct LanceEncodedPage
{
	LanceBuf	buffers[4];
	int			num_buffers;
	uint8_t    *encoding;		/* serialized lance.wire.Any */
	size_t		encoding_len;
	const LanceAllocator *allocator;
} LanceEncodedPage;

extern void LanceEncodedPageInit(LanceEncodedPage *page, const LanceAllocator *a);
extern void LanceEncodedPageReset(LanceEncodedPage *page);

/* Serialize 'msg' wrapped in lance.wire.Any{type_url, value} into page->encoding. */
extern int	LanceEncodedPageSetEncoding(LanceEncodedPage *page,
										const ProtobufCMessage *msg,
										const char *type_url, LanceError *error);

/* Encoders: one page from 'pv' (num_rows > 0). */
extern int	LanceEncodePageV21(const LancePageValues *pv, LanceEncodedPage *out,
							   LanceError *error);
extern int	LanceEncodePageV20(const LancePageValues *pv, LanceEncodedPage *out,
							   LanceError *error);

/* ---------------------------------------------------------------------------
 * Reader side
 * ------------------------------------------------------------------------- */

/* One page of a column as the reader keeps it after Open (read-only). */
typedef struct LanceChunkMap LanceChunkMap;

typedef struct LancePageInfo
{
	uint64_t	first_row;
	uint64_t	num_rows;
	size_t		num_buffers;
	const uint64_t *buffer_offsets;
	const uint64_t *buffer_sizes;
	Lance__Encodings21__PageLayout *layout; /* 2.1 */
	Lance__Encodings__ArrayEncoding *array; /* 2.0 */

	/*
	 * A 2.1 mini-block page's chunk map, decoded at the page's first read
	 * and kept until the reader closes, in memory of 'cache_allocator' (the
	 * reader's).  The one part of a page that changes after Open: it is
	 * published atomically (decode_v21.c), so concurrent reads stay safe.
	 * A page that is not 'cached' (a copy made for one read) decodes its
	 * map at every read.
	 */
	bool		cached;
	LanceChunkMap *chunk_map;
	const LanceAllocator *cache_allocator;	/* NULL: the default, as elsewhere */
} LancePageInfo;

typedef struct LanceColumnInfo
{
	Lance__File__V2__ColumnMetadata *meta;
	LancePageInfo *pages;
	size_t		num_pages;
} LanceColumnInfo;

/*
 * What a page decoder produces: the rows asked for, appended to an output
 * under construction.  Fixed width: bytes_per_row bytes each (bool: one
 * byte per row, 0/1, packed at the end); variable width: offsets (uint64,
 * num_rows + 1) and bytes.
 */
typedef struct LanceOut
{
	LanceTypeId type;
	uint32_t	bits_per_value; /* 0: variable width */
	uint64_t	length;			/* rows appended so far */
	uint64_t	null_count;
	LanceBuf	validity;		/* one byte per row (1 valid); packed at the end */
	LanceBuf	values;
	LanceBuf	offsets;		/* uint64, length + 1 entries */
	/*
	 * Random access to fixed-width values in unsorted order: row number
	 * 'length' goes to position scatter[length] of the pre-sized buffers, so
	 * no permuting copy is needed afterwards.  NULL: append in order.
	 */
	const uint64_t *scatter;
	uint64_t	scatter_len;
	/*
	 * Fixed-size lists: items per row (0 otherwise), and the item validity,
	 * a byte per item (1 valid), kept only once a null item has been seen
	 * (empty until then: all items valid).  Items of null rows are valid.
	 */
	uint32_t	list_size;
	LanceBuf	item_validity;
} LanceOut;

/* Append rows to 'out': a validity byte per row, and the row's value. */
extern int	LanceOutAppendNull(LanceOut *out, LanceError *error);
extern int	LanceOutAppendFixed(LanceOut *out, const uint8_t *value, bool valid,
								LanceError *error);
extern int	LanceOutAppendVar(LanceOut *out, const uint8_t *value, uint64_t len,
							  bool valid, LanceError *error);
/*
 * Fixed-size lists: the item validity of the 'rows' rows appended last
 * (1 when scattering), from bits [bit0, bit0 + rows * list_size) of the
 * LSB-first bitmap 'bits'.  A no-op for other columns or NULL 'bits'.
 */
extern int	LanceOutItemValidity(LanceOut *out, const uint8_t *bits, uint64_t bit0,
								 uint64_t rows, LanceError *error);
/*
 * Fixed-size lists: append a valid row whose items are all null (values 0),
 * as a page that stores no item values means.  EINVAL for other columns.
 */
extern int	LanceOutAppendNullItems(LanceOut *out, LanceError *error);
/* Room for 'rows' more fixed-width rows (1 when scattering); returns
 * where their values go. */
extern uint8_t *LanceOutReserveFixed(LanceOut *out, uint64_t rows, LanceError *error, int *rc);

/* The page decoders: append rows[0..n) (page-relative, ascending or not)
 * of one page to 'out'.  'rows' NULL means the range [first, first + n). */
/*
 * Reads a Take gathers from all its pages, to hand to read_many in one call
 * (LanceReadsFlush) once every page has reserved its rows' places: 'dest'
 * holds offsets into the output's values until then, since a later page's
 * reservation may move that buffer.
 */
typedef struct LancePendingReads
{
	const LanceAllocator *allocator;
	LanceReadRange *ranges;
	size_t		n;
	size_t		cap;
} LancePendingReads;

typedef struct LancePageRead
{
	const LanceFileIo *io;
	const LancePageInfo *page;
	const LanceAllocator *allocator;
	const uint64_t *rows;
	uint64_t	first;
	uint64_t	n;
	LancePendingReads *pending; /* NULL: read this page's rows at once */
} LancePageRead;

extern int	LanceDecodePageV21(const LancePageRead *req, LanceOut *out, LanceError *error);
/* Frees a chunk map a page kept (LancePageInfo.chunk_map); NULL is fine. */
extern void LanceChunkMapFree(const LanceAllocator *allocator, LanceChunkMap *map);
extern bool LancePagePlainRows(const LancePageInfo *page, uint64_t value_bytes);
/* Reads what 'pending' gathered into 'out' with one read_many call; empties it. */
extern int	LanceReadsFlush(const LanceFileIo *io, LancePendingReads *pending, LanceOut *out,
							LanceError *error);
extern int	LanceDecodePageV20(const LancePageRead *req, LanceOut *out, LanceError *error);

/*
 * A 2.1 list page (one list layer over fixed-width items): appends the
 * requested rows to 'rows' (validity; offsets = item count after the row,
 * via its offsets buffer) and their items to 'items'.
 */
extern int	LanceDecodeListPageV21(const LancePageRead *req, LanceOut *rows, LanceOut *items,
								   LanceError *error);

/*
 * A 2.0 list<fixed-width> (list_v20.c): the list field's column holds the
 * offsets, the item field's column the items.  Appends rows 'sorted'
 * (ascending file rows, repeats allowed) or, when NULL, [first, first + n)
 * to 'rows' (validity; offsets = item count after the row) and their items
 * to 'items'.
 */
extern int	LanceReadListV20(const LanceFileIo *io, const LanceAllocator *a,
							 const LanceColumnInfo *offsets_col, const LanceColumnInfo *items_col,
							 const uint64_t *sorted, uint64_t first, uint64_t n,
							 LanceOut *rows, LanceOut *items, LanceError *error);

/* Read [offset, offset+length) of the file into a new allocation. */
extern int	LanceReadBytes(const LanceFileIo *io, uint64_t offset, uint64_t length,
						   const LanceAllocator *a, uint8_t **out, LanceError *error);

#endif							/* LANCE_FILE_INTERNAL_H */
