/*
 * file_reader.c
 *	  The data file reader: opens a Lance v2 file (footer, offset tables,
 *	  file descriptor, column metadata, page encodings), then serves range
 *	  reads and random access per top-level field through the page decoders
 *	  (decode_v21.c, decode_v20.c).
 *
 * Open validates everything structural once: the footer and version, that
 * the offset tables and every page buffer lie inside the file, that pages
 * cover the file's rows, and that each page encoding is a direct Any of the
 * expected type.  After Open the reader is immutable; reads allocate their
 * own scratch memory, so several threads may read at once.  All memory,
 * protobuf metadata included, comes from the caller's LanceAllocator.
 */
#include "lance/compress.h"
#include "lance/file_internal.h"
#include "lance/schema_proto.h"

#include <stdlib.h>

struct LanceFileReader
{
	LanceFileIo io;
	const LanceAllocator *allocator;
	LancePbAllocator pb;		/* protobuf-c on top of 'allocator' */
	LanceFileVersion version;
	uint64_t	num_rows;
	LanceSchema schema;
	int32_t		num_columns;
	LanceColumnInfo *columns;
	int32_t    *field_column;	/* per schema field: column index or -1 */
	uint32_t	num_global;
	uint64_t   *gbo;			/* (position, length) pairs */
};

/* ---------------------------------------------------------------------------
 * LanceOut and LanceArray
 * ------------------------------------------------------------------------- */

static size_t
out_row_bytes(const LanceOut *out)
{
	return out->bits_per_value == 1 ? 1 : out->bits_per_value / 8;
}

/* Once item validity is tracked, appended rows start with valid items. */
static int
items_valid(LanceOut *out, uint64_t rows)
{
	if (out->item_validity.data == NULL || out->scatter != NULL)
		return 0;
	return LanceBufAppendByte(&out->item_validity, 1, (size_t) (rows * out->list_size));
}

/*
 * Start tracking item validity (all valid so far) if not yet done, and
 * return the first item slot of the 'rows' rows appended last.
 */
static int
item_slots(LanceOut *out, uint64_t rows, uint8_t **slots, LanceError *error)
{
	uint64_t	row;
	int			rc;

	if (out->scatter != NULL ? rows != 1 || out->length == 0 : rows > out->length)
		return LanceErrorSet(error, EINVAL, "item validity for rows not appended");
	if (out->item_validity.data == NULL)
	{
		uint64_t	n = out->scatter != NULL ? out->scatter_len : out->length;

		if ((rc = LanceBufAppendByte(&out->item_validity, 1, (size_t) (n * out->list_size))) != 0)
			return LanceErrorSet(error, rc, "out of memory");
	}
	row = out->scatter != NULL ? out->scatter[out->length - 1] : out->length - rows;
	*slots = out->item_validity.data + row * out->list_size;
	return 0;
}

int
LanceOutItemValidity(LanceOut *out, const uint8_t *bits, uint64_t bit0, uint64_t rows,
					 LanceError *error)
{
	uint64_t	n = rows * out->list_size;
	uint8_t    *slots;
	bool		all = true;
	int			rc;

	if (out->list_size == 0 || bits == NULL || rows == 0)
		return 0;
	for (uint64_t i = 0; all && i < n; i++)
		all = LanceBitGet(bits, bit0 + i);
	if (all)
		return 0;				/* appended rows already count as valid */
	if ((rc = item_slots(out, rows, &slots, error)) != 0)
		return rc;
	for (uint64_t i = 0; i < n; i++)
		slots[i] = LanceBitGet(bits, bit0 + i) ? 1 : 0;
	return 0;
}

int
LanceOutAppendNullItems(LanceOut *out, LanceError *error)
{
	uint8_t    *dest;
	uint8_t    *slots;
	int			rc;

	if (out->list_size == 0 || out->bits_per_value % 8 != 0)
		return LanceErrorSet(error, EINVAL,
							 "a page of null fixed-size-list items in a column that is not a fixed-size list");
	if ((dest = LanceOutReserveFixed(out, 1, error, &rc)) == NULL)
		return rc;
	memset(dest, 0, out_row_bytes(out));
	if ((rc = item_slots(out, 1, &slots, error)) != 0)
		return rc;
	memset(slots, 0, out->list_size);
	return 0;
}

int
LanceOutAppendNull(LanceOut *out, LanceError *error)
{
	int			rc;

	if (out->scatter != NULL)
	{
		uint64_t	pos;

		if (out->length >= out->scatter_len)
			return LanceErrorSet(error, EINVAL, "a page gave more rows than requested");
		pos = out->scatter[out->length++];
		out->validity.data[pos] = 0;
		memset(out->values.data + pos * out_row_bytes(out), 0, out_row_bytes(out));
		out->null_count++;
		return 0;
	}
	rc = LanceBufAppendByte(&out->validity, 0, 1);

	if (rc == 0 && out->bits_per_value != 0)
		rc = LanceBufAppendByte(&out->values, 0, out_row_bytes(out));
	if (rc == 0 && out->bits_per_value == 0)
	{
		uint64_t	end = out->values.len;

		rc = LanceBufAppend(&out->offsets, &end, 8);
	}
	if (rc == 0)
		rc = items_valid(out, 1);
	if (rc != 0)
		return LanceErrorSet(error, rc, "out of memory");
	out->length++;
	out->null_count++;
	return 0;
}

int
LanceOutAppendFixed(LanceOut *out, const uint8_t *value, bool valid, LanceError *error)
{
	int			rc;

	if (out->scatter != NULL)
	{
		uint64_t	pos;

		if (out->length >= out->scatter_len)
			return LanceErrorSet(error, EINVAL, "a page gave more rows than requested");
		pos = out->scatter[out->length++];
		out->validity.data[pos] = valid;
		memcpy(out->values.data + pos * out_row_bytes(out), value, out_row_bytes(out));
		out->null_count += !valid;
		return 0;
	}
	rc = LanceBufAppendByte(&out->validity, valid ? 1 : 0, 1);

	if (rc == 0)
		rc = LanceBufAppend(&out->values, value, out_row_bytes(out));
	if (rc == 0)
		rc = items_valid(out, 1);
	if (rc != 0)
		return LanceErrorSet(error, rc, "out of memory");
	out->length++;
	out->null_count += !valid;
	return 0;
}

int
LanceOutAppendVar(LanceOut *out, const uint8_t *value, uint64_t len, bool valid,
				  LanceError *error)
{
	uint64_t	end;
	int			rc = LanceBufAppendByte(&out->validity, valid ? 1 : 0, 1);

	if (rc == 0 && len > 0)
		rc = LanceBufAppend(&out->values, value, (size_t) len);
	end = out->values.len;
	if (rc == 0)
		rc = LanceBufAppend(&out->offsets, &end, 8);
	if (rc != 0)
		return LanceErrorSet(error, rc, "out of memory");
	out->length++;
	out->null_count += !valid;
	return 0;
}

uint8_t *
LanceOutReserveFixed(LanceOut *out, uint64_t rows, LanceError *error, int *rc)
{
	size_t		bytes = (size_t) rows * out_row_bytes(out);
	uint8_t    *p;

	if (out->scatter != NULL)
	{
		uint64_t	pos;

		if (rows != 1 || out->length >= out->scatter_len)
		{
			*rc = LanceErrorSet(error, EINVAL, "a page gave more rows than requested");
			return NULL;
		}
		pos = out->scatter[out->length];
		*rc = 0;
		out->length += rows;	/* callers pass 1 when scattering */
		out->validity.data[pos] = 1;
		return out->values.data + pos * out_row_bytes(out);
	}
	*rc = LanceBufAppendByte(&out->validity, 1, (size_t) rows);
	if (*rc == 0)
		*rc = LanceBufReserve(&out->values, bytes);
	if (*rc == 0)
		*rc = items_valid(out, rows);
	if (*rc != 0)
	{
		LanceErrorSet(error, *rc, "out of memory");
		return NULL;
	}
	p = out->values.data + out->values.len;
	out->values.len += bytes;
	out->length += rows;
	return p;
}

static void
out_init(LanceOut *out, const LanceField *f, const LanceAllocator *a)
{
	memset(out, 0, sizeof(*out));
	out->type = f->type;
	if (f->type == LANCE_TYPE_BOOL)
		out->bits_per_value = 1;
	else if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
	{
		out->bits_per_value = (uint32_t) (LanceTypeByteWidth(f->item_type) * 8 * (size_t) f->list_size);
		out->list_size = (uint32_t) f->list_size;
	}
	else
		out->bits_per_value = (uint32_t) (LanceTypeByteWidth(f->type) * 8);
	LanceBufInit(&out->validity, a);
	LanceBufInit(&out->values, a);
	LanceBufInit(&out->offsets, a);
	LanceBufInit(&out->item_validity, a);
}

static void
out_reset(LanceOut *out)
{
	LanceBufReset(&out->item_validity);
	LanceBufReset(&out->validity);
	LanceBufReset(&out->values);
	LanceBufReset(&out->offsets);
}

void
LanceArrayInit(LanceArray *array, const LanceAllocator *allocator)
{
	memset(array, 0, sizeof(*array));
	array->allocator = allocator;
}

void
LanceArrayReset(LanceArray *array)
{
	for (int i = 0; i < 4; i++)
		LanceFree(array->allocator, array->buffers[i], array->sizes[i]);
	LanceArrayInit(array, array->allocator);
}

const void *
LanceArrayListItems(const LanceArray *array)
{
	return (const uint8_t *) array->child.values +
		(size_t) (array->child.offset + array->column.offset * array->column.list_size) *
		LanceTypeByteWidth(array->child.type);
}

/* Move a LanceBuf's memory into slot i of 'arr'. */
static void
adopt(LanceArray *arr, int i, LanceBuf *buf)
{
	arr->buffers[i] = buf->data;
	arr->sizes[i] = buf->cap;
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/* A fixed-size list's item validity bitmap (spare slot 3) and null count. */
static int
item_bitmap(const LanceOut *out, const uint64_t *perm, LanceArray *arr, LanceError *error)
{
	uint64_t	n = out->length,
				ls = out->list_size,
				nulls = 0;
	size_t		bytes = (size_t) ((n * ls + 7) / 8 + 1);
	uint8_t    *bits;

	if (out->item_validity.len < n * ls)
		return LanceErrorSet(error, EINVAL, "item validity for %zu of %llu items",
							 out->item_validity.len, (unsigned long long) (n * ls));
	bits = LanceAllocZero(arr->allocator, bytes);
	if (bits == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	for (uint64_t s = 0; s < n; s++)
	{
		uint64_t	d = (perm ? perm[s] : s) * ls;

		for (uint64_t j = 0; j < ls; j++)
		{
			if (out->item_validity.data[s * ls + j])
				LanceBitSet(bits, d + j, true);
			else
				nulls++;
		}
	}
	if (nulls == 0)
	{
		LanceFree(arr->allocator, bits, bytes);
		return 0;
	}
	arr->buffers[3] = bits;
	arr->sizes[3] = bytes;
	arr->child.validity = bits;
	arr->child.null_count = (int64_t) nulls;
	return 0;
}

/*
 * Turn 'out' (rows in request order 0..n-1) into 'arr'.  With 'perm',
 * result row perm[s] takes out row s (random access with unsorted input).
 */
static int
out_to_array(LanceOut *out, const LanceField *f, const uint64_t *perm, LanceArray *arr,
			 LanceError *error)
{
	const LanceAllocator *a = arr->allocator;
	uint64_t	n = out->length;
	size_t		rb = out_row_bytes(out);
	LanceBuf	validity,
				values,
				offsets;
	int			rc = 0;

	LanceBufInit(&validity, a);
	LanceBufInit(&values, a);
	LanceBufInit(&offsets, a);
	arr->column.type = f->type;
	arr->column.length = (int64_t) n;
	arr->column.null_count = (int64_t) out->null_count;

	if (out->null_count > 0)
	{
		rc = LanceBufAppendByte(&validity, 0, (size_t) (n + 7) / 8 + 1);
		for (uint64_t s = 0; rc == 0 && s < n; s++)
			if (out->validity.data[s])
				LanceBitSet(validity.data, perm ? perm[s] : s, true);
	}
	if (rc == 0 && out->bits_per_value == 1)
	{
		rc = LanceBufAppendByte(&values, 0, (size_t) (n + 7) / 8 + 1);
		for (uint64_t s = 0; rc == 0 && s < n; s++)
			if (out->values.data[s])
				LanceBitSet(values.data, perm ? perm[s] : s, true);
	}
	else if (rc == 0 && out->bits_per_value != 0)
	{
		if (perm == NULL)
			adopt(arr, 2, &out->values);
		else if ((rc = LanceBufReserve(&values, (size_t) n * rb + 1)) == 0)
		{
			for (uint64_t s = 0; s < n; s++)
				memcpy(values.data + perm[s] * rb, out->values.data + s * rb, rb);
			values.len = (size_t) n * rb;
		}
	}
	else if (rc == 0)
	{
		bool		large = f->type == LANCE_TYPE_LARGE_UTF8 || f->type == LANCE_TYPE_LARGE_BINARY;
		size_t		ow = large ? 8 : 4;
		const uint64_t *src = (const uint64_t *) out->offsets.data;
		uint64_t   *pos = NULL;

		if (out->values.len > (large ? (uint64_t) INT64_MAX : (uint64_t) INT32_MAX))
			rc = LanceErrorSet(error, EOVERFLOW, "%zu bytes do not fit 32-bit offsets", out->values.len);
		if (rc == 0)
			rc = LanceBufReserve(&offsets, (size_t) (n + 1) * ow);
		if (rc == 0 && perm != NULL)
		{
			/* where each result row's bytes come from, then gather */
			pos = LanceAlloc(a, (size_t) (n + 1) * sizeof(uint64_t));
			if (pos == NULL || (rc = LanceBufReserve(&values, out->values.len + 1)) != 0)
				rc = ENOMEM;
			for (uint64_t s = 0; rc == 0 && s < n; s++)
				pos[perm[s]] = s;
		}
		if (rc == 0)
		{
			uint64_t	acc = 0;

			for (uint64_t i = 0; i <= n; i++)
			{
				if (large)
					LanceStoreU64(offsets.data + i * 8, perm ? acc : src[i]);
				else
					LanceStoreU32(offsets.data + i * 4, (uint32_t) (perm ? acc : src[i]));
				if (perm && i < n)
				{
					uint64_t	s = pos[i];
					uint64_t	len = src[s + 1] - src[s];

					memcpy(values.data + acc, out->values.data + src[s], (size_t) len);
					acc += len;
				}
			}
			offsets.len = (size_t) (n + 1) * ow;
			if (perm == NULL)
				adopt(arr, 2, &out->values);
		}
		LanceFree(a, pos, (size_t) (n + 1) * sizeof(uint64_t));
	}
	if (rc != 0)
	{
		LanceBufReset(&validity);
		LanceBufReset(&values);
		LanceBufReset(&offsets);
		return LanceErrorSet(error, rc, "out of memory");
	}
	if (validity.data != NULL)
		adopt(arr, 0, &validity);
	if (offsets.data != NULL)
		adopt(arr, 1, &offsets);
	if (values.data != NULL)
		adopt(arr, 2, &values);
	arr->column.validity = arr->buffers[0];
	arr->column.offsets = arr->buffers[1];
	if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
	{
		arr->child.type = f->item_type;
		arr->child.length = (int64_t) n * f->list_size;
		arr->child.values = arr->buffers[2];
		arr->column.child = &arr->child;
		arr->column.list_size = f->list_size;
		if (out->item_validity.data != NULL)
			return item_bitmap(out, perm, arr, error);
	}
	else
		arr->column.values = arr->buffers[2];
	return 0;
}

/* ---------------------------------------------------------------------------
 * Open
 * ------------------------------------------------------------------------- */

static void
free_columns(LanceFileReader *r)
{
	for (int32_t c = 0; c < r->num_columns && r->columns; c++)
	{
		LanceColumnInfo *ci = &r->columns[c];

		for (size_t p = 0; p < ci->num_pages && ci->pages; p++)
		{
			LanceChunkMapFree(r->allocator, ci->pages[p].chunk_map);
			if (ci->pages[p].layout)
				lance__encodings21__page_layout__free_unpacked(ci->pages[p].layout, &r->pb.pb);
			if (ci->pages[p].array)
				lance__encodings__array_encoding__free_unpacked(ci->pages[p].array, &r->pb.pb);
		}
		LanceFree(r->allocator, ci->pages, sizeof(LancePageInfo) * (ci->num_pages + 1));
		if (ci->meta)
			lance__file__v2__column_metadata__free_unpacked(ci->meta, &r->pb.pb);
	}
	LanceFree(r->allocator, r->columns, sizeof(LanceColumnInfo) * ((size_t) r->num_columns + 1));
	r->columns = NULL;
}

void
LanceFileReaderClose(LanceFileReader *r)
{
	if (r == NULL)
		return;
	free_columns(r);
	LanceFree(r->allocator, r->field_column, sizeof(int32_t) * (size_t) (r->schema.num_fields + 1));
	LanceFree(r->allocator, r->gbo, sizeof(uint64_t) * 2 * r->num_global);
	LanceSchemaReset(&r->schema);
	LanceFree(r->allocator, r, sizeof(*r));
}

/* Unpack a page's Any into the layout (2.1) or array encoding (2.0). */
static int
unpack_page_encoding(LanceFileReader *r, const Lance__File__V2__Encoding *enc,
					 LancePageInfo *page, LanceError *error)
{
	Lance__Wire__Any *any;
	const char *want = r->version == LANCE_FILE_VERSION_2_0 ?
		LANCE_URL_ARRAY_ENCODING : LANCE_URL_PAGE_LAYOUT;
	const char *name;
	int			rc = 0;

	if (enc == NULL || enc->location_case == LANCE__FILE__V2__ENCODING__LOCATION__NOT_SET)
		return LanceErrorSet(error, EINVAL, "a page has no encoding");
	if (enc->location_case != LANCE__FILE__V2__ENCODING__LOCATION_DIRECT)
		return LanceErrorSet(error, ENOTSUP, "%s page encodings are not supported",
							 enc->location_case == LANCE__FILE__V2__ENCODING__LOCATION_INDIRECT ?
							 "deferred (indirect)" : "empty (none)");
	any = lance__wire__any__unpack(&r->pb.pb, enc->direct->encoding.len, enc->direct->encoding.data);
	if (any == NULL)
		return LancePbUnpackError(&r->pb, error, "a page encoding",
								  "a page encoding is not a valid Any message");
	/* prost matches the part after the last '/' */
	name = any->type_url ? strrchr(any->type_url, '/') : NULL;
	name = name ? name : any->type_url ? any->type_url : "";
	if (strcmp(name, want) != 0 && strcmp(name, want + 1) != 0)
		rc = LanceErrorSet(error, ENOTSUP, "expected page encoding %s but found \"%.80s\"",
						   want + 1, any->type_url ? any->type_url : "");
	else if (r->version == LANCE_FILE_VERSION_2_0)
	{
		page->array = lance__encodings__array_encoding__unpack(&r->pb.pb, any->value.len, any->value.data);
		if (page->array == NULL)
			rc = LancePbUnpackError(&r->pb, error, "a 2.0 page encoding",
									"a 2.0 page encoding does not decode");
	}
	else
	{
		page->layout = lance__encodings21__page_layout__unpack(&r->pb.pb, any->value.len, any->value.data);
		if (page->layout == NULL)
			rc = LancePbUnpackError(&r->pb, error, "a 2.1 page layout",
									"a 2.1 page layout does not decode");
	}
	lance__wire__any__free_unpacked(any, &r->pb.pb);
	return rc;
}

static int
load_column(LanceFileReader *r, int32_t c, const uint8_t *bytes, uint64_t len,
			LanceError *error)
{
	LanceColumnInfo *ci = &r->columns[c];
	Lance__File__V2__ColumnMetadata *m;
	uint64_t	rows = 0;
	int			rc;

	m = ci->meta = lance__file__v2__column_metadata__unpack(&r->pb.pb, (size_t) len, bytes);
	if (m == NULL)
		return LancePbUnpackError(&r->pb, error, "column metadata",
								  "column %d: metadata does not decode", c);
	ci->pages = LanceAllocZero(r->allocator, sizeof(LancePageInfo) * (m->n_pages + 1));
	if (ci->pages == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	ci->num_pages = m->n_pages;
	for (size_t p = 0; p < m->n_pages; p++)
	{
		const Lance__File__V2__ColumnMetadata__Page *pg = m->pages[p];
		LancePageInfo *pi = &ci->pages[p];

		if (pg->n_buffer_offsets != pg->n_buffer_sizes)
			return LanceErrorSet(error, EINVAL, "column %d page %zu: %zu buffer offsets but %zu sizes",
								 c, p, pg->n_buffer_offsets, pg->n_buffer_sizes);
		for (size_t b = 0; b < pg->n_buffer_offsets; b++)
			if (!LanceRangeOk(pg->buffer_offsets[b], pg->buffer_sizes[b], r->io.size))
				return LanceErrorSet(error, EINVAL,
									 "column %d page %zu: expected buffer %zu inside the file but it spans %llu..+%llu",
									 c, p, b, (unsigned long long) pg->buffer_offsets[b],
									 (unsigned long long) pg->buffer_sizes[b]);
		/* a page may hold no rows: LanceDB writes one as the item column of a
		 * 2.0 list column without items; every read skips it */
		pi->first_row = rows;
		pi->num_rows = pg->length;
		pi->num_buffers = pg->n_buffer_offsets;
		pi->buffer_offsets = pg->buffer_offsets;
		pi->buffer_sizes = pg->buffer_sizes;
		pi->cached = true;
		pi->cache_allocator = r->allocator;
		if (!LanceAddU64(rows, pg->length, &rows))
			return LanceErrorSet(error, EINVAL, "column %d: page lengths overflow", c);
		if ((rc = unpack_page_encoding(r, pg->encoding, pi, error)) != 0)
			return rc;
	}
	return 0;
}

int
LanceFileReaderOpen(LanceFileReader **reader, const LanceFileIo *io,
					const LanceAllocator *allocator, LanceError *error)
{
	LanceFileReader *r;
	uint8_t		footer[LANCE_FOOTER_SIZE];
	uint8_t    *table = NULL;
	uint8_t    *bytes = NULL;
	uint64_t	gbo_pos,
				cmo_start,
				table_len = 0,
				lo,
				hi,
				bytes_len = 0;
	uint32_t	ngb,
				ncols;
	uint16_t	major,
				minor;
	Lance__File__FileDescriptor *fd = NULL;
	int			rc;

	*reader = NULL;
	if (io->size < LANCE_FOOTER_SIZE)
		return LanceErrorSet(error, EINVAL, "expected at least %d bytes for a Lance footer but the file has %llu",
							 LANCE_FOOTER_SIZE, (unsigned long long) io->size);
	if ((rc = io->read(io->ctx, io->size - LANCE_FOOTER_SIZE, LANCE_FOOTER_SIZE, footer)) != 0)
		return LanceErrorSet(error, rc, "cannot read the footer: %s", strerror(rc));
	if (memcmp(footer + 36, LANCE_MAGIC, 4) != 0)
		return LanceErrorSet(error, EINVAL, "expected the magic \"LANC\" at the end of the file but found %02x%02x%02x%02x",
							 footer[36], footer[37], footer[38], footer[39]);
	major = LanceLoadU16(footer + 32);
	minor = LanceLoadU16(footer + 34);
	r = LanceAllocZero(allocator, sizeof(*r));
	if (r == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	r->io = *io;
	r->allocator = allocator;
	LancePbAllocatorInit(&r->pb, allocator);
	LanceSchemaInit(&r->schema, allocator);
	if ((major == 0 && minor == 3) || (major == 2 && minor == 0))
		r->version = LANCE_FILE_VERSION_2_0;
	else if (major == 2 && minor == 1)
		r->version = LANCE_FILE_VERSION_2_1;
	else
	{
		rc = major == 0 && minor <= 2 ?
			LanceErrorSet(error, ENOTSUP, "legacy Lance file version 0.%u (v1 format) is not supported", minor) :
			LanceErrorSet(error, ENOTSUP, "Lance file version %u.%u is not supported", major, minor);
		goto fail;
	}
	gbo_pos = LanceLoadU64(footer + 16);
	ngb = LanceLoadU32(footer + 24);
	ncols = LanceLoadU32(footer + 28);
	if (ngb == 0 || ngb > (1u << 20) || ncols > (1u << 20))
	{
		rc = LanceErrorSet(error, EINVAL, "footer claims %u global buffers and %u columns", ngb, ncols);
		goto fail;
	}
	/* The CMO table is the 16*ncols bytes right before the GBO table. */
	table_len = 16ull * (ncols + ngb);
	if (gbo_pos < 16ull * ncols || !LanceRangeOk(gbo_pos, 16ull * ngb, io->size - LANCE_FOOTER_SIZE))
	{
		rc = LanceErrorSet(error, EINVAL, "offset tables at %llu do not fit the file of %llu bytes",
						   (unsigned long long) gbo_pos, (unsigned long long) io->size);
		goto fail;
	}
	cmo_start = gbo_pos - 16ull * ncols;
	if ((rc = LanceReadBytes(io, cmo_start, table_len, allocator, &table, error)) != 0)
		goto fail;
	r->num_global = ngb;
	r->gbo = LanceAlloc(allocator, sizeof(uint64_t) * 2 * ngb);
	if (r->gbo == NULL)
	{
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
		goto fail;
	}
	for (uint32_t g = 0; g < ngb; g++)
	{
		r->gbo[2 * g] = LanceLoadU64(table + 16ull * (ncols + g));
		r->gbo[2 * g + 1] = LanceLoadU64(table + 16ull * (ncols + g) + 8);
		if (!LanceRangeOk(r->gbo[2 * g], r->gbo[2 * g + 1], io->size))
		{
			rc = LanceErrorSet(error, EINVAL, "global buffer %u (%llu..+%llu) is outside the file",
							   g, (unsigned long long) r->gbo[2 * g], (unsigned long long) r->gbo[2 * g + 1]);
			goto fail;
		}
	}

	/* One read covering the file descriptor and every column's metadata. */
	lo = r->gbo[0];
	hi = r->gbo[0] + r->gbo[1];
	for (uint32_t c = 0; c < ncols; c++)
	{
		uint64_t	pos = LanceLoadU64(table + 16ull * c);
		uint64_t	len = LanceLoadU64(table + 16ull * c + 8);

		if (!LanceRangeOk(pos, len, io->size))
		{
			rc = LanceErrorSet(error, EINVAL, "column %u metadata (%llu..+%llu) is outside the file",
							   c, (unsigned long long) pos, (unsigned long long) len);
			goto fail;
		}
		lo = pos < lo ? pos : lo;
		hi = pos + len > hi ? pos + len : hi;
	}
	bytes_len = hi - lo;
	if ((rc = LanceReadBytes(io, lo, bytes_len, allocator, &bytes, error)) != 0)
		goto fail;
	fd = lance__file__file_descriptor__unpack(&r->pb.pb, (size_t) r->gbo[1], bytes + (r->gbo[0] - lo));
	if (fd == NULL)
	{
		rc = LancePbUnpackError(&r->pb, error, "the file descriptor",
								"the file descriptor (global buffer 0) does not decode");
		goto fail;
	}
	if (fd->schema == NULL)
	{
		rc = LanceErrorSet(error, EINVAL, "the file descriptor has no schema");
		goto fail;
	}
	if ((rc = LanceSchemaFromProto(&r->schema, fd->schema, error)) != 0)
		goto fail;
	r->num_rows = fd->length;

	r->columns = LanceAllocZero(allocator, sizeof(LanceColumnInfo) * (ncols + 1));
	if (r->columns == NULL)
	{
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
		goto fail;
	}
	r->num_columns = (int32_t) ncols;
	for (uint32_t c = 0; c < ncols; c++)
	{
		uint64_t	pos = LanceLoadU64(table + 16ull * c);
		uint64_t	len = LanceLoadU64(table + 16ull * c + 8);

		if ((rc = load_column(r, (int32_t) c, bytes + (pos - lo), len, error)) != 0)
			goto fail;
	}

	/* Fields to columns: 2.1 gives leaves a column, 2.0 every field. */
	r->field_column = LanceAlloc(allocator, sizeof(int32_t) * (size_t) (r->schema.num_fields + 1));
	if (r->field_column == NULL)
	{
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
		goto fail;
	}
	{
		int32_t		next = 0;

		for (int32_t i = 0; i < r->schema.num_fields; i++)
		{
			LanceTypeId t = r->schema.fields[i].type;
			bool		has = r->version == LANCE_FILE_VERSION_2_0 ||
				(t != LANCE_TYPE_LIST && t != LANCE_TYPE_STRUCT);

			r->field_column[i] = has ? next++ : -1;
		}
		if (next > r->num_columns)
		{
			rc = LanceErrorSet(error, EINVAL, "the schema needs %d columns but the file has %d",
							   next, r->num_columns);
			goto fail;
		}
	}
	/* Every top-level leaf column must cover exactly the file's rows. */
	for (int32_t i = 0; i < r->schema.num_fields; i++)
	{
		const LanceColumnInfo *ci;
		uint64_t	rows;

		if (r->field_column[i] < 0 || r->schema.fields[i].parent_id != -1)
			continue;
		ci = &r->columns[r->field_column[i]];
		rows = ci->num_pages ? ci->pages[ci->num_pages - 1].first_row +
			ci->pages[ci->num_pages - 1].num_rows : 0;
		if (rows != r->num_rows)
		{
			rc = LanceErrorSet(error, EINVAL, "column of field \"%s\" has %llu rows but the file has %llu",
							   r->schema.fields[i].name, (unsigned long long) rows,
							   (unsigned long long) r->num_rows);
			goto fail;
		}
	}
	lance__file__file_descriptor__free_unpacked(fd, &r->pb.pb);
	LanceFree(allocator, table, (size_t) table_len);
	LanceFree(allocator, bytes, (size_t) bytes_len);
	*reader = r;
	return 0;

fail:
	if (fd)
		lance__file__file_descriptor__free_unpacked(fd, &r->pb.pb);
	LanceFree(allocator, table, (size_t) table_len);
	LanceFree(allocator, bytes, (size_t) bytes_len);
	LanceFileReaderClose(r);
	return rc;
}

const LanceSchema *
LanceFileReaderSchema(const LanceFileReader *r)
{
	return &r->schema;
}

uint64_t
LanceFileReaderNumRows(const LanceFileReader *r)
{
	return r->num_rows;
}

LanceFileVersion
LanceFileReaderVersion(const LanceFileReader *r)
{
	return r->version;
}

int32_t
LanceFileReaderNumColumns(const LanceFileReader *r)
{
	return r->num_columns;
}

uint32_t
LanceFileReaderNumGlobalBuffers(const LanceFileReader *r)
{
	return r->num_global;
}

int
LanceFileReaderReadGlobalBuffer(const LanceFileReader *r, uint32_t index, LanceArray *out,
								LanceError *error)
{
	uint8_t    *p;
	int			rc;

	if (index >= r->num_global)
		return LanceErrorSet(error, ENOENT, "global buffer %u does not exist (the file has %u)",
							 index, r->num_global);
	rc = LanceReadBytes(&r->io, r->gbo[2 * index], r->gbo[2 * index + 1], out->allocator, &p, error);
	if (rc != 0)
		return rc;
	out->buffers[2] = p;
	out->sizes[2] = (size_t) r->gbo[2 * index + 1];
	out->column.type = LANCE_TYPE_BINARY;
	out->column.values = p;
	out->column.length = (int64_t) r->gbo[2 * index + 1];
	return 0;
}

/* ---------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

static int
check_field(const LanceFileReader *r, int32_t field, const LanceColumnInfo **ci,
			LanceError *error)
{
	const LanceField *f;

	if (field < 0 || field >= r->schema.num_fields)
		return LanceErrorSet(error, ENOENT, "field %d does not exist", field);
	f = &r->schema.fields[field];
	if (f->parent_id != -1)
		return LanceErrorSet(error, EINVAL, "field \"%s\" is not a top-level field", f->name);
	if (f->type == LANCE_TYPE_LIST &&
		field + 1 < r->schema.num_fields && r->schema.fields[field + 1].parent_id == f->id &&
		(LanceTypeByteWidth(r->schema.fields[field + 1].type) > 0 ||
		 r->schema.fields[field + 1].type == LANCE_TYPE_BOOL) &&
		r->field_column[field + 1] >= 0)
	{
		/* 2.1: the item column (rep/def levels); 2.0: the offsets column */
		if (r->version == LANCE_FILE_VERSION_2_1)
		{
			*ci = &r->columns[r->field_column[field + 1]];
			return 0;
		}
		if (r->field_column[field] >= 0)
		{
			*ci = &r->columns[r->field_column[field]];
			return 0;
		}
	}
	if (f->type == LANCE_TYPE_LIST || f->type == LANCE_TYPE_STRUCT)
		return LanceErrorSet(error, ENOTSUP, "reading nested field \"%s\" is not supported (lists only of fixed-width items)",
							 f->name);
	*ci = &r->columns[r->field_column[field]];
	return 0;
}

/*
 * Lists: rows (validity, item end offsets) and items in request order, with
 * 'perm' (result row perm[s] = request row s) applied by gathering.
 */
static int
list_to_array(LanceOut *rows, LanceOut *items, const LanceField *f, const LanceField *item,
			  const uint64_t *perm, LanceArray *arr, LanceError *error)
{
	const LanceAllocator *a = arr->allocator;
	uint64_t	n = rows->length;
	const uint64_t *ends = (const uint64_t *) rows->offsets.data;	/* n + 1, from 0 */
	LanceBuf	offsets;
	LanceBuf	validity;
	LanceArray	child;
	LanceOut	gathered;
	uint64_t   *pos = NULL;
	size_t		rb = items->bits_per_value == 1 ? 1 : items->bits_per_value / 8;
	int			rc = 0;

	LanceBufInit(&offsets, a);
	LanceBufInit(&validity, a);
	LanceArrayInit(&child, a);
	memset(&gathered, 0, sizeof(gathered));
	gathered.type = items->type;
	gathered.bits_per_value = items->bits_per_value;
	LanceBufInit(&gathered.validity, a);
	LanceBufInit(&gathered.values, a);
	LanceBufInit(&gathered.offsets, a);
	if (items->length > INT32_MAX)
		return LanceErrorSet(error, EOVERFLOW, "%llu list items do not fit 32-bit offsets",
							 (unsigned long long) items->length);
	if (perm != NULL)
	{
		pos = LanceAlloc(a, (size_t) (n + 1) * sizeof(uint64_t));
		if (pos == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory");
		for (uint64_t s = 0; s < n; s++)
			pos[perm[s]] = s;
	}
	rc = LanceBufReserve(&offsets, (size_t) (n + 1) * 4);
	if (rc == 0 && rows->null_count > 0)
		rc = LanceBufAppendByte(&validity, 0, (size_t) (n + 7) / 8 + 1);
	if (rc == 0)
	{
		LanceStoreU32(offsets.data, 0);
		offsets.len = 4;
	}
	for (uint64_t i = 0; rc == 0 && i < n; i++)
	{
		uint64_t	s = perm ? pos[i] : i;

		if (rows->null_count > 0 && rows->validity.data[s])
			LanceBitSet(validity.data, i, true);
		if (perm != NULL)
			for (uint64_t t = ends[s]; rc == 0 && t < ends[s + 1]; t++)
				rc = LanceOutAppendFixed(&gathered, items->values.data + t * rb,
										 items->validity.data[t] != 0, error);
		LanceStoreU32(offsets.data + offsets.len,
					  (uint32_t) (perm ? gathered.length : ends[s + 1]));
		offsets.len += 4;
	}
	if (rc == 0)
	{
		LanceField	itemf = *item;

		rc = out_to_array(perm ? &gathered : items, &itemf, NULL, &child, error);
	}
	if (rc == 0)
	{
		arr->column.type = f->type;
		arr->column.length = (int64_t) n;
		arr->column.null_count = (int64_t) rows->null_count;
		if (validity.data != NULL)
			adopt(arr, 0, &validity);
		adopt(arr, 1, &offsets);
		arr->buffers[2] = child.buffers[2];
		arr->sizes[2] = child.sizes[2];
		arr->buffers[3] = child.buffers[0];
		arr->sizes[3] = child.sizes[0];
		child.buffers[2] = child.buffers[0] = NULL;
		arr->child = child.column;
		arr->column.validity = arr->buffers[0];
		arr->column.offsets = arr->buffers[1];
		arr->column.child = &arr->child;
	}
	LanceArrayReset(&child);
	LanceBufReset(&offsets);
	LanceBufReset(&validity);
	out_reset(&gathered);
	LanceFree(a, pos, (size_t) (n + 1) * sizeof(uint64_t));
	if (rc == ENOMEM)
		LanceErrorSet(error, rc, "out of memory");
	return rc;
}

/* Read list rows (range when rows == NULL) of 'field' into 'out'. */
static int
read_list(const LanceFileReader *r, int32_t field, const LanceColumnInfo *ci,
		  uint64_t *sorted, uint64_t first, uint64_t n, const uint64_t *perm,
		  LanceArray *out, LanceError *error)
{
	const LanceField *f = &r->schema.fields[field];
	const LanceField *item = &r->schema.fields[field + 1];
	LanceOut	rows,
				items;
	uint64_t	end = first + n;
	size_t		k = 0;
	int			rc;

	out_init(&rows, f, out->allocator);
	rows.bits_per_value = 0;
	out_init(&items, item, out->allocator);
	rc = LanceBufAppendByte(&rows.offsets, 0, 8);
	if (rc == 0 && r->version == LANCE_FILE_VERSION_2_0)
		rc = LanceReadListV20(&r->io, out->allocator, ci, &r->columns[r->field_column[field + 1]],
							  sorted, first, n, &rows, &items, error);
	for (size_t p = 0; rc == 0 && r->version != LANCE_FILE_VERSION_2_0 && p < ci->num_pages; p++)
	{
		const LancePageInfo *pg = &ci->pages[p];
		uint64_t	pend = pg->first_row + pg->num_rows;
		LancePageRead req = {0};

		req.io = &r->io;
		req.page = pg;
		req.allocator = out->allocator;
		if (sorted == NULL)
		{
			uint64_t	a = first > pg->first_row ? first : pg->first_row;
			uint64_t	b = end < pend ? end : pend;

			if (a >= b)
				continue;
			req.rows = NULL;
			req.first = a - pg->first_row;
			req.n = b - a;
		}
		else
		{
			size_t		start = k;

			while (k < n && sorted[k] < pend)
				sorted[k++] -= pg->first_row;
			if (k == start)
				continue;
			req.rows = sorted + start;
			req.first = 0;
			req.n = k - start;
		}
		rc = LanceDecodeListPageV21(&req, &rows, &items, error);
	}
	if (rc == 0 && rows.length != n)
		rc = LanceErrorSet(error, EINVAL, "expected %llu rows but the pages gave %llu",
						   (unsigned long long) n, (unsigned long long) rows.length);
	if (rc == 0)
		rc = list_to_array(&rows, &items, f, item, perm, out, error);
	out_reset(&rows);
	out_reset(&items);
	return rc;
}

static int
decode_page(const LanceFileReader *r, const LancePageRead *req, LanceOut *out, LanceError *error)
{
	return r->version == LANCE_FILE_VERSION_2_0 ? LanceDecodePageV20(req, out, error) :
		LanceDecodePageV21(req, out, error);
}

static void
reserve_out(LanceOut *out, uint64_t n)
{
	/* a hint only: failures show up on append; never leaves values NULL */
	LanceBufReserve(&out->validity, (size_t) n + 1);
	if (out->bits_per_value != 0)
		LanceBufReserve(&out->values, (size_t) n * out_row_bytes(out) + 1);
	else
	{
		LanceBufReserve(&out->offsets, (size_t) (n + 1) * 8);
		LanceBufReserve(&out->values, 64);
	}
}

int
LanceFileReaderReadRange(const LanceFileReader *r, int32_t field, uint64_t first_row,
						 uint64_t num_rows, LanceArray *out, LanceError *error)
{
	const LanceColumnInfo *ci;
	LanceOut	o;
	uint64_t	end;
	int			rc;

	if ((rc = check_field(r, field, &ci, error)) != 0)
		return rc;
	if (!LanceAddU64(first_row, num_rows, &end) || end > r->num_rows)
		return LanceErrorSet(error, EINVAL, "rows %llu..+%llu are past the file's %llu rows",
							 (unsigned long long) first_row, (unsigned long long) num_rows,
							 (unsigned long long) r->num_rows);
	if (r->schema.fields[field].type == LANCE_TYPE_LIST)
		return read_list(r, field, ci, NULL, first_row, num_rows, NULL, out, error);
	out_init(&o, &r->schema.fields[field], out->allocator);
	reserve_out(&o, num_rows);
	rc = LanceBufAppendByte(&o.offsets, 0, 8);
	for (size_t p = 0; rc == 0 && p < ci->num_pages; p++)
	{
		const LancePageInfo *pg = &ci->pages[p];
		uint64_t	a = first_row > pg->first_row ? first_row : pg->first_row;
		uint64_t	b = end < pg->first_row + pg->num_rows ? end : pg->first_row + pg->num_rows;
		LancePageRead req = {0};

		if (a >= b)
			continue;
		req.io = &r->io;
		req.page = pg;
		req.allocator = out->allocator;
		req.rows = NULL;
		req.first = a - pg->first_row;
		req.n = b - a;
		rc = decode_page(r, &req, &o, error);
	}
	if (rc == 0 && o.length != num_rows)
		rc = LanceErrorSet(error, EINVAL, "expected %llu rows but the pages gave %llu",
						   (unsigned long long) num_rows, (unsigned long long) o.length);
	if (rc == 0)
		rc = out_to_array(&o, &r->schema.fields[field], NULL, out, error);
	out_reset(&o);
	return rc;
}

typedef struct RowRef
{
	uint64_t	row;
	uint64_t	index;
} RowRef;

static int
cmp_rowref(const void *a, const void *b)
{
	const RowRef *x = a,
			   *y = b;

	return x->row < y->row ? -1 : x->row > y->row ? 1 : (x->index > y->index) - (x->index < y->index);
}

int
LanceFileReaderTake(const LanceFileReader *r, int32_t field, const uint64_t *rows,
					size_t num_rows, LanceArray *out, LanceError *error)
{
	const LanceAllocator *a = out->allocator;
	const LanceColumnInfo *ci;
	LanceOut	o;
	LancePendingReads pending = {out->allocator, NULL, 0, 0};
	RowRef	   *refs = NULL;
	uint64_t   *sorted = NULL;
	uint64_t   *perm = NULL;
	bool		in_order = true;
	size_t		k = 0;
	int			rc;

	if ((rc = check_field(r, field, &ci, error)) != 0)
		return rc;
	for (size_t i = 0; i < num_rows; i++)
	{
		if (rows[i] >= r->num_rows)
			return LanceErrorSet(error, EINVAL, "row %llu is past the file's %llu rows",
								 (unsigned long long) rows[i], (unsigned long long) r->num_rows);
		if (i > 0 && rows[i] < rows[i - 1])
			in_order = false;
	}
	sorted = LanceAlloc(a, (num_rows + 1) * sizeof(uint64_t));
	if (sorted == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	if (in_order)
		memcpy(sorted, rows, num_rows * sizeof(uint64_t));
	else
	{
		refs = LanceAlloc(a, num_rows * sizeof(RowRef));
		perm = LanceAlloc(a, num_rows * sizeof(uint64_t));
		if (refs == NULL || perm == NULL)
		{
			rc = LanceErrorSet(error, ENOMEM, "out of memory");
			goto done;
		}
		for (size_t i = 0; i < num_rows; i++)
		{
			refs[i].row = rows[i];
			refs[i].index = i;
		}
		qsort(refs, num_rows, sizeof(RowRef), cmp_rowref);
		for (size_t s = 0; s < num_rows; s++)
		{
			sorted[s] = refs[s].row;
			perm[s] = refs[s].index;
		}
	}
	if (r->schema.fields[field].type == LANCE_TYPE_LIST)
	{
		rc = read_list(r, field, ci, sorted, 0, num_rows, perm, out, error);
		goto done;
	}
	out_init(&o, &r->schema.fields[field], a);
	reserve_out(&o, num_rows);
	rc = LanceBufAppendByte(&o.offsets, 0, 8);
	if (rc == 0 && perm != NULL && o.bits_per_value >= 8)
	{
		/* fixed width: decoders write each row straight to its place */
		if ((rc = LanceBufReserve(&o.values, num_rows * out_row_bytes(&o) + 1)) == 0 &&
			(rc = LanceBufReserve(&o.validity, num_rows + 1)) == 0)
		{
			o.values.len = num_rows * out_row_bytes(&o);
			o.validity.len = num_rows;
			o.scatter = perm;
			o.scatter_len = num_rows;
			perm = NULL;
		}
		else
			rc = LanceErrorSet(error, rc, "out of memory");
	}
	for (size_t p = 0; rc == 0 && p < ci->num_pages && k < num_rows; p++)
	{
		const LancePageInfo *pg = &ci->pages[p];
		uint64_t	pend = pg->first_row + pg->num_rows;
		size_t		start = k;
		LancePageRead req = {0};

		while (k < num_rows && sorted[k] < pend)
		{
			sorted[k] -= pg->first_row; /* page-relative, in place */
			k++;
		}
		if (k == start)
			continue;
		req.io = &r->io;
		req.page = pg;
		req.allocator = a;
		req.rows = sorted + start;
		req.first = 0;
		req.n = k - start;
		req.pending = &pending;
		rc = decode_page(r, &req, &o, error);
	}
	/* the pages' rows read at once (see LancePendingReads) */
	if (rc == 0)
		rc = LanceReadsFlush(&r->io, &pending, &o, error);
	LanceFree(a, pending.ranges, pending.cap * sizeof(LanceReadRange));
	if (rc == 0 && o.length != num_rows)
		rc = LanceErrorSet(error, EINVAL, "expected %zu rows but the pages gave %llu",
						   num_rows, (unsigned long long) o.length);
	if (rc == 0)
		rc = out_to_array(&o, &r->schema.fields[field], perm, out, error);
	perm = perm ? perm : (uint64_t *) o.scatter;
	out_reset(&o);
done:
	LanceFree(a, sorted, (num_rows + 1) * sizeof(uint64_t));
	LanceFree(a, refs, num_rows * sizeof(RowRef));
	LanceFree(a, perm, num_rows * sizeof(uint64_t));
	return rc;
}

/* The page of 'ci' that holds 'row', or NULL */
static const LancePageInfo *
page_of_row(const LanceColumnInfo *ci, uint64_t row)
{
	size_t		low = 0;
	size_t		high = ci->num_pages;

	if (high == 0)
		return NULL;
	while (high - low > 1)
	{
		size_t		mid = low + (high - low) / 2;

		if (ci->pages[mid].first_row <= row)
			low = mid;
		else
			high = mid;
	}
	if (row < ci->pages[low].first_row || row - ci->pages[low].first_row >= ci->pages[low].num_rows)
		return NULL;
	return &ci->pages[low];
}

int
LanceFileReaderTakeViews(const LanceFileReader *r, int32_t field, const uint64_t *rows,
						 size_t num_rows, const void **values, LanceArray *spill,
						 LanceError *error)
{
	const LanceAllocator *a = spill->allocator;
	const LanceColumnInfo *ci;
	const LanceField *f;
	const LancePageInfo *page = NULL;
	bool		plain = false;
	size_t		item_bytes;
	uint64_t	row_bytes;
	uint64_t   *missing = NULL;
	size_t	   *slots = NULL;
	size_t		nmissing = 0;
	int			rc;

	if ((rc = check_field(r, field, &ci, error)) != 0)
		return rc;
	f = &r->schema.fields[field];
	if (f->type != LANCE_TYPE_FIXED_SIZE_LIST || LanceTypeByteWidth(f->item_type) == 0 ||
		f->list_size <= 0)
		return LanceErrorSet(error, EINVAL,
							 "field \"%s\" is not a fixed-size list of fixed-width items", f->name);
	item_bytes = LanceTypeByteWidth(f->item_type);
	row_bytes = (uint64_t) item_bytes * (uint64_t) f->list_size;
	LanceArrayReset(spill);
	for (size_t i = 0; i < num_rows; i++)
	{
		uint64_t	row = rows[i];

		if (row >= r->num_rows)
		{
			rc = LanceErrorSet(error, EINVAL, "row %llu is past the file's %llu rows",
							   (unsigned long long) row, (unsigned long long) r->num_rows);
			goto done;
		}
		if (page == NULL || row < page->first_row || row - page->first_row >= page->num_rows)
		{
			page = page_of_row(ci, row);
			plain = page != NULL && r->io.view != NULL && LancePagePlainRows(page, row_bytes);
		}
		values[i] = !plain ? NULL :
			r->io.view(r->io.ctx, page->buffer_offsets[0] + (row - page->first_row) * row_bytes,
					   (size_t) row_bytes);
		/* items are used as what they are: a misaligned one is read instead */
		if (values[i] != NULL && (uintptr_t) values[i] % item_bytes == 0)
			continue;
		if (missing == NULL)
		{
			missing = LanceAlloc(a, num_rows * sizeof(uint64_t));
			slots = LanceAlloc(a, num_rows * sizeof(size_t));
			if (missing == NULL || slots == NULL)
			{
				rc = LanceErrorSet(error, ENOMEM, "out of memory");
				goto done;
			}
		}
		missing[nmissing] = row;
		slots[nmissing++] = i;
	}
	if (nmissing > 0 &&
		(rc = LanceFileReaderTake(r, field, missing, nmissing, spill, error)) == 0)
	{
		const uint8_t *items = LanceArrayListItems(spill);

		for (size_t j = 0; j < nmissing; j++)
			values[slots[j]] = LanceColumnIsValid(&spill->column, (int64_t) j) ?
				items + j * row_bytes : NULL;
	}
done:
	LanceFree(a, missing, missing ? num_rows * sizeof(uint64_t) : 0);
	LanceFree(a, slots, slots ? num_rows * sizeof(size_t) : 0);
	return rc;
}
