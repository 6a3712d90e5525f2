/*
 * decode_v21.c
 *	  Page decoder for Lance file format 2.1: mini-block, full-zip and
 *	  all-null layouts, for range reads and random access.
 *
 * Only the bytes needed are read: a mini-block page's chunk metadata and
 * then just the chunks covering the requested rows (consecutive chunks in
 * one read); a fixed-width full-zip page only the requested rows' bytes
 * (straight into the output when there is no control word); a variable
 * full-zip page its repetition index and the requested items.  Every
 * offset and length from disk is checked against its buffer before use.
 * Mini-block dictionaries (page buffer 2) are decoded once per call and
 * the chunk values are indices into them.  Lists (one list layer over
 * fixed-width items, mini-block with repetition levels) are decoded a
 * whole page at a time, walking the rep/def levels (rep != 0 starts a row;
 * def: 0 item, 1 null item, then the null/empty list levels); the
 * repetition index is not used.  Deeper nesting and full-zip lists are
 * refused with ENOTSUP; value encodings go through the dispatcher
 * (compress.h).  Variable full-zip values are plain or FSST-compressed
 * (Fsst{Variable}, one symbol table per page; each item decompressed
 * on its own).  A fixed-size list whose items are all null in a page is a
 * fixed full-zip page of Constant{} values and 0 bits per value: only the
 * control words are stored, and valid rows read as zeros with null items.
 */
#include "lance/compress.h"
#include "lance/file_internal.h"
#include "lance/fsst.h"
#include "lance/varblock.h"

#define MAX_READ_SPAN (16u << 20)	/* bytes read at once for a scan */

/* Row i of the request (page-relative). */
static inline uint64_t
req_row(const LancePageRead *req, uint64_t i)
{
	return req->rows ? req->rows[i] : req->first + i;
}

/* Accept a single item layer: ALL_VALID_ITEM or NULLABLE_ITEM. */
static int
check_layers(const Lance__Encodings21__RepDefLayer *layers, size_t n, LanceError *error)
{
	if (n != 1 || (layers[0] != LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM &&
				   layers[0] != LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM))
		return LanceErrorSet(error, ENOTSUP,
							 "pages with %zu rep/def layers (first %d) are not supported: nested data",
							 n, n > 0 ? (int) layers[0] : -1);
	return 0;
}

/* Append row r of a decoded block (fixed or variable) to 'out'. */
static int
emit_decoded(LanceOut *out, const LanceDecoded *d, uint64_t r, bool valid, LanceError *error)
{
	int			rc;

	if (!valid)
		return LanceOutAppendNull(out, error);
	if (d->bits_per_value == 0)
		return LanceOutAppendVar(out, d->values + d->offsets[r],
								 d->offsets[r + 1] - d->offsets[r], true, error);
	if (d->bits_per_value == 1)
	{
		uint8_t		b = LanceBitGet(d->values, r) ? 1 : 0;

		return LanceOutAppendFixed(out, &b, true, error);
	}
	if ((rc = LanceOutAppendFixed(out, d->values + r * (d->bits_per_value / 8), true, error)) != 0)
		return rc;
	return LanceOutItemValidity(out, d->validity, r * out->list_size, 1, error);
}

/* ---------------------------------------------------------------------------
 * Mini-block
 * ------------------------------------------------------------------------- */

/* A decoded mini-block dictionary: fixed-width items or a variable block. */
typedef struct Dict
{
	uint64_t	num_items;
	LanceDecoded fixed;			/* fixed width */
	LanceVarBlock var;			/* variable width */
	bool		is_var;
	uint8_t    *bytes;			/* page buffer 2 */
	size_t		bytes_len;
} Dict;

static int
load_dict(const LancePageRead *req, const Lance__Encodings21__MiniBlockLayout *mb,
		  const LanceOut *out, Dict *d, LanceError *error)
{
	const LancePageInfo *page = req->page;
	LanceBytes	buf;
	int			rc;

	if (page->num_buffers < 3)
		return LanceErrorSet(error, EINVAL, "a dictionary page needs 3 buffers but has %zu",
							 page->num_buffers);
	d->num_items = mb->num_dictionary_items;
	rc = LanceReadBytes(req->io, page->buffer_offsets[2], page->buffer_sizes[2],
						req->allocator, &d->bytes, error);
	if (rc != 0)
		return rc;
	d->bytes_len = (size_t) page->buffer_sizes[2];
	buf.data = d->bytes;
	buf.len = d->bytes_len;
	if (out->bits_per_value == 0)
	{
		if (mb->dictionary->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE)
			return LanceErrorSet(error, ENOTSUP, "a string dictionary encoded with %s is not supported",
								 LanceCompressiveEncodingName(mb->dictionary));
		d->is_var = true;
		return LanceVarBlockParseBlock(d->bytes, d->bytes_len, d->num_items, &d->var, error);
	}
	rc = LanceDecompress21(mb->dictionary, &buf, 1, d->num_items, req->allocator, &d->fixed, error);
	if (rc == 0 && d->fixed.bits_per_value != out->bits_per_value)
		rc = LanceErrorSet(error, EINVAL, "expected %u-bit dictionary items but found %u bits",
						   out->bits_per_value, d->fixed.bits_per_value);
	return rc;
}

/* Append dictionary item number 'index' (from chunk values) to 'out'. */
static int
emit_dict(LanceOut *out, const Dict *d, const LanceDecoded *idx, uint64_t r, LanceError *error)
{
	uint64_t	i;
	const uint8_t *p = idx->values + r * (idx->bits_per_value / 8);

	switch (idx->bits_per_value)
	{
		case 8:
			i = p[0];
			break;
		case 16:
			i = LanceLoadU16(p);
			break;
		case 32:
			i = LanceLoadU32(p);
			break;
		default:
			i = LanceLoadU64(p);
	}
	if (i >= d->num_items)
		return LanceErrorSet(error, EINVAL, "dictionary index %llu but the dictionary has %llu items",
							 (unsigned long long) i, (unsigned long long) d->num_items);
	if (d->is_var)
	{
		const uint8_t *v;
		size_t		len;

		LanceVarBlockValue(&d->var, i, &v, &len);
		return LanceOutAppendVar(out, v, len, true, error);
	}
	if (d->fixed.bits_per_value == 1)
	{
		uint8_t		b = LanceBitGet(d->fixed.values, i);

		return LanceOutAppendFixed(out, &b, true, error);
	}
	return LanceOutAppendFixed(out, d->fixed.values + i * (d->fixed.bits_per_value / 8), true, error);
}

struct LanceChunkMap
{
	uint64_t	num_chunks;
	uint64_t   *byte_start;		/* num_chunks + 1 */
	uint64_t   *row_start;		/* num_chunks + 1 */
};

typedef LanceChunkMap ChunkMap;

/* Decodes the page's chunk map into 'map', its arrays from allocator 'a' */
static int
load_chunk_map(const LancePageRead *req, const LanceAllocator *a, uint64_t num_items,
			   ChunkMap *map, LanceError *error)
{
	const LancePageInfo *page = req->page;
	uint8_t    *meta = NULL;
	uint64_t	n,
				bytes = 0,
				rows = 0;
	int			rc;

	memset(map, 0, sizeof(*map));
	if (page->buffer_sizes[0] % 2 != 0)
		return LanceErrorSet(error, EINVAL, "mini-block chunk metadata has an odd size %llu",
							 (unsigned long long) page->buffer_sizes[0]);
	n = page->buffer_sizes[0] / 2;
	if (n == 0)
		return LanceErrorSet(error, EINVAL, "a mini-block page without chunks");
	rc = LanceReadBytes(req->io, page->buffer_offsets[0], page->buffer_sizes[0],
						req->allocator, &meta, error);
	if (rc != 0)
		return rc;
	map->byte_start = LanceAlloc(a, (size_t) (n + 1) * sizeof(uint64_t));
	map->row_start = LanceAlloc(a, (size_t) (n + 1) * sizeof(uint64_t));
	map->num_chunks = n;
	if (map->byte_start == NULL || map->row_start == NULL)
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < n; i++)
	{
		uint16_t	word = LanceLoadU16(meta + i * 2);
		uint64_t	count;

		map->byte_start[i] = bytes;
		map->row_start[i] = rows;
		bytes += ((uint64_t) (word >> 4) + 1) * 8;
		if (i == n - 1 && (word & 0xF) == 0)
			count = num_items > rows ? num_items - rows : 0;
		else
			count = (uint64_t) 1 << (word & 0xF);
		if (count == 0)
			rc = LanceErrorSet(error, EINVAL, "mini-block chunk %llu holds no values",
							   (unsigned long long) i);
		rows += count;
	}
	if (rc == 0 && rows != num_items)
		rc = LanceErrorSet(error, EINVAL, "mini-block chunks hold %llu values but the page has %llu",
						   (unsigned long long) rows, (unsigned long long) num_items);
	if (rc == 0 && bytes > page->buffer_sizes[1])
		rc = LanceErrorSet(error, EINVAL, "mini-block chunks need %llu bytes but the buffer has %llu",
						   (unsigned long long) bytes, (unsigned long long) page->buffer_sizes[1]);
	if (rc == 0)
	{
		map->byte_start[n] = bytes;
		map->row_start[n] = rows;
	}
	LanceFree(req->allocator, meta, (size_t) page->buffer_sizes[0]);
	return rc;
}

static void
free_chunk_map(const LanceAllocator *a, ChunkMap *map)
{
	LanceFree(a, map->byte_start, (size_t) (map->num_chunks + 1) * sizeof(uint64_t));
	LanceFree(a, map->row_start, (size_t) (map->num_chunks + 1) * sizeof(uint64_t));
}

void
LanceChunkMapFree(const LanceAllocator *allocator, LanceChunkMap *map)
{
	if (map == NULL)
		return;
	free_chunk_map(allocator, map);
	LanceFree(allocator, map, sizeof(*map));
}

/*
 * The page's chunk map in *map: the one the page keeps, decoded now if this
 * is its first read.  A read that reads part of a page (a lance_ivf list, a
 * range of a scan) would otherwise read and decode the whole page's map
 * every time, which costs as much as the rows it wants.  Two threads that
 * both find no map decode one each; the first to publish it wins and the
 * other frees its own.  A page that keeps nothing (not 'cached') decodes
 * into 'local', which put_chunk_map then frees.
 */
static int
get_chunk_map(const LancePageRead *req, uint64_t num_items, ChunkMap *local,
			  const ChunkMap **map, LanceError *error)
{
	/* the page's cache slot is the one part of it a read may change */
	LancePageInfo *page = (LancePageInfo *) req->page;
	const LanceAllocator *keep = page->cache_allocator;
	ChunkMap   *fresh;
	ChunkMap   *published = NULL;
	int			rc;

	*map = __atomic_load_n(&page->chunk_map, __ATOMIC_ACQUIRE);
	if (*map != NULL)
		return 0;
	if (!page->cached)
	{
		*map = local;
		return load_chunk_map(req, req->allocator, num_items, local, error);
	}
	fresh = LanceAllocZero(keep, sizeof(ChunkMap));
	if (fresh == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	rc = load_chunk_map(req, keep, num_items, fresh, error);
	if (rc != 0)
	{
		LanceChunkMapFree(keep, fresh);
		return rc;
	}
	if (!__atomic_compare_exchange_n(&page->chunk_map, &published, fresh, false,
									 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
	{
		LanceChunkMapFree(keep, fresh);
		fresh = published;
	}
	*map = fresh;
	return 0;
}

/* Ends a read's use of the map get_chunk_map gave it */
static void
put_chunk_map(const LancePageRead *req, const ChunkMap *map, ChunkMap *local)
{
	if (map == local)
		free_chunk_map(req->allocator, local);
}

static uint64_t
find_chunk(const ChunkMap *map, uint64_t row)
{
	uint64_t	lo = 0,
				hi = map->num_chunks;

	while (hi - lo > 1)
	{
		uint64_t	mid = (lo + hi) / 2;

		if (map->row_start[mid] <= row)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Decode one chunk's values and definition levels and append the request's
 * rows [*k, ...) that fall in it; advances *k.
 */
static int
decode_chunk(const LancePageRead *req, const Lance__Encodings21__MiniBlockLayout *mb,
			 const Dict *dict, const uint8_t *p, uint64_t len, uint64_t row0, uint64_t nvals,
			 uint64_t *k, LanceOut *out, LanceError *error)
{
	bool		has_def = mb->def_compression != NULL;
	uint64_t	nb = mb->num_buffers;
	uint64_t	off = 0;
	uint64_t	hdr;
	uint16_t	num_levels,
				def_bytes = 0;
	LanceBytes	bufs[8];
	LanceBytes	defbuf = {NULL, 0};
	LanceDecoded vals,
				defs;
	int			rc;

	hdr = 2 + (has_def ? 2 : 0) + 2 * nb;
	if (len < hdr)
		return LanceErrorSet(error, EINVAL, "mini-block chunk of %llu bytes is shorter than its header",
							 (unsigned long long) len);
	num_levels = LanceLoadU16(p);
	off = 2;
	if (has_def)
	{
		def_bytes = LanceLoadU16(p + off);
		off += 2;
	}
	for (uint64_t b = 0; b < nb; b++)
		bufs[b].len = LanceLoadU16(p + off + 2 * b);
	off = (hdr + 7) & ~(uint64_t) 7;
	if (has_def)
	{
		if (num_levels != nvals)
			return LanceErrorSet(error, EINVAL, "mini-block chunk has %u levels for %llu values",
								 num_levels, (unsigned long long) nvals);
		if (!LanceRangeOk(off, def_bytes, len))
			return LanceErrorSet(error, EINVAL, "mini-block definition levels run past the chunk");
		defbuf.data = p + off;
		defbuf.len = def_bytes;
		off = (off + def_bytes + 7) & ~(uint64_t) 7;
	}
	for (uint64_t b = 0; b < nb; b++)
	{
		if (!LanceRangeOk(off, bufs[b].len, len))
			return LanceErrorSet(error, EINVAL, "mini-block value buffer runs past the chunk");
		bufs[b].data = p + off;
		off = (off + bufs[b].len + 7) & ~(uint64_t) 7;
	}
	LanceDecodedInit(&vals, req->allocator);
	LanceDecodedInit(&defs, req->allocator);
	rc = LanceDecompress21(mb->value_compression, bufs, (size_t) nb, nvals,
						   req->allocator, &vals, error);
	if (rc == 0 && dict != NULL)
	{
		if (vals.bits_per_value != 8 && vals.bits_per_value != 16 &&
			vals.bits_per_value != 32 && vals.bits_per_value != 64)
			rc = LanceErrorSet(error, EINVAL, "dictionary indices of %u bits", vals.bits_per_value);
	}
	else if (rc == 0 && out->bits_per_value != 0 && vals.bits_per_value != out->bits_per_value)
		rc = LanceErrorSet(error, EINVAL, "expected %u-bit values but the page has %u-bit values",
						   out->bits_per_value, vals.bits_per_value);
	if (rc == 0 && dict == NULL && out->bits_per_value == 0 && vals.bits_per_value != 0)
		rc = LanceErrorSet(error, EINVAL, "expected variable-width values but the page has fixed-width ones");
	if (rc == 0 && has_def)
	{
		rc = LanceDecompress21(mb->def_compression, &defbuf, 1, nvals, req->allocator, &defs, error);
		if (rc == 0 && defs.bits_per_value != 16)
			rc = LanceErrorSet(error, EINVAL, "expected 16-bit definition levels but found %u bits",
							   defs.bits_per_value);
	}
	/* Fast path: a contiguous run of plain fixed-width values, no nulls. */
	if (rc == 0 && req->rows == NULL && !has_def && dict == NULL && out->scatter == NULL &&
		vals.bits_per_value >= 8 && *k < req->n)
	{
		uint64_t	r = req_row(req, *k) - row0;
		uint64_t	count = nvals - r < req->n - *k ? nvals - r : req->n - *k;
		size_t		w = vals.bits_per_value / 8;
		uint8_t    *dest = LanceOutReserveFixed(out, count, error, &rc);

		if (dest != NULL)
		{
			memcpy(dest, vals.values + r * w, (size_t) count * w);
			*k += count;
			rc = LanceOutItemValidity(out, vals.validity, r * out->list_size, count, error);
		}
	}
	while (rc == 0 && *k < req->n)
	{
		uint64_t	r = req_row(req, *k);
		bool		valid;

		if (r < row0 || r >= row0 + nvals)
			break;
		r -= row0;
		valid = !has_def || LanceLoadU16(defs.values + r * 2) == 0;
		if (valid && dict != NULL)
			rc = emit_dict(out, dict, &vals, r, error);
		else
			rc = emit_decoded(out, &vals, r, valid, error);
		(*k)++;
	}
	LanceDecodedReset(&vals);
	LanceDecodedReset(&defs);
	return rc;
}

static int
decode_miniblock(const LancePageRead *req, const Lance__Encodings21__MiniBlockLayout *mb,
				 LanceOut *out, LanceError *error)
{
	const LancePageInfo *page = req->page;
	ChunkMap	local = {0};
	const ChunkMap *map = NULL;
	Dict		dict;
	uint64_t	k = 0;
	uint8_t    *span = NULL;
	size_t		span_cap = 0;
	int			rc;

	if (mb->rep_compression != NULL)
		return LanceErrorSet(error, ENOTSUP, "mini-block pages with repetition levels (lists) are not supported");
	if ((rc = check_layers(mb->layers, mb->n_layers, error)) != 0)
		return rc;
	if (mb->num_buffers < 1 || mb->num_buffers > 8)
		return LanceErrorSet(error, EINVAL, "mini-block page with %llu value buffers per chunk",
							 (unsigned long long) mb->num_buffers);
	if (page->num_buffers < 2)
		return LanceErrorSet(error, EINVAL, "a mini-block page needs 2 buffers but has %zu",
							 page->num_buffers);
	if (mb->num_items != page->num_rows)
		return LanceErrorSet(error, EINVAL, "mini-block page has %llu items for %llu rows",
							 (unsigned long long) mb->num_items, (unsigned long long) page->num_rows);
	memset(&dict, 0, sizeof(dict));
	LanceDecodedInit(&dict.fixed, req->allocator);
	if ((rc = get_chunk_map(req, mb->num_items, &local, &map, error)) != 0 ||
		(mb->dictionary != NULL && (rc = load_dict(req, mb, out, &dict, error)) != 0))
	{
		put_chunk_map(req, map, &local);
		LanceDecodedReset(&dict.fixed);
		LanceFree(req->allocator, dict.bytes, dict.bytes_len);
		return rc;
	}
	while (rc == 0 && k < req->n)
	{
		uint64_t	c0 = find_chunk(map, req_row(req, k));
		uint64_t	c1 = c0;
		uint64_t	bytes;
		/*
		 * Extend the span over the following chunks the (ascending) request
		 * needs, so consecutive chunks cost one read.
		 */
		for (uint64_t j = k; j < req->n; j++)
		{
			uint64_t	r = req_row(req, j);

			if (r < map->row_start[c1 + 1])
				continue;
			if (c1 + 1 < map->num_chunks && r < map->row_start[c1 + 2] &&
				map->byte_start[c1 + 2] - map->byte_start[c0] <= MAX_READ_SPAN)
			{
				c1++;
				continue;
			}
			break;
		}
		bytes = map->byte_start[c1 + 1] - map->byte_start[c0];
		if (bytes > span_cap)
		{
			LanceFree(req->allocator, span, span_cap);
			span = LanceAlloc(req->allocator, (size_t) bytes);
			span_cap = span ? (size_t) bytes : 0;
			if (span == NULL)
			{
				rc = LanceErrorSet(error, ENOMEM, "out of memory");
				break;
			}
		}
		rc = req->io->read(req->io->ctx, page->buffer_offsets[1] + map->byte_start[c0],
						   (size_t) bytes, span);
		if (rc != 0)
		{
			rc = LanceErrorSet(error, rc, "cannot read mini-block chunks: %s", strerror(rc));
			break;
		}
		for (uint64_t c = c0; rc == 0 && c <= c1 && k < req->n; c++)
		{
			uint64_t	r = req_row(req, k);

			if (r < map->row_start[c] || r >= map->row_start[c + 1])
				continue;
			rc = decode_chunk(req, mb, mb->dictionary ? &dict : NULL,
							  span + (map->byte_start[c] - map->byte_start[c0]),
							  map->byte_start[c + 1] - map->byte_start[c], map->row_start[c],
							  map->row_start[c + 1] - map->row_start[c], &k, out, error);
		}
	}
	LanceFree(req->allocator, span, span_cap);
	put_chunk_map(req, map, &local);
	LanceDecodedReset(&dict.fixed);
	LanceFree(req->allocator, dict.bytes, dict.bytes_len);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Mini-block lists (one list layer over fixed-width items)
 * ------------------------------------------------------------------------- */

/*
 * Definition levels of [item layer, list layer] (fact: lance repdef.rs
 * assigns levels from the outermost layer down): 0 valid item, 1 null item
 * if items are nullable; then the list layer's null and/or empty levels.
 */
typedef struct ListLevels
{
	int			null_item;		/* -1: none */
	int			null_list;
	int			empty_list;
} ListLevels;

static int
list_levels(const Lance__Encodings21__RepDefLayer *layers, size_t n, ListLevels *lv,
			LanceError *error)
{
	int			base;

	if (n != 2 || (layers[0] != LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_ITEM &&
				   layers[0] != LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM))
		return LanceErrorSet(error, ENOTSUP, "list pages with %zu rep/def layers are not supported", n);
	base = layers[0] == LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_ITEM ? 1 : 0;
	lv->null_item = base ? 1 : -1;
	lv->null_list = lv->empty_list = -1;
	switch (layers[1])
	{
		case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_ALL_VALID_LIST:
			break;
		case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULLABLE_LIST:
			lv->null_list = base + 1;
			break;
		case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_EMPTYABLE_LIST:
			lv->empty_list = base + 1;
			break;
		case LANCE__ENCODINGS21__REP_DEF_LAYER__REPDEF_NULL_AND_EMPTY_LIST:
			lv->null_list = base + 1;
			lv->empty_list = base + 2;
			break;
		default:
			return LanceErrorSet(error, ENOTSUP, "list layer %d is not supported", (int) layers[1]);
	}
	return 0;
}

/*
 * Decode a whole list page into page-level items (appended to 'items') and
 * per-row item end positions and validity (row_end, row_valid: one entry
 * per top-level row of the page).
 */
static int
decode_list_page(const LancePageRead *req, const Lance__Encodings21__MiniBlockLayout *mb,
				 LanceOut *items, uint64_t *row_end, uint8_t *row_valid, LanceError *error)
{
	const LancePageInfo *page = req->page;
	ChunkMap	local = {0};
	const ChunkMap *map = NULL;
	ListLevels	lv = {-1, -1, -1};
	uint8_t    *data = NULL;
	uint64_t	data_len = 0;
	int64_t		row = -1;
	bool		has_def = mb->def_compression != NULL;
	int			rc;

	if ((rc = list_levels(mb->layers, mb->n_layers, &lv, error)) != 0)
		return rc;
	if (mb->dictionary != NULL)
		return LanceErrorSet(error, ENOTSUP, "list pages with a dictionary are not supported");
	if (mb->repetition_index_depth > 1)
		return LanceErrorSet(error, ENOTSUP, "lists nested %u deep are not supported",
							 mb->repetition_index_depth);
	if (mb->num_buffers < 1 || mb->num_buffers > 8 || page->num_buffers < 2)
		return LanceErrorSet(error, EINVAL, "malformed list page (%llu value buffers, %zu page buffers)",
							 (unsigned long long) mb->num_buffers, page->num_buffers);
	if ((rc = get_chunk_map(req, mb->num_items, &local, &map, error)) == 0)
	{
		data_len = map->byte_start[map->num_chunks];
		rc = LanceReadBytes(req->io, page->buffer_offsets[1], data_len, req->allocator, &data, error);
	}
	for (uint64_t c = 0; rc == 0 && c < map->num_chunks; c++)
	{
		const uint8_t *p = data + map->byte_start[c];
		uint64_t	len = map->byte_start[c + 1] - map->byte_start[c];
		uint64_t	nvals = map->row_start[c + 1] - map->row_start[c];
		uint64_t	nb = mb->num_buffers;
		uint64_t	hdr = 4 + (has_def ? 2 : 0) + 2 * nb;
		uint64_t	off,
					item = 0;
		uint16_t	num_levels,
					rep_bytes,
					def_bytes = 0;
		LanceBytes	repbuf,
					defbuf,
					bufs[8];
		LanceDecoded reps,
					defs,
					vals;

		if (len < hdr)
		{
			rc = LanceErrorSet(error, EINVAL, "list chunk of %llu bytes is shorter than its header",
							   (unsigned long long) len);
			break;
		}
		num_levels = LanceLoadU16(p);
		rep_bytes = LanceLoadU16(p + 2);
		off = 4;
		if (has_def)
		{
			def_bytes = LanceLoadU16(p + off);
			off += 2;
		}
		for (uint64_t b = 0; b < nb; b++)
			bufs[b].len = LanceLoadU16(p + off + 2 * b);
		off = (hdr + 7) & ~(uint64_t) 7;
		repbuf.data = p + off;
		repbuf.len = rep_bytes;
		if (!LanceRangeOk(off, rep_bytes, len))
		{
			rc = LanceErrorSet(error, EINVAL, "list repetition levels run past the chunk");
			break;
		}
		off = (off + rep_bytes + 7) & ~(uint64_t) 7;
		defbuf.data = p + off;
		defbuf.len = def_bytes;
		if (has_def && !LanceRangeOk(off, def_bytes, len))
		{
			rc = LanceErrorSet(error, EINVAL, "list definition levels run past the chunk");
			break;
		}
		if (has_def)
			off = (off + def_bytes + 7) & ~(uint64_t) 7;
		for (uint64_t b = 0; b < nb && rc == 0; b++)
		{
			if (!LanceRangeOk(off, bufs[b].len, len))
				rc = LanceErrorSet(error, EINVAL, "list value buffer runs past the chunk");
			bufs[b].data = p + off;
			off = (off + bufs[b].len + 7) & ~(uint64_t) 7;
		}
		if (rc != 0)
			break;
		LanceDecodedInit(&reps, req->allocator);
		LanceDecodedInit(&defs, req->allocator);
		LanceDecodedInit(&vals, req->allocator);
		rc = LanceDecompress21(mb->rep_compression, &repbuf, 1, num_levels, req->allocator, &reps, error);
		if (rc == 0 && reps.bits_per_value != 16)
			rc = LanceErrorSet(error, EINVAL, "expected 16-bit repetition levels but found %u bits",
							   reps.bits_per_value);
		if (rc == 0 && has_def)
		{
			rc = LanceDecompress21(mb->def_compression, &defbuf, 1, num_levels, req->allocator, &defs, error);
			if (rc == 0 && defs.bits_per_value != 16)
				rc = LanceErrorSet(error, EINVAL, "expected 16-bit definition levels but found %u bits",
								   defs.bits_per_value);
		}
		if (rc == 0)
			rc = LanceDecompress21(mb->value_compression, bufs, (size_t) nb, nvals, req->allocator, &vals, error);
		if (rc == 0 && vals.bits_per_value != items->bits_per_value)
			rc = LanceErrorSet(error, EINVAL, "expected %u-bit list items but the page has %u-bit items",
							   items->bits_per_value, vals.bits_per_value);
		for (uint64_t j = 0; rc == 0 && j < num_levels; j++)
		{
			uint16_t	rep = LanceLoadU16(reps.values + j * 2);
			int			def = has_def ? LanceLoadU16(defs.values + j * 2) : 0;

			if (rep != 0)
			{
				if (row >= 0)
					row_end[row] = items->length;
				if (++row >= (int64_t) page->num_rows)
				{
					rc = LanceErrorSet(error, EINVAL, "list page holds more than its %llu rows",
									   (unsigned long long) page->num_rows);
					break;
				}
				row_valid[row] = 1;
			}
			else if (row < 0)
			{
				rc = LanceErrorSet(error, EINVAL, "list page starts inside a list");
				break;
			}
			if (def == lv.null_list)
				row_valid[row] = 0;
			else if (def == lv.empty_list)
				;
			else if (def == 0 || def == lv.null_item)
			{
				if (item >= nvals)
				{
					rc = LanceErrorSet(error, EINVAL, "list chunk has more items than its %llu values",
									   (unsigned long long) nvals);
					break;
				}
				rc = emit_decoded(items, &vals, item++, def == 0, error);
			}
			else
				rc = LanceErrorSet(error, EINVAL, "definition level %d is not valid for this list", def);
		}
		if (rc == 0 && item != nvals)
			rc = LanceErrorSet(error, EINVAL, "list chunk used %llu of its %llu values",
							   (unsigned long long) item, (unsigned long long) nvals);
		LanceDecodedReset(&reps);
		LanceDecodedReset(&defs);
		LanceDecodedReset(&vals);
	}
	if (rc == 0 && row + 1 != (int64_t) page->num_rows)
		rc = LanceErrorSet(error, EINVAL, "list page has %lld rows but should have %llu",
						   (long long) (row + 1), (unsigned long long) page->num_rows);
	if (rc == 0)
		row_end[row] = items->length;
	LanceFree(req->allocator, data, (size_t) data_len);
	put_chunk_map(req, map, &local);
	return rc;
}

/* A row of a list: validity, and the item count so far as its end offset. */
static int
append_list_row(LanceOut *rows, const LanceOut *items, bool valid, LanceError *error)
{
	uint64_t	end = items->length;
	int			rc;

	if ((rc = LanceBufAppendByte(&rows->validity, valid ? 1 : 0, 1)) != 0 ||
		(rc = LanceBufAppend(&rows->offsets, &end, 8)) != 0)
		return LanceErrorSet(error, rc, "out of memory");
	rows->length++;
	rows->null_count += !valid;
	return 0;
}

int
LanceDecodeListPageV21(const LancePageRead *req, LanceOut *rows, LanceOut *items,
					   LanceError *error)
{
	const Lance__Encodings21__PageLayout *layout = req->page->layout;
	const LancePageInfo *page = req->page;
	LanceOut	tmp;
	uint64_t   *row_end = NULL;
	uint8_t    *row_valid = NULL;
	size_t		rb = items->bits_per_value == 1 ? 1 : items->bits_per_value / 8;
	int			rc;

	if (layout == NULL)
		return LanceErrorSet(error, EINVAL, "a 2.1 page without a page layout");
	if (layout->layout_case == LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_ALL_NULL_LAYOUT)
	{
		const Lance__Encodings21__AllNullLayout *an = layout->all_null_layout;
		ListLevels	lv = {-1, -1, -1};
		uint8_t    *def = NULL;

		/* only null and empty lists: buffer 1 holds one u16 def level per row */
		rc = 0;
		if (page->num_buffers >= 2)
		{
			if ((rc = list_levels(an->layers, an->n_layers, &lv, error)) == 0 &&
				page->buffer_sizes[1] != page->num_rows * 2)
				rc = LanceErrorSet(error, EINVAL, "an all-null list page has %llu bytes of levels for %llu rows",
								   (unsigned long long) page->buffer_sizes[1],
								   (unsigned long long) page->num_rows);
			if (rc == 0)
				rc = LanceReadBytes(req->io, page->buffer_offsets[1], page->buffer_sizes[1],
									req->allocator, &def, error);
		}
		for (uint64_t i = 0; rc == 0 && i < req->n; i++)
			rc = append_list_row(rows, items,
								 def != NULL && LanceLoadU16(def + req_row(req, i) * 2) != lv.null_list,
								 error);
		LanceFree(req->allocator, def, def ? (size_t) page->buffer_sizes[1] : 0);
		return rc;
	}
	if (layout->layout_case != LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_MINI_BLOCK_LAYOUT ||
		layout->mini_block_layout->rep_compression == NULL)
		return LanceErrorSet(error, ENOTSUP, "list pages other than mini-block with repetition are not supported");
	if (page->num_rows > ((uint64_t) 1 << 32))
		return LanceErrorSet(error, EINVAL, "list page of %llu rows", (unsigned long long) page->num_rows);
	memset(&tmp, 0, sizeof(tmp));
	tmp.type = items->type;
	tmp.bits_per_value = items->bits_per_value;
	LanceBufInit(&tmp.validity, req->allocator);
	LanceBufInit(&tmp.values, req->allocator);
	LanceBufInit(&tmp.offsets, req->allocator);
	row_end = LanceAllocZero(req->allocator, (size_t) page->num_rows * sizeof(uint64_t) + 1);
	row_valid = LanceAllocZero(req->allocator, (size_t) page->num_rows + 1);
	rc = row_end && row_valid ? decode_list_page(req, layout->mini_block_layout, &tmp, row_end, row_valid, error) :
		LanceErrorSet(error, ENOMEM, "out of memory");
	for (uint64_t i = 0; rc == 0 && i < req->n; i++)
	{
		uint64_t	r = req_row(req, i);
		uint64_t	a = r == 0 ? 0 : row_end[r - 1];
		uint64_t	b = row_end[r];

		if (!row_valid[r])
		{
			rc = append_list_row(rows, items, false, error);
			continue;
		}
		for (uint64_t t = a; rc == 0 && t < b; t++)
			rc = LanceOutAppendFixed(items, tmp.values.data + t * rb, tmp.validity.data[t] != 0, error);
		if (rc == 0)
			rc = append_list_row(rows, items, true, error);
	}
	LanceFree(req->allocator, row_end, (size_t) page->num_rows * sizeof(uint64_t) + 1);
	LanceFree(req->allocator, row_valid, (size_t) page->num_rows + 1);
	LanceBufReset(&tmp.validity);
	LanceBufReset(&tmp.values);
	LanceBufReset(&tmp.offsets);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Full-zip
 * ------------------------------------------------------------------------- */

static int
ctrl_bytes(uint32_t bits, uint32_t *bytes)
{
	*bytes = bits == 0 ? 0 : bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 0;
	return bits > 32 ? EINVAL : 0;
}

static uint32_t
load_ctrl(const uint8_t *p, uint32_t n)
{
	return n == 1 ? p[0] : n == 2 ? LanceLoadU16(p) : n == 4 ? LanceLoadU32(p) : 0;
}

/*
 * Fixed width: value bits, and the bytes of per-value FSL validity in front.
 * A fixed-size list whose items are all null is Constant{} without a value
 * and 0 bits per value (lance's ValueEncoder for an all-null child): no
 * value bytes, only control words; *null_items is then set.  (A value of 0
 * bytes is no constant, so our proto's plain 'bytes' field is enough.)
 */
static int
fullzip_fixed_shape(const Lance__Encodings21__FullZipLayout *fz, uint32_t *value_bytes,
					uint32_t *prefix, bool *null_items, LanceError *error)
{
	const Lance__Encodings21__CompressiveEncoding *vc = fz->value_compression;
	uint64_t	bits = fz->bits_per_value;

	*prefix = 0;
	*null_items = false;
	if (vc == NULL)
		return LanceErrorSet(error, EINVAL, "full-zip page without a value encoding");
	if (vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_CONSTANT &&
		vc->constant->value.len == 0)
	{
		if (bits != 0)
			return LanceErrorSet(error, EINVAL,
								 "expected 0 bits per value for null items but found %llu",
								 (unsigned long long) bits);
		*value_bytes = 0;
		*null_items = true;
		return 0;
	}
	if (vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FIXED_SIZE_LIST)
	{
		const Lance__Encodings21__FixedSizeList *fsl = vc->fixed_size_list;

		if (fsl->values == NULL ||
			fsl->values->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT)
			return LanceErrorSet(error, ENOTSUP, "full-zip FixedSizeList of %s is not supported",
								 LanceCompressiveEncodingName(fsl->values));
		if (fsl->has_validity)
			*prefix = (uint32_t) ((fsl->items_per_value + 7) / 8);
	}
	else if (vc->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FLAT)
		return LanceErrorSet(error, ENOTSUP, "full-zip values encoded with %s are not supported",
							 LanceCompressiveEncodingName(vc));
	if (bits == 0 || bits % 8 != 0 || bits / 8 <= *prefix || bits > ((uint64_t) 1 << 31))
		return LanceErrorSet(error, EINVAL, "full-zip page with %llu bits per value",
							 (unsigned long long) bits);
	*value_bytes = (uint32_t) (bits / 8) - *prefix;
	return 0;
}

/*
 * The rows of a full-zip page of plain fixed-width values, straight into
 * 'out' through read_many: the rows a Take wants are scattered over the
 * page, and a batching back end reads them all at once.  Runs of
 * consecutive rows are one range each.  With req->pending the ranges wait
 * there for the Take's other pages (one read_many for them all); else this
 * page's are read now.
 */
static int
read_fullzip_rows(const LancePageRead *req, uint64_t stride, LanceOut *out, LanceError *error)
{
	const LancePageInfo *page = req->page;
	LancePendingReads local = {req->allocator, NULL, 0, 0};
	LancePendingReads *pending = req->pending ? req->pending : &local;
	uint64_t	k = 0;
	int			rc = 0;

	if (pending->cap - pending->n < req->n)
	{
		size_t		cap = pending->n + (size_t) req->n;
		LanceReadRange *grown;

		if (cap < 2 * pending->cap)
			cap = 2 * pending->cap;
		grown = LanceRealloc(pending->allocator, pending->ranges,
							 pending->cap * sizeof(LanceReadRange), cap * sizeof(LanceReadRange));
		if (grown == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory");
		pending->ranges = grown;
		pending->cap = cap;
	}
	while (k < req->n)
	{
		uint64_t	r0 = req_row(req, k);
		uint64_t	run = 1;
		uint8_t    *dest;
		LanceReadRange *range;

		while (out->scatter == NULL && k + run < req->n && req_row(req, k + run) == r0 + run &&
			   (run + 1) * stride <= MAX_READ_SPAN)
			run++;
		dest = LanceOutReserveFixed(out, run, error, &rc);
		if (dest == NULL)
			break;
		range = &pending->ranges[pending->n++];
		range->offset = page->buffer_offsets[0] + r0 * stride;
		range->length = (size_t) (run * stride);
		range->dest = (void *) (uintptr_t) (dest - out->values.data);
		k += run;
	}
	if (rc == 0 && req->pending == NULL)
		rc = LanceReadsFlush(req->io, &local, out, error);
	LanceFree(local.allocator, local.ranges, local.cap * sizeof(LanceReadRange));
	return rc;
}

int
LanceReadsFlush(const LanceFileIo *io, LancePendingReads *pending, LanceOut *out,
				LanceError *error)
{
	int			rc;

	if (pending->n == 0)
		return 0;
	for (size_t i = 0; i < pending->n; i++)
		pending->ranges[i].dest = out->values.data + (uintptr_t) pending->ranges[i].dest;
	rc = io->read_many(io->ctx, pending->ranges, pending->n);
	pending->n = 0;
	if (rc != 0)
		return LanceErrorSet(error, rc, "cannot read a full-zip page: %s", strerror(rc));
	return 0;
}

static int
decode_fullzip_fixed(const LancePageRead *req, const Lance__Encodings21__FullZipLayout *fz,
					 uint32_t cb, LanceOut *out, LanceError *error)
{
	const LancePageInfo *page = req->page;
	uint32_t	vbytes = 0,
				prefix = 0;
	uint64_t	stride,
				need = 0;
	uint8_t    *tmp = NULL;
	size_t		tmp_cap = 0;
	uint64_t	k = 0;
	bool		null_items;
	int			rc;

	if ((rc = fullzip_fixed_shape(fz, &vbytes, &prefix, &null_items, error)) != 0)
		return rc;
	if (null_items && cb == 0)
	{
		/* every row valid with null items: nothing stored to read */
		for (; rc == 0 && k < req->n; k++)
			rc = LanceOutAppendNullItems(out, error);
		return rc;
	}
	/* (null items: LanceOutAppendNullItems checks the column) */
	if (!null_items && (out->bits_per_value == 1 || vbytes * 8 != out->bits_per_value))
		return LanceErrorSet(error, EINVAL, "expected %u-bit values but the page has %u-bit values",
							 out->bits_per_value, vbytes * 8);
	if (prefix > 0 && prefix != (out->list_size + 7) / 8)
		return LanceErrorSet(error, EINVAL, "full-zip item validity of %u bytes for %u items",
							 prefix, out->list_size);
	stride = (uint64_t) cb + prefix + vbytes;
	if (page->num_buffers < 1 || !LanceMulU64(stride, page->num_rows, &need) ||
		need > page->buffer_sizes[0])
		return LanceErrorSet(error, EINVAL, "full-zip page of %llu rows needs %llu bytes but has %llu",
							 (unsigned long long) page->num_rows, (unsigned long long) need,
							 (unsigned long long) (page->num_buffers ? page->buffer_sizes[0] : 0));
	if (cb == 0 && prefix == 0 && !null_items && req->io->read_many != NULL)
		return read_fullzip_rows(req, stride, out, error);
	while (rc == 0 && k < req->n)
	{
		uint64_t	r0 = req_row(req, k);
		uint64_t	run = 1;
		uint64_t	bytes;
		uint8_t    *dest;

		/* a run of consecutive rows, bounded by MAX_READ_SPAN */
		while (out->scatter == NULL && k + run < req->n && req_row(req, k + run) == r0 + run &&
			   (run + 1) * stride <= MAX_READ_SPAN)
			run++;
		bytes = run * stride;
		if (cb == 0 && prefix == 0 && !null_items)
		{
			dest = LanceOutReserveFixed(out, run, error, &rc);
			if (dest == NULL)
				break;
			rc = req->io->read(req->io->ctx, page->buffer_offsets[0] + r0 * stride, (size_t) bytes, dest);
			if (rc != 0)
			{
				rc = LanceErrorSet(error, rc, "cannot read a full-zip page: %s", strerror(rc));
				break;
			}
			k += run;
			continue;
		}
		if (bytes > tmp_cap)
		{
			LanceFree(req->allocator, tmp, tmp_cap);
			tmp = LanceAlloc(req->allocator, (size_t) bytes);
			tmp_cap = tmp ? (size_t) bytes : 0;
			if (tmp == NULL)
			{
				rc = LanceErrorSet(error, ENOMEM, "out of memory");
				break;
			}
		}
		rc = req->io->read(req->io->ctx, page->buffer_offsets[0] + r0 * stride, (size_t) bytes, tmp);
		if (rc != 0)
		{
			rc = LanceErrorSet(error, rc, "cannot read a full-zip page: %s", strerror(rc));
			break;
		}
		for (uint64_t i = 0; rc == 0 && i < run; i++)
		{
			const uint8_t *item = tmp + i * stride;
			bool		valid = (load_ctrl(item, cb) & ((1u << fz->bits_def) - 1)) == 0;

			if (!valid)
				rc = LanceOutAppendNull(out, error);
			else if (null_items)
				rc = LanceOutAppendNullItems(out, error);
			else
				rc = LanceOutAppendFixed(out, item + cb + prefix, true, error);
			if (rc == 0 && valid && prefix > 0)
				rc = LanceOutItemValidity(out, item + cb, 0, 1, error);
		}
		k += run;
	}
	LanceFree(req->allocator, tmp, tmp_cap);
	return rc;
}

static uint64_t
load_index(const uint8_t *p, uint32_t w, uint64_t i)
{
	p += i * w;
	return w == 1 ? p[0] : w == 2 ? LanceLoadU16(p) : w == 4 ? LanceLoadU32(p) : LanceLoadU64(p);
}

/* Decompress one FSST item (at most 8 bytes per code) through 'plain' and append it. */
static int
append_fsst(const LancePageRead *req, const LanceFsstTable *table, const uint8_t *in, uint64_t len,
			uint8_t **plain, size_t *plain_cap, LanceOut *out, LanceError *error)
{
	size_t		need = (size_t) len * 8 + 1,
				got;
	int			rc;

	if (need > *plain_cap)
	{
		LanceFree(req->allocator, *plain, *plain_cap);
		*plain = LanceAlloc(req->allocator, need);
		*plain_cap = *plain ? need : 0;
		if (*plain == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory");
	}
	if ((rc = LanceFsstDecompress(table, in, (size_t) len, *plain, *plain_cap, &got, error)) != 0)
		return rc;
	return LanceOutAppendVar(out, *plain, got, true, error);
}

static int
decode_fullzip_variable(const LancePageRead *req, const Lance__Encodings21__FullZipLayout *fz,
						uint32_t cb, LanceOut *out, LanceError *error)
{
	const LancePageInfo *page = req->page;
	const Lance__Encodings21__CompressiveEncoding *vc = fz->value_compression;
	uint32_t	lw = fz->bits_per_offset / 8;
	uint64_t	index_size,
				w,
				k = 0;
	uint8_t    *index = NULL;
	uint8_t    *tmp = NULL;
	size_t		tmp_cap = 0;
	LanceFsstTable *fsst = NULL;
	uint8_t    *plain = NULL;
	size_t		plain_cap = 0;
	int			rc;

	if (vc != NULL && vc->compression_case == LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_FSST)
	{
		const Lance__Encodings21__CompressiveEncoding *inner = vc->fsst->values;

		if (inner == NULL || inner->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE)
			return LanceErrorSet(error, ENOTSUP, "full-zip Fsst of %s is not supported",
								 LanceCompressiveEncodingName(inner));
		fsst = LanceAlloc(req->allocator, sizeof(LanceFsstTable));
		if (fsst == NULL)
			return LanceErrorSet(error, ENOMEM, "out of memory");
		rc = LanceFsstTableParse(fsst, vc->fsst->symbol_table.data, vc->fsst->symbol_table.len, error);
		if (rc != 0)
		{
			LanceFree(req->allocator, fsst, sizeof(LanceFsstTable));
			return rc;
		}
		vc = inner;
	}
	if (vc == NULL || vc->compression_case != LANCE__ENCODINGS21__COMPRESSIVE_ENCODING__COMPRESSION_VARIABLE)
	{
		LanceFree(req->allocator, fsst, sizeof(LanceFsstTable));
		return LanceErrorSet(error, ENOTSUP, "full-zip variable-width values encoded with %s are not supported",
							 LanceCompressiveEncodingName(vc));
	}
	index_size = page->num_buffers >= 2 ? page->buffer_sizes[1] : 0;
	w = index_size / (page->num_rows + 1);
	if (lw != 4 && lw != 8)
		rc = LanceErrorSet(error, EINVAL, "full-zip page with %u-bit lengths", fz->bits_per_offset);
	else if (out->bits_per_value != 0)
		rc = LanceErrorSet(error, EINVAL, "expected fixed-width values but the page has variable-width ones");
	else if (page->num_buffers < 2)
		rc = LanceErrorSet(error, EINVAL, "a variable full-zip page needs 2 buffers but has %zu",
						   page->num_buffers);
	else if ((w != 1 && w != 2 && w != 4 && w != 8) || w * (page->num_rows + 1) != index_size)
		rc = LanceErrorSet(error, EINVAL, "full-zip repetition index of %llu bytes for %llu rows",
						   (unsigned long long) index_size, (unsigned long long) page->num_rows);
	else
		rc = LanceReadBytes(req->io, page->buffer_offsets[1], index_size, req->allocator, &index, error);
	while (rc == 0 && k < req->n)
	{
		uint64_t	r = req_row(req, k);
		uint64_t	run = 1;
		uint64_t	start,
					end;

		while (k + run < req->n && req_row(req, k + run) == r + run)
			run++;
		start = load_index(index, (uint32_t) w, r);
		end = load_index(index, (uint32_t) w, r + run);
		if (end < start || end > page->buffer_sizes[0] || end - start > MAX_READ_SPAN * 4ull)
		{
			rc = LanceErrorSet(error, EINVAL, "full-zip repetition index entry %llu..%llu is out of range",
							   (unsigned long long) start, (unsigned long long) end);
			break;
		}
		if (end - start > tmp_cap || tmp == NULL)
		{
			LanceFree(req->allocator, tmp, tmp_cap);
			tmp_cap = (size_t) (end - start) + 1;
			tmp = LanceAlloc(req->allocator, tmp_cap);
			if (tmp == NULL)
			{
				tmp_cap = 0;
				rc = LanceErrorSet(error, ENOMEM, "out of memory");
				break;
			}
		}
		rc = req->io->read(req->io->ctx, page->buffer_offsets[0] + start, (size_t) (end - start), tmp);
		if (rc != 0)
		{
			rc = LanceErrorSet(error, rc, "cannot read a full-zip page: %s", strerror(rc));
			break;
		}
		for (uint64_t i = 0; rc == 0 && i < run; i++)
		{
			uint64_t	a = load_index(index, (uint32_t) w, r + i) - start;
			uint64_t	b = load_index(index, (uint32_t) w, r + i + 1) - start;
			const uint8_t *item = tmp + a;
			uint64_t	len;

			if (b < a || b > end - start || b - a < cb)
			{
				rc = LanceErrorSet(error, EINVAL, "full-zip item %llu is malformed",
								   (unsigned long long) (r + i));
				break;
			}
			if ((load_ctrl(item, cb) & ((1u << fz->bits_def) - 1)) != 0)
			{
				rc = LanceOutAppendNull(out, error);
				continue;
			}
			if (b - a < cb + lw)
			{
				rc = LanceErrorSet(error, EINVAL, "full-zip item %llu has no length", (unsigned long long) (r + i));
				break;
			}
			len = lw == 4 ? LanceLoadU32(item + cb) : LanceLoadU64(item + cb);
			if (len != b - a - cb - lw)
			{
				rc = LanceErrorSet(error, EINVAL, "full-zip item %llu: expected %llu bytes but found %llu",
								   (unsigned long long) (r + i), (unsigned long long) len,
								   (unsigned long long) (b - a - cb - lw));
				break;
			}
			if (fsst != NULL)
				rc = append_fsst(req, fsst, item + cb + lw, len, &plain, &plain_cap, out, error);
			else
				rc = LanceOutAppendVar(out, item + cb + lw, len, true, error);
		}
		k += run;
	}
	LanceFree(req->allocator, tmp, tmp_cap);
	LanceFree(req->allocator, plain, plain_cap);
	LanceFree(req->allocator, fsst, fsst ? sizeof(LanceFsstTable) : 0);
	LanceFree(req->allocator, index, index ? (size_t) index_size : 0);
	return rc;
}

static int
decode_fullzip(const LancePageRead *req, const Lance__Encodings21__FullZipLayout *fz,
			   LanceOut *out, LanceError *error)
{
	uint32_t	cb;
	int			rc;

	if (fz->bits_rep != 0)
		return LanceErrorSet(error, ENOTSUP, "full-zip pages with repetition levels (lists) are not supported");
	if ((rc = check_layers(fz->layers, fz->n_layers, error)) != 0)
		return rc;
	if (fz->bits_def > 16 || ctrl_bytes(fz->bits_def, &cb) != 0)
		return LanceErrorSet(error, EINVAL, "full-zip page with %u definition bits", fz->bits_def);
	if (fz->num_items != req->page->num_rows || fz->num_visible_items != req->page->num_rows)
		return LanceErrorSet(error, EINVAL, "full-zip page has %u items for %llu rows",
							 fz->num_items, (unsigned long long) req->page->num_rows);
	switch (fz->details_case)
	{
		case LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_VALUE:
			return decode_fullzip_fixed(req, fz, cb, out, error);
		case LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_OFFSET:
			return decode_fullzip_variable(req, fz, cb, out, error);
		default:
			return LanceErrorSet(error, EINVAL, "full-zip page gives neither bits per value nor per offset");
	}
}

/*
 * Whether each row of 'page' is value_bytes bytes of plain value and
 * nothing else, row r at buffer 0 + r * value_bytes: a full-zip page of
 * fixed-width values without control words (so no null rows) and without
 * item validity, which is how lance writes vectors.  The checks are
 * decode_fullzip's, so a page accepted here decodes to those very bytes;
 * LanceFileReaderTakeViews uses such rows where they lie.
 */
bool
LancePagePlainRows(const LancePageInfo *page, uint64_t value_bytes)
{
	const Lance__Encodings21__PageLayout *layout = page->layout;
	const Lance__Encodings21__FullZipLayout *fz;
	LanceError	ignored;
	uint32_t	cb;
	uint32_t	vbytes;
	uint32_t	prefix;
	bool		null_items;
	uint64_t	need;

	if (layout == NULL ||
		layout->layout_case != LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_FULL_ZIP_LAYOUT)
		return false;
	fz = layout->full_zip_layout;
	if (fz->bits_rep != 0 || check_layers(fz->layers, fz->n_layers, &ignored) != 0 ||
		ctrl_bytes(fz->bits_def, &cb) != 0 || cb != 0 ||
		fz->num_items != page->num_rows || fz->num_visible_items != page->num_rows ||
		fz->details_case != LANCE__ENCODINGS21__FULL_ZIP_LAYOUT__DETAILS_BITS_PER_VALUE ||
		fullzip_fixed_shape(fz, &vbytes, &prefix, &null_items, &ignored) != 0 ||
		prefix != 0 || null_items || vbytes != value_bytes)
		return false;
	return page->num_buffers >= 1 && LanceMulU64(vbytes, page->num_rows, &need) &&
		need <= page->buffer_sizes[0];
}

int
LanceDecodePageV21(const LancePageRead *req, LanceOut *out, LanceError *error)
{
	const Lance__Encodings21__PageLayout *layout = req->page->layout;

	if (layout == NULL)
		return LanceErrorSet(error, EINVAL, "a 2.1 page without a page layout");
	switch (layout->layout_case)
	{
		case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_MINI_BLOCK_LAYOUT:
			return decode_miniblock(req, layout->mini_block_layout, out, error);
		case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_FULL_ZIP_LAYOUT:
			return decode_fullzip(req, layout->full_zip_layout, out, error);
		case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_ALL_NULL_LAYOUT:
			{
				int			rc = check_layers(layout->all_null_layout->layers,
											  layout->all_null_layout->n_layers, error);

				for (uint64_t i = 0; rc == 0 && i < req->n; i++)
					rc = LanceOutAppendNull(out, error);
				return rc;
			}
		case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_BLOB_LAYOUT:
			return LanceErrorSet(error, ENOTSUP, "page layout BlobLayout is not supported");
		case LANCE__ENCODINGS21__PAGE_LAYOUT__LAYOUT_SPARSE_LAYOUT:
			return LanceErrorSet(error, ENOTSUP, "page layout SparseLayout is not supported");
		default:
			return LanceErrorSet(error, ENOTSUP, "unknown page layout (field %d)",
								 (int) layout->layout_case);
	}
}
