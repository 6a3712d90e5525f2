/*
 * file_writer.c
 *	  The streaming data file writer: buffers each column's values until a
 *	  page's worth, encodes the page (encode_v21.c / encode_v20.c), writes
 *	  its buffers, and on Finish writes the file descriptor, the column
 *	  metadata, the offset tables and the footer.
 *
 * The container layout is the one the Rust reader asserts (fact sheet 2.2):
 * every data and extra global buffer starts 64-byte aligned, padded with
 * 0x48 ('H'); zero-length buffers take no space; then the FileDescriptor
 * (global buffer 0), the ColumnMetadata messages back to back, the CMO
 * table ending exactly where the GBO table starts, and the 40-byte footer.
 * Output is a pure function of the input (no clocks, no randomness), so
 * the same rows give the same bytes.  Durability (fsync) is the caller's.
 */
#include "lance/file_internal.h"
#include "lance/schema_proto.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct PageRec
{
	uint64_t	offsets[4];
	uint64_t	sizes[4];
	int			num_buffers;
	uint64_t	length;
	uint64_t	priority;
	uint8_t    *encoding;
	size_t		encoding_len;
} PageRec;

/*
 * One column of the file.  Usually a top-level field's; in 2.0 a list is
 * two columns, the list field's (offsets) and its item field's, which is
 * fed from the list's rows ('items').  In 2.1 a list's one column is its
 * item field's, holding the list structure too.
 */
typedef struct ColumnState
{
	const LanceField *field;	/* the top-level field (2.0: or a list's item) */
	int32_t		input;			/* its top-level field's index in Write's columns */
	struct ColumnState *items;	/* 2.0 list: the item field's column */
	LancePageValues pv;
	LanceBuf	pages;			/* PageRec[] */
	uint64_t	rows_flushed;
} ColumnState;

struct LanceFileWriter
{
	const LanceAllocator *allocator;
	LanceWriteFn write;
	void	   *ctx;
	int			fd;				/* OpenPath only; -1 otherwise */
	LanceSchema schema;
	LanceFileVersion version;
	size_t		page_bytes;
	uint64_t	position;
	uint64_t	num_rows;
	ColumnState *columns;
	int32_t		num_columns;	/* columns in the file */
	int32_t		num_inputs;		/* top-level fields: columns Write takes */
	LanceBuf	global_buffers; /* uint64 (position, length) pairs, from 1 */
	bool		finished;
	bool		broken;			/* a write failed: the file is unusable */
};

void
LanceFileWriterOptionsInit(LanceFileWriterOptions *options)
{
	memset(options, 0, sizeof(*options));
}

static int
fd_write(void *ctx, const void *data, size_t length)
{
	int			fd = *(int *) ctx;
	const uint8_t *p = data;

	while (length > 0)
	{
		ssize_t		n = write(fd, p, length);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		length -= (size_t) n;
	}
	return 0;
}

static int
emit(LanceFileWriter *w, const void *data, size_t len, LanceError *error)
{
	int			rc;

	if (len == 0)
		return 0;
	rc = w->write(w->ctx, data, len);
	if (rc != 0)
	{
		w->broken = true;
		return LanceErrorSet(error, rc, "cannot write the data file: %s", strerror(rc));
	}
	w->position += len;
	return 0;
}

/* A data buffer: its bytes, then 0x48 up to the next multiple of 64. */
static int
emit_buffer(LanceFileWriter *w, const void *data, size_t len, uint64_t *offset,
			LanceError *error)
{
	static const uint8_t pad[LANCE_ALIGN] = {
		[0 ... LANCE_ALIGN - 1] = LANCE_PAD_BYTE
	};
	int			rc;

	*offset = w->position;
	if ((rc = emit(w, data, len, error)) != 0)
		return rc;
	if (w->position % LANCE_ALIGN != 0)
		return emit(w, pad, LANCE_ALIGN - w->position % LANCE_ALIGN, error);
	return 0;
}

/* A page under construction for field 'f'; 'separate_items': a 2.0 list,
 * whose items go to their own column. */
static void
pv_init(LancePageValues *pv, const LanceField *f, bool separate_items, const LanceAllocator *a)
{
	memset(pv, 0, sizeof(*pv));
	LanceBufInit(&pv->item_validity, a);
	if (f->type == LANCE_TYPE_LIST)
	{
		/* f + 1 is the item field (validated at open) */
		pv->is_list = true;
		pv->separate_items = separate_items;
		pv->type = f[1].type;
		pv->bits_per_value = (uint32_t) (LanceTypeByteWidth(f[1].type) * 8);
		LanceBufInit(&pv->validity, a);
		LanceBufInit(&pv->values, a);
		LanceBufInit(&pv->offsets, a);
		return;
	}
	pv->type = f->type;
	pv->item_type = f->item_type;
	pv->list_size = f->list_size;
	switch (f->type)
	{
		case LANCE_TYPE_BOOL:
			pv->bits_per_value = 1;
			break;
		case LANCE_TYPE_UTF8:
		case LANCE_TYPE_BINARY:
			pv->offset_bytes = 4;
			break;
		case LANCE_TYPE_LARGE_UTF8:
		case LANCE_TYPE_LARGE_BINARY:
			pv->offset_bytes = 8;
			break;
		case LANCE_TYPE_FIXED_SIZE_LIST:
			pv->bits_per_value = (uint32_t) (LanceTypeByteWidth(f->item_type) * 8 *
											 (size_t) f->list_size);
			break;
		default:
			pv->bits_per_value = (uint32_t) (LanceTypeByteWidth(f->type) * 8);
	}
	LanceBufInit(&pv->validity, a);
	LanceBufInit(&pv->values, a);
	LanceBufInit(&pv->offsets, a);
}

static void
pv_clear(LancePageValues *pv)
{
	pv->num_items = 0;
	pv->null_items = 0;
	pv->empty_lists = 0;
	pv->item_validity.len = 0;
	pv->num_rows = 0;
	pv->null_count = 0;
	pv->max_length = 0;
	pv->validity.len = 0;
	pv->values.len = 0;
	pv->offsets.len = 0;
}

static void
pv_reset(LancePageValues *pv)
{
	LanceBufReset(&pv->item_validity);
	LanceBufReset(&pv->validity);
	LanceBufReset(&pv->values);
	LanceBufReset(&pv->offsets);
}

static size_t
pv_bytes(const LancePageValues *pv)
{
	return pv->values.len + pv->offsets.len;
}

/* About how many bytes a row adds to the page, for slicing appends. */
static size_t
pv_row_bytes(const LancePageValues *pv)
{
	if (pv->separate_items)
		return 8;				/* one u64 offset */
	return pv->bits_per_value ? (pv->bits_per_value + 7) / 8 : 64;
}

/*
 * A fixed-size list's item validity for rows [start, start+n) of 'c', bit
 * for bit as given (items of null rows too, as lance keeps the Arrow
 * child's bitmap), after the page's earlier items.
 */
static int
append_item_validity(LancePageValues *pv, const LanceColumn *c, int64_t start, int64_t n)
{
	const LanceColumn *child = c->child;
	uint64_t	dim = (uint64_t) pv->list_size;
	uint64_t	first = pv->num_rows * dim;
	uint64_t	count = (uint64_t) n * dim;
	uint64_t	src = (uint64_t) child->offset + (uint64_t) (c->offset + start) * dim;
	size_t		need = (size_t) ((first + count + 7) / 8);
	int			rc;

	if (need > pv->item_validity.len)
	{
		if ((rc = LanceBufAppendByte(&pv->item_validity, 0, need - pv->item_validity.len)) != 0)
			return rc;
	}
	LanceBitCopy(pv->item_validity.data, first, child->validity, src, count);
	for (uint64_t i = 0; child->validity != NULL && i < count; i++)
		pv->null_items += !LanceBitGet(child->validity, src + i);
	return 0;
}

/* Append rows [start, start+n) of 'c' to the page under construction. */
static int
pv_append(LancePageValues *pv, const LanceColumn *c, int64_t start, int64_t n)
{
	uint64_t	row0 = pv->num_rows;
	size_t		need_bytes = (size_t) ((row0 + (uint64_t) n + 7) / 8);
	int			rc;

	/* validity bits */
	if ((rc = LanceBufReserve(&pv->validity, need_bytes - pv->validity.len + 1)) != 0)
		return rc;
	memset(pv->validity.data + pv->validity.len, 0, need_bytes - pv->validity.len);
	pv->validity.len = need_bytes;
	for (int64_t i = 0; i < n; i++)
	{
		bool		valid = LanceColumnIsValid(c, start + i);

		if (valid)
			LanceBitSet(pv->validity.data, row0 + (uint64_t) i, true);
		else
			pv->null_count++;
	}

	if (pv->is_list)
	{
		const int32_t *offs = c->offsets;
		const LanceColumn *child = c->child;
		size_t		w = pv->bits_per_value / 8;

		if (pv->offsets.len == 0 && (rc = LanceBufAppendByte(&pv->offsets, 0, 8)) != 0)
			return rc;
		for (int64_t i = 0; i < n; i++)
		{
			int64_t		row = c->offset + start + i;
			int64_t		a = offs[row],
						b = offs[row + 1];
			uint64_t	end;

			if (b < a || a < 0 || b > child->length + 0)
				return EINVAL;
			if (!LanceColumnIsValid(c, start + i))
				b = a;			/* a null list's items are not stored */
			else if (a == b)
				pv->empty_lists++;
			if (pv->separate_items)
				pv->num_items += (uint64_t) (b - a);
			else if ((rc = LanceBufAppend(&pv->values, (const uint8_t *) child->values +
										  (size_t) (child->offset + a) * w, (size_t) (b - a) * w)) != 0)
				return rc;
			for (int64_t t = a; !pv->separate_items && t < b; t++)
			{
				uint64_t	k = pv->num_items++;

				if ((k & 7) == 0 && (rc = LanceBufAppendByte(&pv->item_validity, 0, 1)) != 0)
					return rc;
				if (LanceColumnIsValid(child, t))
					LanceBitSet(pv->item_validity.data, k, true);
				else
					pv->null_items++;
			}
			end = pv->num_items;
			if ((rc = LanceBufAppend(&pv->offsets, &end, 8)) != 0)
				return rc;
		}
		pv->num_rows += (uint64_t) n;
		return 0;
	}
	if (pv->bits_per_value == 1)
	{
		const uint8_t *bits = c->values;

		if ((rc = LanceBufReserve(&pv->values, need_bytes - pv->values.len + 1)) != 0)
			return rc;
		memset(pv->values.data + pv->values.len, 0, need_bytes - pv->values.len);
		pv->values.len = need_bytes;
		for (int64_t i = 0; i < n; i++)
			if (LanceBitGet(bits, (uint64_t) (c->offset + start + i)))
				LanceBitSet(pv->values.data, row0 + (uint64_t) i, true);
	}
	else if (pv->bits_per_value != 0)
	{
		size_t		width = pv->bits_per_value / 8;
		const uint8_t *src;

		if (pv->type == LANCE_TYPE_FIXED_SIZE_LIST)
		{
			size_t		iw = width / (size_t) pv->list_size;

			src = (const uint8_t *) c->child->values +
				((size_t) c->child->offset + (size_t) (c->offset + start) * (size_t) pv->list_size) * iw;
			if ((rc = append_item_validity(pv, c, start, n)) != 0)
				return rc;
		}
		else
			src = (const uint8_t *) c->values + (size_t) (c->offset + start) * width;
		if ((rc = LanceBufAppend(&pv->values, src, width * (size_t) n)) != 0)
			return rc;
	}
	else
	{
		bool		large = pv->offset_bytes == 8;
		const int32_t *o32 = c->offsets;
		const int64_t *o64 = c->offsets;
		int64_t		first = c->offset + start;
		uint64_t	base = pv->values.len;
		uint64_t	lo = large ? (uint64_t) o64[first] : (uint64_t) (uint32_t) o32[first];
		uint64_t	hi = large ? (uint64_t) o64[first + n] : (uint64_t) (uint32_t) o32[first + n];

		if (hi < lo)
			return EINVAL;
		if (pv->offsets.len == 0 && (rc = LanceBufAppend(&pv->offsets, &base, 8)) != 0)
			return rc;
		if ((rc = LanceBufReserve(&pv->offsets, (size_t) n * 8)) != 0)
			return rc;
		for (int64_t i = 0; i < n; i++)
		{
			uint64_t	a = large ? (uint64_t) o64[first + i] : (uint64_t) (uint32_t) o32[first + i];
			uint64_t	b = large ? (uint64_t) o64[first + i + 1] : (uint64_t) (uint32_t) o32[first + i + 1];
			uint64_t	end = base + (b - lo);

			if (b < a || b > hi)
				return EINVAL;
			if (b - a > pv->max_length)
				pv->max_length = b - a;
			LanceStoreU64(pv->offsets.data + pv->offsets.len, end);
			pv->offsets.len += 8;
		}
		if ((rc = LanceBufAppend(&pv->values, (const uint8_t *) c->values + lo, hi - lo)) != 0)
			return rc;
	}
	pv->num_rows += (uint64_t) n;
	return 0;
}

/* Write the column's buffered rows as a page (none: no page, unless 'empty'). */
static int
flush_column(LanceFileWriter *w, ColumnState *col, bool empty, LanceError *error)
{
	LanceEncodedPage page;
	PageRec		rec;
	int			rc;

	if (col->pv.num_rows == 0 && !empty)
		return 0;
	LanceEncodedPageInit(&page, w->allocator);
	rc = w->version == LANCE_FILE_VERSION_2_0 ?
		LanceEncodePageV20(&col->pv, &page, error) :
		LanceEncodePageV21(&col->pv, &page, error);
	memset(&rec, 0, sizeof(rec));
	for (int b = 0; rc == 0 && b < page.num_buffers; b++)
	{
		rc = emit_buffer(w, page.buffers[b].data, page.buffers[b].len, &rec.offsets[b], error);
		rec.sizes[b] = page.buffers[b].len;
	}
	if (rc == 0)
	{
		rec.num_buffers = page.num_buffers;
		rec.length = col->pv.num_rows;
		rec.priority = col->rows_flushed;
		rec.encoding = page.encoding;
		rec.encoding_len = page.encoding_len;
		page.encoding = NULL;
		rc = LanceBufAppend(&col->pages, &rec, sizeof(rec));
		if (rc != 0)
		{
			LanceFree(w->allocator, rec.encoding, rec.encoding_len);
			rc = LanceErrorSet(error, rc, "out of memory");
		}
	}
	LanceEncodedPageReset(&page);
	if (rc == 0)
	{
		col->rows_flushed += col->pv.num_rows;
		pv_clear(&col->pv);
	}
	return rc;
}

void
LanceFileWriterClose(LanceFileWriter *w)
{
	if (w == NULL)
		return;
	for (int32_t i = 0; i < w->num_columns; i++)
	{
		ColumnState *col = &w->columns[i];
		PageRec    *recs = (PageRec *) col->pages.data;

		for (size_t p = 0; p < col->pages.len / sizeof(PageRec); p++)
			LanceFree(w->allocator, recs[p].encoding, recs[p].encoding_len);
		LanceBufReset(&col->pages);
		pv_reset(&col->pv);
	}
	LanceFree(w->allocator, w->columns, sizeof(ColumnState) * (size_t) (w->schema.num_fields + 1));
	LanceBufReset(&w->global_buffers);
	LanceSchemaReset(&w->schema);
	if (w->fd >= 0)
		close(w->fd);
	LanceFree(w->allocator, w, sizeof(*w));
}

int
LanceFileWriterOpen(LanceFileWriter **writer, LanceWriteFn write, void *ctx,
					const LanceSchema *schema, const LanceFileWriterOptions *options,
					LanceError *error)
{
	LanceFileWriterOptions defaults;
	LanceFileWriter *w;
	int			rc;

	*writer = NULL;
	if (options == NULL)
	{
		LanceFileWriterOptionsInit(&defaults);
		options = &defaults;
	}
	if (options->version != LANCE_FILE_VERSION_DEFAULT &&
		options->version != LANCE_FILE_VERSION_2_0 &&
		options->version != LANCE_FILE_VERSION_2_1)
		return LanceErrorSet(error, ENOTSUP, "cannot write file version %d", (int) options->version);
	if ((rc = LanceSchemaValidate(schema, error)) != 0)
		return rc;
	for (int32_t i = 0; i < schema->num_fields; i++)
	{
		const LanceField *f = &schema->fields[i];

		if (f->type == LANCE_TYPE_LIST && i + 1 < schema->num_fields &&
			schema->fields[i + 1].parent_id == f->id &&
			LanceTypeByteWidth(schema->fields[i + 1].type) > 0)
		{
			i++;				/* list<fixed-width>: the item field comes with it */
			continue;
		}
		if (f->type == LANCE_TYPE_LIST || f->type == LANCE_TYPE_STRUCT || f->parent_id != -1)
			return LanceErrorSet(error, ENOTSUP,
								 "field \"%s\": the writer supports lists only of fixed-width items, and no structs",
								 f->name);
	}
	w = LanceAllocZero(options->allocator, sizeof(*w));
	if (w == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	w->allocator = options->allocator;
	w->write = write;
	w->ctx = ctx;
	w->fd = -1;
	w->version = options->version == LANCE_FILE_VERSION_2_0 ?
		LANCE_FILE_VERSION_2_0 : LANCE_FILE_VERSION_2_1;
	w->page_bytes = options->page_bytes ? options->page_bytes : LANCE_DEFAULT_PAGE_BYTES;
	LanceBufInit(&w->global_buffers, w->allocator);
	LanceSchemaInit(&w->schema, w->allocator);
	if ((rc = LanceSchemaCopy(&w->schema, schema, error)) != 0)
	{
		LanceFileWriterClose(w);
		return rc;
	}
	w->columns = LanceAllocZero(w->allocator, sizeof(ColumnState) * (size_t) (schema->num_fields + 1));
	if (w->columns == NULL)
	{
		LanceFileWriterClose(w);
		return LanceErrorSet(error, ENOMEM, "out of memory");
	}
	/*
	 * One column per top-level field (2.1: a list's column is its item's);
	 * in 2.0 a list's item field gets the next column.
	 */
	for (int32_t i = 0; i < w->schema.num_fields; i++)
	{
		const LanceField *f = &w->schema.fields[i];
		bool		split = f->type == LANCE_TYPE_LIST && w->version == LANCE_FILE_VERSION_2_0;
		ColumnState *col;

		if (f->parent_id != -1)
			continue;
		col = &w->columns[w->num_columns++];
		col->field = f;
		col->input = w->num_inputs;
		pv_init(&col->pv, f, split, w->allocator);
		LanceBufInit(&col->pages, w->allocator);
		if (split)
		{
			col->items = &w->columns[w->num_columns++];
			col->items->field = f + 1;
			col->items->input = w->num_inputs;
			pv_init(&col->items->pv, f + 1, false, w->allocator);
			LanceBufInit(&col->items->pages, w->allocator);
		}
		w->num_inputs++;
	}
	*writer = w;
	return 0;
}

int
LanceFileWriterOpenPath(LanceFileWriter **writer, const char *path,
						const LanceSchema *schema, const LanceFileWriterOptions *options,
						LanceError *error)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int			rc;

	*writer = NULL;
	if (fd < 0)
		return LanceErrorSet(error, errno, "cannot create \"%s\": %s", path, strerror(errno));
	rc = LanceFileWriterOpen(writer, fd_write, NULL, schema, options, error);
	if (rc != 0)
	{
		close(fd);
		return rc;
	}
	(*writer)->fd = fd;
	(*writer)->ctx = &(*writer)->fd;
	return 0;
}

static bool
column_type_matches(const LanceField *f, const LanceColumn *c)
{
	if (c->type != f->type)
		return false;
	if (f->type == LANCE_TYPE_LIST)
		return c->offsets != NULL && c->child != NULL && c->child->type == f[1].type &&
			c->child->values != NULL;
	if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
		return c->child != NULL && c->list_size == f->list_size &&
			c->child->type == f->item_type && c->child->values != NULL;
	if (f->type == LANCE_TYPE_UTF8 || f->type == LANCE_TYPE_BINARY ||
		f->type == LANCE_TYPE_LARGE_UTF8 || f->type == LANCE_TYPE_LARGE_BINARY)
		return c->offsets != NULL && c->values != NULL;
	return c->values != NULL;
}

static int	append_rows(LanceFileWriter *w, ColumnState *col, const LanceColumn *c,
						int64_t start, int64_t n, LanceError *error);

/*
 * 2.0 lists: the items of the valid rows among [start, start+n) of 'c' go
 * to the item column, in runs of adjacent rows.
 */
static int
append_list_items(LanceFileWriter *w, ColumnState *items, const LanceColumn *c, int64_t start,
				  int64_t n, LanceError *error)
{
	const int32_t *offs = c->offsets;
	int64_t		run_a = 0,
				run_b = 0;
	int			rc;

	for (int64_t i = start; i < start + n; i++)
	{
		int64_t		a = offs[c->offset + i],
					b = offs[c->offset + i + 1];

		if (!LanceColumnIsValid(c, i) || a == b)
			continue;
		if (a != run_b)
		{
			if (run_b > run_a && (rc = append_rows(w, items, c->child, run_a, run_b - run_a, error)) != 0)
				return rc;
			run_a = a;
		}
		run_b = b;
	}
	if (run_b > run_a)
		return append_rows(w, items, c->child, run_a, run_b - run_a, error);
	return 0;
}

/*
 * Append rows [start, start+n) of 'c' to column 'col' in slices, so a page
 * never grows far past page_bytes, writing each page as it fills.
 */
static int
append_rows(LanceFileWriter *w, ColumnState *col, const LanceColumn *c, int64_t start,
			int64_t n, LanceError *error)
{
	int64_t		end = start + n;
	int			rc;

	while (start < end)
	{
		size_t		room = w->page_bytes > pv_bytes(&col->pv) ?
			w->page_bytes - pv_bytes(&col->pv) : 0;
		int64_t		k = (int64_t) (room / pv_row_bytes(&col->pv));

		if (k < 1)
			k = 1;
		if (k > end - start)
			k = end - start;
		if ((rc = pv_append(&col->pv, c, start, k)) != 0)
			return LanceErrorSet(error, rc, "column \"%s\": %s", col->field->name,
								 rc == ENOMEM ? "out of memory" : "malformed offsets");
		if (col->items != NULL && (rc = append_list_items(w, col->items, c, start, k, error)) != 0)
			return rc;
		start += k;
		if (pv_bytes(&col->pv) >= w->page_bytes && (rc = flush_column(w, col, false, error)) != 0)
			return rc;
	}
	return 0;
}

int
LanceFileWriterWrite(LanceFileWriter *w, const LanceColumn *columns, int32_t num_columns,
					 LanceError *error)
{
	int64_t		length;
	int			rc;

	if (w->finished || w->broken)
		return LanceErrorSet(error, EINVAL, "the writer is %s", w->finished ? "finished" : "broken");
	if (num_columns != w->num_inputs)
		return LanceErrorSet(error, EINVAL, "expected %d columns but found %d",
							 w->num_inputs, num_columns);
	if (num_columns == 0)
		return 0;
	length = columns[0].length;
	for (int32_t i = 0; i < w->num_columns; i++)
	{
		const LanceField *f = w->columns[i].field;
		const LanceColumn *c = &columns[w->columns[i].input];

		if (f->parent_id != -1)
			continue;			/* a 2.0 list's items: checked with the list */
		if (c->length != length || c->length < 0 || c->offset < 0)
			return LanceErrorSet(error, EINVAL, "column \"%s\": expected %lld rows but found %lld",
								 f->name, (long long) length, (long long) c->length);
		if (!column_type_matches(f, c))
			return LanceErrorSet(error, EINVAL, "column \"%s\": the data does not match the field type",
								 f->name);
		if (!f->nullable && c->validity != NULL)
			for (int64_t r = 0; r < c->length; r++)
				if (!LanceColumnIsValid(c, r))
					return LanceErrorSet(error, EINVAL,
										 "column \"%s\" is not nullable but row %lld is null",
										 f->name, (long long) r);
	}
	for (int32_t i = 0; i < w->num_columns; i++)
	{
		ColumnState *col = &w->columns[i];

		if (col->field->parent_id == -1 &&
			(rc = append_rows(w, col, &columns[col->input], 0, length, error)) != 0)
			return rc;
	}
	w->num_rows += (uint64_t) length;
	return 0;
}

int
LanceFileWriterAddGlobalBuffer(LanceFileWriter *w, const void *data, size_t length,
							   uint32_t *index, LanceError *error)
{
	uint64_t	entry[2];
	int			rc;

	if (w->finished || w->broken)
		return LanceErrorSet(error, EINVAL, "the writer is finished or broken");
	if ((rc = emit_buffer(w, data, length, &entry[0], error)) != 0)
		return rc;
	entry[1] = length;
	if ((rc = LanceBufAppend(&w->global_buffers, entry, sizeof(entry))) != 0)
		return LanceErrorSet(error, rc, "out of memory");
	if (index != NULL)
		*index = (uint32_t) (w->global_buffers.len / sizeof(entry));
	return 0;
}

int
LanceFileWriterAddMetadata(LanceFileWriter *w, const char *key, const char *value,
						   LanceError *error)
{
	if (w->finished)
		return LanceErrorSet(error, EINVAL, "the writer is finished");
	return LanceSchemaAddMetadata(&w->schema, key, value, strlen(value), error);
}

/* Pack a ColumnMetadata for 'col' into 'out'. */
static int
pack_column_metadata(LanceFileWriter *w, ColumnState *col, LanceBuf *out, LanceError *error)
{
	static const uint8_t column_encoding[] = {0x0a, 0x00};	/* ColumnEncoding{values: Empty} */
	Lance__Wire__Any any = LANCE__WIRE__ANY__INIT;
	uint8_t		any_bytes[64];
	Lance__File__V2__DirectEncoding col_direct = LANCE__FILE__V2__DIRECT_ENCODING__INIT;
	Lance__File__V2__Encoding col_enc = LANCE__FILE__V2__ENCODING__INIT;
	Lance__File__V2__ColumnMetadata meta = LANCE__FILE__V2__COLUMN_METADATA__INIT;
	size_t		npages = col->pages.len / sizeof(PageRec);
	PageRec    *recs = (PageRec *) col->pages.data;
	Lance__File__V2__ColumnMetadata__Page *pages = NULL;
	Lance__File__V2__ColumnMetadata__Page **page_ptrs = NULL;
	Lance__File__V2__DirectEncoding *directs = NULL;
	Lance__File__V2__Encoding *encs = NULL;
	size_t		len;
	int			rc = 0;

	any.type_url = LANCE_URL_COLUMN_ENCODING;
	any.value.data = (uint8_t *) column_encoding;
	any.value.len = sizeof(column_encoding);
	col_direct.encoding.len = lance__wire__any__pack(&any, any_bytes);
	col_direct.encoding.data = any_bytes;
	col_enc.location_case = LANCE__FILE__V2__ENCODING__LOCATION_DIRECT;
	col_enc.direct = &col_direct;
	meta.encoding = &col_enc;
	if (npages > 0)
	{
		pages = LanceAlloc(w->allocator, npages * sizeof(*pages));
		page_ptrs = LanceAlloc(w->allocator, npages * sizeof(*page_ptrs));
		directs = LanceAlloc(w->allocator, npages * sizeof(*directs));
		encs = LanceAlloc(w->allocator, npages * sizeof(*encs));
		if (!pages || !page_ptrs || !directs || !encs)
		{
			rc = LanceErrorSet(error, ENOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t p = 0; p < npages; p++)
	{
		lance__file__v2__column_metadata__page__init(&pages[p]);
		lance__file__v2__direct_encoding__init(&directs[p]);
		lance__file__v2__encoding__init(&encs[p]);
		directs[p].encoding.data = recs[p].encoding;
		directs[p].encoding.len = recs[p].encoding_len;
		encs[p].location_case = LANCE__FILE__V2__ENCODING__LOCATION_DIRECT;
		encs[p].direct = &directs[p];
		pages[p].n_buffer_offsets = (size_t) recs[p].num_buffers;
		pages[p].buffer_offsets = recs[p].offsets;
		pages[p].n_buffer_sizes = (size_t) recs[p].num_buffers;
		pages[p].buffer_sizes = recs[p].sizes;
		pages[p].length = recs[p].length;
		pages[p].encoding = &encs[p];
		pages[p].priority = recs[p].priority;
		page_ptrs[p] = &pages[p];
	}
	meta.n_pages = npages;
	meta.pages = page_ptrs;
	len = lance__file__v2__column_metadata__get_packed_size(&meta);
	out->len = 0;
	if ((rc = LanceBufReserve(out, len)) != 0)
		rc = LanceErrorSet(error, rc, "out of memory");
	else
		out->len = lance__file__v2__column_metadata__pack(&meta, out->data);
done:
	LanceFree(w->allocator, pages, npages * sizeof(*pages));
	LanceFree(w->allocator, page_ptrs, npages * sizeof(*page_ptrs));
	LanceFree(w->allocator, directs, npages * sizeof(*directs));
	LanceFree(w->allocator, encs, npages * sizeof(*encs));
	return rc;
}

int
LanceFileWriterFinish(LanceFileWriter *w, uint64_t *file_size, LanceError *error)
{
	Lance__File__Schema *schema_proto = NULL;
	Lance__File__FileDescriptor fd = LANCE__FILE__FILE_DESCRIPTOR__INIT;
	LanceBuf	buf;
	LanceBuf	cmo;
	uint64_t	fd_pos = 0,
				fd_len,
				meta_start,
				cmo_pos,
				gbo_pos;
	uint32_t	num_global;
	uint8_t		footer[LANCE_FOOTER_SIZE];
	int			rc;

	if (w->finished || w->broken)
		return LanceErrorSet(error, EINVAL, "the writer is finished or broken");
	/*
	 * A 2.0 list column without a single item still gets one (empty) item
	 * page, as lance writes it.
	 */
	for (int32_t i = 0; i < w->num_columns; i++)
		if ((rc = flush_column(w, &w->columns[i],
							   w->columns[i].field->parent_id != -1 && w->columns[i].pages.len == 0,
							   error)) != 0)
			return rc;

	LanceBufInit(&buf, w->allocator);
	LanceBufInit(&cmo, w->allocator);
	if ((rc = LanceSchemaToProto(&w->schema, &schema_proto, error)) != 0)
		return rc;
	fd.schema = schema_proto;
	fd.length = w->num_rows;
	fd_len = lance__file__file_descriptor__get_packed_size(&fd);
	rc = LanceBufReserve(&buf, fd_len);
	if (rc == 0)
	{
		buf.len = lance__file__file_descriptor__pack(&fd, buf.data);
		fd_pos = w->position;	/* 64-aligned: everything before is padded */
		rc = emit(w, buf.data, buf.len, error);
	}
	else
		rc = LanceErrorSet(error, rc, "out of memory");
	LanceSchemaProtoFree(schema_proto);

	meta_start = w->position;
	for (int32_t i = 0; rc == 0 && i < w->num_columns; i++)
	{
		uint64_t	entry[2];

		rc = pack_column_metadata(w, &w->columns[i], &buf, error);
		entry[0] = w->position;
		entry[1] = buf.len;
		if (rc == 0)
			rc = emit(w, buf.data, buf.len, error);
		if (rc == 0 && (rc = LanceBufAppend(&cmo, entry, sizeof(entry))) != 0)
			rc = LanceErrorSet(error, rc, "out of memory");
	}
	cmo_pos = w->position;
	if (rc == 0)
		rc = emit(w, cmo.data, cmo.len, error);
	gbo_pos = w->position;
	if (rc == 0)
	{
		uint64_t	entry[2] = {fd_pos, fd_len};

		rc = emit(w, entry, sizeof(entry), error);
	}
	if (rc == 0)
		rc = emit(w, w->global_buffers.data, w->global_buffers.len, error);
	num_global = (uint32_t) (1 + w->global_buffers.len / 16);
	LanceStoreU64(footer, meta_start);
	LanceStoreU64(footer + 8, cmo_pos);
	LanceStoreU64(footer + 16, gbo_pos);
	LanceStoreU32(footer + 24, num_global);
	LanceStoreU32(footer + 28, (uint32_t) w->num_columns);
	LanceStoreU16(footer + 32, w->version == LANCE_FILE_VERSION_2_0 ? 0 : 2);
	LanceStoreU16(footer + 34, w->version == LANCE_FILE_VERSION_2_0 ? 3 : 1);
	memcpy(footer + 36, LANCE_MAGIC, 4);
	if (rc == 0)
		rc = emit(w, footer, sizeof(footer), error);
	LanceBufReset(&buf);
	LanceBufReset(&cmo);
	if (rc != 0)
	{
		w->broken = true;
		return rc;
	}
	w->finished = true;
	if (file_size != NULL)
		*file_size = w->position;
	return 0;
}
