/*
 * arrow_ipc.c
 *	  A minimal Arrow IPC file reader for Lance's .arrow deletion files.
 *
 * Debian 12 has no C Arrow or C flatbuffers library, so the flatbuffers of
 * the IPC format are parsed here by hand, for exactly the shape lance
 * writes (fact sheet 3.6): magic "ARROW1", a footer with a one-field schema
 * (row_id: uint32, not null) and record batch blocks; each batch holds one
 * field node and two buffers (validity, values), optionally compressed with
 * ZSTD per buffer (an int64 uncompressed length, -1 meaning "stored raw",
 * then one zstd frame).
 *
 * Every offset read from the file is checked against the bounds of the
 * buffer it points into before it is followed; nothing here trusts the file.
 * Flatbuffer facts used: a table starts with an int32 offset back to its
 * vtable; the vtable is u16 vtable size, u16 table size, then one u16 offset
 * per field (0 = absent); references to tables, vectors and strings are u32
 * offsets relative to where they are stored; vectors start with a u32 count.
 */
#include <zstd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/arrow_ipc.h"
#include "lance/dataset_internal.h"

#define ARROW_MAGIC "ARROW1"
#define MAGIC_LEN 6

/* Arrow schema enums (Schema.fbs / Message.fbs) */
#define MESSAGE_HEADER_RECORD_BATCH 3
#define TYPE_INT 2
#define CODEC_LZ4_FRAME 0
#define CODEC_ZSTD 1

typedef struct Fb
{
	const uint8_t *buf;
	size_t		len;
} Fb;

typedef struct FbTable
{
	const Fb   *fb;
	size_t		pos;			/* table start */
	size_t		vt;				/* vtable start */
	uint16_t	vt_len;			/* vtable size in bytes */
	uint16_t	tbl_len;		/* inline table size */
} FbTable;

static int
fb_table_at(const Fb *fb, size_t pos, FbTable *t, LanceError *error)
{
	int64_t		vt;

	if (pos > fb->len || fb->len - pos < 4 || pos % 4 != 0)
		return LanceErrorSet(error, EINVAL, "flatbuffer table offset %zu out of bounds (%zu bytes)",
						pos, fb->len);
	vt = (int64_t) pos - (int32_t) LanceLoadU32(fb->buf + pos);
	if (vt < 0 || (uint64_t) vt > fb->len - 4 || vt % 2 != 0)
		return LanceErrorSet(error, EINVAL, "flatbuffer vtable offset %lld out of bounds",
						(long long) vt);
	t->fb = fb;
	t->pos = pos;
	t->vt = (size_t) vt;
	t->vt_len = LanceLoadU16(fb->buf + vt);
	t->tbl_len = LanceLoadU16(fb->buf + vt + 2);
	if (t->vt_len < 4 || t->vt_len % 2 != 0 || t->vt_len > fb->len - t->vt ||
		t->tbl_len < 4 || t->tbl_len > fb->len - pos)
		return LanceErrorSet(error, EINVAL, "flatbuffer vtable (%u, %u) out of bounds",
						t->vt_len, t->tbl_len);
	return 0;
}

/*
 * Absolute position of field 'idx' holding 'size' bytes, or 0 if absent.
 * EINVAL if the field lies outside the table.
 */
static int
fb_field(const FbTable *t, int idx, size_t size, size_t *pos, LanceError *error)
{
	size_t		slot = 4 + 2 * (size_t) idx;
	uint16_t	off;

	*pos = 0;
	if (slot + 2 > t->vt_len)
		return 0;
	off = LanceLoadU16(t->fb->buf + t->vt + slot);
	if (off == 0)
		return 0;
	if (off < 4 || (size_t) off + size > t->tbl_len)
		return LanceErrorSet(error, EINVAL, "flatbuffer field %d at %u outside its table (%u bytes)",
						idx, off, t->tbl_len);
	*pos = t->pos + off;
	return 0;
}

static int
fb_u8(const FbTable *t, int idx, uint8_t def, uint8_t *out, LanceError *error)
{
	size_t		pos;
	int			rc = fb_field(t, idx, 1, &pos, error);

	*out = (rc == 0 && pos != 0) ? t->fb->buf[pos] : def;
	return rc;
}

static int
fb_i32(const FbTable *t, int idx, int32_t def, int32_t *out, LanceError *error)
{
	size_t		pos;
	int			rc = fb_field(t, idx, 4, &pos, error);

	*out = (rc == 0 && pos != 0) ? (int32_t) LanceLoadU32(t->fb->buf + pos) : def;
	return rc;
}

static int
fb_i64(const FbTable *t, int idx, int64_t def, int64_t *out, LanceError *error)
{
	size_t		pos;
	int			rc = fb_field(t, idx, 8, &pos, error);

	*out = (rc == 0 && pos != 0) ? (int64_t) LanceLoadU64(t->fb->buf + pos) : def;
	return rc;
}

/* Follow the u32 reference stored at 'pos'; 'target' receives the absolute position. */
static int
fb_deref(const Fb *fb, size_t pos, size_t *target, LanceError *error)
{
	uint32_t	off;

	if (pos > fb->len || fb->len - pos < 4)
		return LanceErrorSet(error, EINVAL, "flatbuffer reference at %zu out of bounds", pos);
	off = LanceLoadU32(fb->buf + pos);
	if (off == 0 || off > fb->len - pos)
		return LanceErrorSet(error, EINVAL, "flatbuffer reference %u at %zu out of bounds", off, pos);
	*target = pos + off;
	return 0;
}

/* Sub-table in field 'idx'; *present false if absent. */
static int
fb_table(const FbTable *t, int idx, FbTable *out, bool *present, LanceError *error)
{
	size_t		pos;
	size_t		target;
	int			rc;

	*present = false;
	if ((rc = fb_field(t, idx, 4, &pos, error)) != 0 || pos == 0)
		return rc;
	if ((rc = fb_deref(t->fb, pos, &target, error)) != 0 ||
		(rc = fb_table_at(t->fb, target, out, error)) != 0)
		return rc;
	*present = true;
	return 0;
}

/* Vector in field 'idx' of elements of 'elem' bytes: start of data and count (0 if absent). */
static int
fb_vector(const FbTable *t, int idx, size_t elem, size_t *data, uint32_t *count,
		  LanceError *error)
{
	size_t		pos;
	size_t		target;
	uint32_t	n;
	int			rc;

	*data = 0;
	*count = 0;
	if ((rc = fb_field(t, idx, 4, &pos, error)) != 0 || pos == 0)
		return rc;
	if ((rc = fb_deref(t->fb, pos, &target, error)) != 0)
		return rc;
	if (t->fb->len - target < 4)
		return LanceErrorSet(error, EINVAL, "flatbuffer vector header out of bounds");
	n = LanceLoadU32(t->fb->buf + target);
	if ((uint64_t) n * elem > t->fb->len - target - 4)
		return LanceErrorSet(error, EINVAL, "flatbuffer vector of %u elements out of bounds", n);
	*data = target + 4;
	*count = n;
	return 0;
}

/* Element i of a vector of tables. */
static int
fb_vector_table(const Fb *fb, size_t data, uint32_t i, FbTable *out, LanceError *error)
{
	size_t		target;
	int			rc = fb_deref(fb, data + 4 * (size_t) i, &target, error);

	return rc != 0 ? rc : fb_table_at(fb, target, out, error);
}

/* String in field 'idx' (not NUL-terminated in our view): pointer and length. */
static int
fb_string(const FbTable *t, int idx, const char **s, uint32_t *n, LanceError *error)
{
	size_t		data;
	int			rc = fb_vector(t, idx, 1, &data, n, error);

	*s = (rc == 0 && data != 0) ? (const char *) t->fb->buf + data : "";
	return rc;
}

/* The schema must be exactly one field 'column' of type uint32. */
static int
check_schema(const FbTable *footer, const char *column, LanceError *error)
{
	FbTable		schema;
	FbTable		field;
	FbTable		type;
	bool		present;
	size_t		fields;
	uint32_t	nfields;
	const char *name;
	uint32_t	name_len;
	uint8_t		type_type;
	int32_t		bit_width;
	uint8_t		is_signed;
	int			rc;

	if ((rc = fb_table(footer, 1, &schema, &present, error)) != 0)
		return rc;
	if (!present)
		return LanceErrorSet(error, EINVAL, "Arrow file footer has no schema");
	if ((rc = fb_vector(&schema, 1, 4, &fields, &nfields, error)) != 0)
		return rc;
	if (nfields != 1)
		return LanceErrorSet(error, EINVAL, "expected 1 column in the deletion file but found %u",
						nfields);
	if ((rc = fb_vector_table(footer->fb, fields, 0, &field, error)) != 0 ||
		(rc = fb_string(&field, 0, &name, &name_len, error)) != 0 ||
		(rc = fb_u8(&field, 2, 0, &type_type, error)) != 0)
		return rc;
	if (name_len != strlen(column) || memcmp(name, column, name_len) != 0)
		return LanceErrorSet(error, EINVAL, "expected column \"%s\" but found \"%.*s\"", column,
						(int) (name_len > 64 ? 64 : name_len), name);
	if (type_type != TYPE_INT)
		return LanceErrorSet(error, EINVAL, "expected column \"%s\" of type uint32 but found type %u",
						column, type_type);
	if ((rc = fb_table(&field, 3, &type, &present, error)) != 0)
		return rc;
	if (!present)
		return LanceErrorSet(error, EINVAL, "column \"%s\" has no Int type table", column);
	if ((rc = fb_i32(&type, 0, 0, &bit_width, error)) != 0 ||
		(rc = fb_u8(&type, 1, 0, &is_signed, error)) != 0)
		return rc;
	if (bit_width != 32 || is_signed)
		return LanceErrorSet(error, EINVAL, "expected column \"%s\" of type uint32 but found %sint%d",
						column, is_signed ? "" : "u", bit_width);
	return 0;
}

/* Decode one (possibly compressed) buffer of 'need' bytes into 'out'. */
static int
read_buffer(const uint8_t *body, size_t body_len, int64_t off, int64_t len, bool zstd,
			uint8_t *out, size_t need, LanceError *error)
{
	const uint8_t *p;
	int64_t		raw;
	size_t		got;

	if (off < 0 || len < 0 || (uint64_t) off > body_len || (uint64_t) len > body_len - (uint64_t) off)
		return LanceErrorSet(error, EINVAL,
						"Arrow buffer (offset %lld, length %lld) outside the body (%zu bytes)",
						(long long) off, (long long) len, body_len);
	p = body + off;
	if (!zstd)
	{
		if ((uint64_t) len < need)
			return LanceErrorSet(error, EINVAL, "expected an Arrow buffer of %zu bytes but found %lld",
							need, (long long) len);
		memcpy(out, p, need);
		return 0;
	}
	if (len == 0 && need == 0)
		return 0;
	if (len < 8)
		return LanceErrorSet(error, EINVAL, "compressed Arrow buffer of %lld bytes has no length prefix",
						(long long) len);
	raw = (int64_t) LanceLoadU64(p);
	if (raw == -1)
	{
		if ((uint64_t) len - 8 < need)
			return LanceErrorSet(error, EINVAL,
							"expected an Arrow buffer of %zu bytes but found %lld", need,
							(long long) len - 8);
		memcpy(out, p + 8, need);
		return 0;
	}
	if (raw < 0 || (uint64_t) raw != need)
		return LanceErrorSet(error, EINVAL,
						"expected an uncompressed Arrow buffer of %zu bytes but found %lld",
						need, (long long) raw);
	if (need == 0)
		return 0;
	got = ZSTD_decompress(out, need, p + 8, (size_t) len - 8);
	if (ZSTD_isError(got))
		return LanceErrorSet(error, EINVAL, "corrupt zstd data in Arrow buffer: %s",
						ZSTD_getErrorName(got));
	if (got != need)
		return LanceErrorSet(error, EINVAL, "expected %zu bytes from zstd but found %zu", need, got);
	return 0;
}

/* Append the values of the record batch in 'block' to *values. */
static int
read_batch(const Fb *file, size_t data_end, size_t block, const LanceAllocator *a,
		   uint32_t **values, int64_t *count, int64_t *cap, LanceError *error)
{
	int64_t		offset = (int64_t) LanceLoadU64(file->buf + block);
	int32_t		meta_len = (int32_t) LanceLoadU32(file->buf + block + 8);
	int64_t		body_len = (int64_t) LanceLoadU64(file->buf + block + 16);
	size_t		fb_start;
	size_t		fb_len;
	size_t		root;
	Fb			msgfb;
	FbTable		msg;
	FbTable		batch;
	FbTable		comp;
	bool		present;
	uint8_t		header_type;
	int64_t		rows;
	size_t		nodes;
	uint32_t	nnodes;
	size_t		buffers;
	uint32_t	nbuffers;
	bool		zstd = false;
	size_t		need;
	int			rc;

	if (offset < MAGIC_LEN || meta_len < 8 || body_len < 0 ||
		(uint64_t) offset > data_end || (uint64_t) meta_len > data_end - (uint64_t) offset ||
		(uint64_t) body_len > data_end - (uint64_t) offset - (uint64_t) meta_len)
		return LanceErrorSet(error, EINVAL,
						"Arrow record batch block (offset %lld, metadata %d, body %lld) outside the file",
						(long long) offset, meta_len, (long long) body_len);
	/* message prefix: continuation marker 0xFFFFFFFF + int32 length, or the old int32 length */
	fb_start = (size_t) offset + 4;
	if (LanceLoadU32(file->buf + offset) == 0xFFFFFFFFu)
		fb_start += 4;
	fb_len = LanceLoadU32(file->buf + fb_start - 4);
	if (fb_len > (size_t) offset + (size_t) meta_len - fb_start)
		return LanceErrorSet(error, EINVAL, "Arrow message of %zu bytes exceeds its block", fb_len);
	msgfb.buf = file->buf + fb_start;
	msgfb.len = fb_len;
	/* the root is a u32 offset to the Message table */
	if ((rc = fb_deref(&msgfb, 0, &root, error)) != 0 ||
		(rc = fb_table_at(&msgfb, root, &msg, error)) != 0 ||
		(rc = fb_u8(&msg, 1, 0, &header_type, error)) != 0)
		return rc;
	if (header_type != MESSAGE_HEADER_RECORD_BATCH)
		return LanceErrorSet(error, EINVAL, "expected an Arrow RecordBatch message but found type %u",
						header_type);
	if ((rc = fb_table(&msg, 2, &batch, &present, error)) != 0)
		return rc;
	if (!present)
		return LanceErrorSet(error, EINVAL, "Arrow RecordBatch message has no header");
	if ((rc = fb_i64(&batch, 0, 0, &rows, error)) != 0 ||
		(rc = fb_vector(&batch, 1, 16, &nodes, &nnodes, error)) != 0 ||
		(rc = fb_vector(&batch, 2, 16, &buffers, &nbuffers, error)) != 0 ||
		(rc = fb_table(&batch, 3, &comp, &present, error)) != 0)
		return rc;
	if (present)
	{
		uint8_t		codec;
		uint8_t		method;

		if ((rc = fb_u8(&comp, 0, CODEC_LZ4_FRAME, &codec, error)) != 0 ||
			(rc = fb_u8(&comp, 1, 0, &method, error)) != 0)
			return rc;
		if (codec != CODEC_ZSTD)
			return LanceErrorSet(error, ENOTSUP,
							"Arrow body compression codec %u is not supported (only ZSTD)", codec);
		if (method != 0)
			return LanceErrorSet(error, EINVAL, "expected Arrow compression method BUFFER but found %u",
							method);
		zstd = true;
	}
	if (nnodes != 1 || nbuffers != 2)
		return LanceErrorSet(error, EINVAL,
						"expected 1 field node and 2 buffers in the deletion batch but found %u and %u",
						nnodes, nbuffers);
	if (rows < 0 || (int64_t) LanceLoadU64(msgfb.buf + nodes) != rows ||
		LanceLoadU64(msgfb.buf + nodes + 8) != 0)
		return LanceErrorSet(error, EINVAL,
						"expected %lld non-null rows in the deletion batch but found length %lld with %lld nulls",
						(long long) rows, (long long) LanceLoadU64(msgfb.buf + nodes),
						(long long) LanceLoadU64(msgfb.buf + nodes + 8));
	if (rows > (int64_t) (SIZE_MAX / 8) || rows > INT64_MAX - *count)
		return LanceErrorSet(error, EINVAL, "deletion batch of %lld rows is too large", (long long) rows);
	if (*count + rows > *cap)
	{
		int64_t		ncap = *cap * 2 > *count + rows ? *cap * 2 : *count + rows;
		uint32_t   *p = LanceRealloc(a, *values, sizeof(uint32_t) * (size_t) *cap,
								   sizeof(uint32_t) * (size_t) ncap);

		if (p == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory reading a deletion file");
		*values = p;
		*cap = ncap;
	}
	need = sizeof(uint32_t) * (size_t) rows;
	rc = read_buffer(file->buf + offset + meta_len, (size_t) body_len,
					 (int64_t) LanceLoadU64(msgfb.buf + buffers + 16),
					 (int64_t) LanceLoadU64(msgfb.buf + buffers + 24), zstd,
					 (uint8_t *) (*values + *count), need, error);
	if (rc != 0)
		return rc;
	/* the file is little-endian, and so are we; convert in place for clarity */
	for (int64_t i = 0; i < rows; i++)
		(*values)[*count + i] = LanceLoadU32((const uint8_t *) &(*values)[*count + i]);
	*count += rows;
	return 0;
}

int
LanceArrowIpcReadUInt32(const uint8_t *bytes, size_t len, const char *column,
						const LanceAllocator *a, uint32_t **values, int64_t *count,
						LanceError *error)
{
	Fb			file = {bytes, len};
	Fb			footfb;
	FbTable		footer;
	size_t		root;
	int32_t		footer_len;
	size_t		footer_start;
	size_t		blocks;
	uint32_t	nblocks;
	int64_t		cap = 0;
	int			rc;

	*values = NULL;
	*count = 0;
	/* "ARROW1" + 2 pad bytes ... footer, int32 footer length, "ARROW1" */
	if (len < 8 + 4 + MAGIC_LEN || memcmp(bytes, ARROW_MAGIC, MAGIC_LEN) != 0 ||
		memcmp(bytes + len - MAGIC_LEN, ARROW_MAGIC, MAGIC_LEN) != 0)
		return LanceErrorSet(error, EINVAL, "expected an Arrow IPC file (magic \"ARROW1\" at both ends)");
	footer_len = (int32_t) LanceLoadU32(bytes + len - MAGIC_LEN - 4);
	if (footer_len < 8 || (size_t) footer_len > len - 8 - 4 - MAGIC_LEN)
		return LanceErrorSet(error, EINVAL, "Arrow footer length %d out of bounds", footer_len);
	footer_start = len - MAGIC_LEN - 4 - (size_t) footer_len;
	footfb.buf = bytes + footer_start;
	footfb.len = (size_t) footer_len;
	if ((rc = fb_deref(&footfb, 0, &root, error)) != 0 ||
		(rc = fb_table_at(&footfb, root, &footer, error)) != 0 ||
		(rc = check_schema(&footer, column, error)) != 0 ||
		(rc = fb_vector(&footer, 3, 24, &blocks, &nblocks, error)) != 0)
		return rc;
	for (uint32_t i = 0; i < nblocks; i++)
	{
		rc = read_batch(&file, footer_start, footer_start + blocks + 24 * (size_t) i, a, values,
						count, &cap, error);
		if (rc != 0)
			break;
	}
	if (rc == 0 && *count == 0)
	{
		LanceFree(a, *values, sizeof(uint32_t) * (size_t) cap);
		*values = NULL;
	}
	else if (rc == 0 && cap > *count)
	{
		/* shrink to exactly *count so the caller frees what it knows */
		uint32_t   *p = LanceRealloc(a, *values, sizeof(uint32_t) * (size_t) cap,
								   sizeof(uint32_t) * (size_t) *count);

		if (p == NULL)
			rc = LanceErrorSet(error, ENOMEM, "out of memory reading a deletion file");
		else
			*values = p;
	}
	if (rc != 0)
	{
		LanceFree(a, *values, sizeof(uint32_t) * (size_t) cap);
		*values = NULL;
		*count = 0;
	}
	return rc;
}
