/*
 * ivf_segment.c
 *	  Writing the sealed segment of a lance_ivf index through the Lance
 *	  writer into side storage, and reading it back through a per-backend
 *	  cache.
 *
 * Segments are immutable, so a cached one never goes stale: a scan asks
 * the catalog which segment its snapshot sees and finds it here by name.
 * The cache keeps each segment's centroids and, once a scan probed them, its
 * lists' TIDs, codes and factors (about 20 bytes plus dims / 8 per row, and
 * 8 plus dims * bits / 8 more with B-bit codes);
 * vectors for re-ranking are read from the file on demand, through the I/O
 * runtime.
 *
 * A segment IvfSegmentGet hands out is pinned until the memory context that
 * was current then is reset or deleted: a scan's at its rescan or its end,
 * a statement's at its end or its abort.  A pinned segment is never freed,
 * since its holder may still read it (a cursor open on one index while
 * queries on eight others come and go).  Past SEGMENT_CACHE_SIZE segments
 * the least recently used unpinned ones are freed; a backend that holds
 * more pinned ones keeps them all until it lets go.
 *
 * The lists are most of the memory (a million rows of 784 dimensions take
 * about 130 MB), and a backend that scanned a large index would keep them
 * for good.  So each list is read into a memory context of its own, and
 * once the lists of all cached segments take more than lance_ivf.cache_size
 * the least recently used lists of unpinned segments are freed
 * (ListCacheTrim): when a segment's last holder lets go, when a segment is
 * handed out, and as VACUUM or a fold goes through an index
 * (IvfSegmentTrim).  What running scans hold stays, like the segments
 * themselves.
 */
#include "postgres.h"

#include "compat.h"
#include "funcapi.h"
#include "ivf/ivf_segment.h"
#include "miscadmin.h"
#include "storage/side_storage.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define SEGMENT_CACHE_SIZE 8

struct IvfSegmentWriter
{
	SideFileWriter *file;
	LanceFileWriter *lance;
	int			dims;
	int			lists;
	size_t		code_bytes;
	size_t		ex_code_bytes;	/* 0: no B-bit codes */
	IvfSegmentHeader header;
	const float *centroids;
	int64	   *list_start;
	int			next_list;
	int64		rows;
};

static void
AddField(LanceSchema *schema, const char *name, int32 id, LanceTypeId type,
		 LanceTypeId item_type, int32 list_size)
{
	LanceField	field = {0};
	LanceError	error;

	field.name = (char *) name;
	field.id = id;
	field.parent_id = -1;
	field.type = type;
	field.item_type = item_type;
	field.list_size = list_size;
	SideLanceCheck(LanceSchemaAddField(schema, &field, &error), &error, "lance_ivf segment schema");
}

IvfSegmentWriter *
IvfSegmentBegin(Relation index, int dims, int lists, IvfMetric metric, uint64 seed,
				const RabitqRotation *rotation, int bits, const float *centroids,
				uint64 delta_upto, uint64 tomb_upto, int64 trained_rows)
{
	IvfSegmentWriter *w = palloc0(sizeof(IvfSegmentWriter));
	LanceSchema schema;
	LanceFileWriterOptions options;
	LanceError	error;

	size_t		code_bytes = RabitqCodeBytes(rotation);

	w->dims = dims;
	w->lists = lists;
	w->code_bytes = code_bytes;
	w->ex_code_bytes = RabitqExCodeBytes(rotation, bits);
	w->centroids = centroids;
	w->list_start = palloc0(sizeof(int64) * (lists + 1));
	w->header.magic = IVF_SEGMENT_MAGIC;
	w->header.version = IVF_SEGMENT_VERSION;
	w->header.dims = dims;
	w->header.lists = lists;
	w->header.metric = metric;
	w->header.code_bytes = (int32) code_bytes;
	w->header.seed = seed;
	w->header.delta_upto = delta_upto;
	w->header.tomb_upto = tomb_upto;
	w->header.trained_rows = trained_rows;
	w->header.bits = bits;
	w->header.ex_code_bytes = (int32) w->ex_code_bytes;

	LanceSchemaInit(&schema, SideLanceAllocator());
	AddField(&schema, "tid", IVF_COL_TID, LANCE_TYPE_INT64, LANCE_TYPE_INVALID, 0);
	AddField(&schema, "code", IVF_COL_CODE, LANCE_TYPE_FIXED_SIZE_LIST, LANCE_TYPE_UINT8,
			 (int32) code_bytes);
	AddField(&schema, "factors", IVF_COL_FACTORS, LANCE_TYPE_FIXED_SIZE_LIST, LANCE_TYPE_FLOAT32,
			 (int32) (sizeof(RabitqFactors) / sizeof(float)));
	AddField(&schema, "vector", IVF_COL_VECTOR, LANCE_TYPE_FIXED_SIZE_LIST, LANCE_TYPE_FLOAT32,
			 dims);
	if (bits > 1)
	{
		AddField(&schema, "ex_code", IVF_COL_EX_CODE, LANCE_TYPE_FIXED_SIZE_LIST,
				 LANCE_TYPE_UINT8, (int32) w->ex_code_bytes);
		AddField(&schema, "ex_factors", IVF_COL_EX_FACTORS, LANCE_TYPE_FIXED_SIZE_LIST,
				 LANCE_TYPE_FLOAT32, (int32) (sizeof(RabitqExFactors) / sizeof(float)));
	}

	LanceFileWriterOptionsInit(&options);
	options.allocator = SideLanceAllocator();
	w->file = SideFileCreate(index);
	SideLanceCheck(LanceFileWriterOpen(&w->lance, SideFileLanceSink, w->file, &schema,
									   &options, &error),
				   &error, "could not start a lance_ivf segment");
	return w;
}

static void
FixedSizeList(LanceColumn *column, LanceColumn *items, LanceTypeId item_type, int64 n,
			  int32 size, const void *values)
{
	memset(column, 0, sizeof(*column));
	memset(items, 0, sizeof(*items));
	items->type = item_type;
	items->length = n * size;
	items->values = values;
	column->type = LANCE_TYPE_FIXED_SIZE_LIST;
	column->length = n;
	column->child = items;
	column->list_size = size;
}

void
IvfSegmentWriteList(IvfSegmentWriter *w, int list, int64 n, const int64 *tids,
					const uint8 *codes, const RabitqFactors *factors, const uint8 *ex_codes,
					const RabitqExFactors *ex_factors, const float *vectors)
{
	LanceColumn columns[6];
	LanceColumn items[5];
	int			ncolumns = 4;
	LanceError	error;

	Assert(list >= w->next_list && list < w->lists);
	while (w->next_list <= list)
		w->list_start[w->next_list++] = w->rows;
	if (n == 0)
		return;
	memset(&columns[0], 0, sizeof(LanceColumn));
	columns[0].type = LANCE_TYPE_INT64;
	columns[0].length = n;
	columns[0].values = tids;
	FixedSizeList(&columns[1], &items[0], LANCE_TYPE_UINT8, n, (int32) w->code_bytes, codes);
	FixedSizeList(&columns[2], &items[1], LANCE_TYPE_FLOAT32, n,
				  (int32) (sizeof(RabitqFactors) / sizeof(float)), factors);
	FixedSizeList(&columns[3], &items[2], LANCE_TYPE_FLOAT32, n, w->dims, vectors);
	if (w->ex_code_bytes > 0)
	{
		FixedSizeList(&columns[4], &items[3], LANCE_TYPE_UINT8, n, (int32) w->ex_code_bytes,
					  ex_codes);
		FixedSizeList(&columns[5], &items[4], LANCE_TYPE_FLOAT32, n,
					  (int32) (sizeof(RabitqExFactors) / sizeof(float)), ex_factors);
		ncolumns = 6;
	}
	SideLanceCheck(LanceFileWriterWrite(w->lance, columns, ncolumns, &error), &error,
				   "could not write a lance_ivf list");
	w->rows += n;
}

char *
IvfSegmentFinish(IvfSegmentWriter *w)
{
	size_t		centroid_bytes = sizeof(float) * (size_t) w->lists * w->dims;
	size_t		start_bytes = sizeof(int64) * (w->lists + 1);
	size_t		size = sizeof(IvfSegmentHeader) + centroid_bytes + start_bytes;
	char	   *buffer = palloc(size);
	uint32		index;
	LanceError	error;

	while (w->next_list <= w->lists)
		w->list_start[w->next_list++] = w->rows;
	w->header.rows = w->rows;
	memcpy(buffer, &w->header, sizeof(IvfSegmentHeader));
	memcpy(buffer + sizeof(IvfSegmentHeader), w->centroids, centroid_bytes);
	memcpy(buffer + sizeof(IvfSegmentHeader) + centroid_bytes, w->list_start, start_bytes);
	SideLanceCheck(LanceFileWriterAddGlobalBuffer(w->lance, buffer, size, &index, &error),
				   &error, "could not write the lance_ivf segment header");
	SideLanceCheck(LanceFileWriterFinish(w->lance, NULL, &error), &error,
				   "could not finish a lance_ivf segment");
	LanceFileWriterClose(w->lance);
	pfree(buffer);
	return SideFileFinish(w->file);
}

/* ---- reading */

char *
IvfVisibleSegment(Relation index, Snapshot snapshot)
{
	List	   *files = SideFileList(index, snapshot);

	if (files == NIL)
		return NULL;
	if (list_length(files) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("lance_ivf index \"%s\" has %d segments where one was expected",
						RelationGetRelationName(index), list_length(files))));
	return pstrdup(((SideFileEntry *) linitial(files))->name);
}

static IvfSegment **cache;		/* cache_count of them, in TopMemoryContext */
static int	cache_count;
static int	cache_capacity;
static uint64 cache_clock;
static Size cache_list_bytes;	/* of the loaded lists of all cached segments */
static Size cache_list_peak;	/* the most it was since the last debug call */
static uint64 list_clock;

/* A loaded list, for ListCacheTrim */
typedef struct ListRef
{
	IvfSegment *segment;
	int			list;
	uint64		last_used;
} ListRef;

/*
 * Room for every list of the cached segments, made as segments are opened:
 * ListCacheTrim runs when a holder lets go, also during an abort, where it
 * should not allocate.
 */
static ListRef *trim_refs;
static int	trim_capacity;

static void
SegmentFree(IvfSegment *segment)
{
	Assert(segment->pins == 0);
	cache_list_bytes -= segment->list_bytes;	/* their contexts are cxt's children */
	if (segment->rotation != NULL)
		RabitqRotationFree(segment->rotation);
	IvfCoarseFree(segment->coarse);
	if (segment->file != NULL)
		SideLanceClose(segment->file);
	MemoryContextDelete(segment->cxt);
}

static void
Corrupt(IvfSegment *segment, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INDEX_CORRUPTED),
			 errmsg("lance_ivf segment \"%s\" is invalid: %s", segment->name, what)));
}

static IvfSegment *
SegmentOpen(Relation index, const char *name, uint64 storage_id)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "lance_ivf segment",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	IvfSegment *segment = palloc0(sizeof(IvfSegment));
	LanceArray	buffer;
	LanceError	error;
	const char *bytes;
	size_t		centroid_bytes;
	size_t		header_size;
	size_t		expected;
	const LanceSchema *schema;

	segment->cxt = cxt;
	segment->dboid = MyDatabaseId;
	segment->storage_id = storage_id;
	strlcpy(segment->name, name, sizeof(segment->name));
	PG_TRY();
	{
		segment->file = SideLanceOpen(index, name, true);
		LanceArrayInit(&buffer, SideLanceAllocator());
		if (LanceFileReaderNumGlobalBuffers(segment->file->reader) < 2)
			Corrupt(segment, "it has no header");
		SideLanceCheck(LanceFileReaderReadGlobalBuffer(segment->file->reader, 1, &buffer, &error),
					   &error, "could not read a lance_ivf segment header");
		bytes = (const char *) buffer.column.values;
		if ((size_t) buffer.column.length < IVF_SEGMENT_HEADER_V1_SIZE)
			Corrupt(segment, "its header is short");
		/* version 1 ends before the bits: zeros there, then 1 bit */
		memcpy(&segment->header, bytes, IVF_SEGMENT_HEADER_V1_SIZE);
		header_size = segment->header.version == 1 ? IVF_SEGMENT_HEADER_V1_SIZE :
			sizeof(IvfSegmentHeader);
		if ((size_t) buffer.column.length < header_size)
			Corrupt(segment, "its header is short");
		memcpy(&segment->header, bytes, header_size);
		if (segment->header.version == 1)
			segment->header.bits = 1;
		if (segment->header.magic != IVF_SEGMENT_MAGIC ||
			segment->header.version < 1 || segment->header.version > IVF_SEGMENT_VERSION ||
			segment->header.dims < 1 || segment->header.dims > IVF_MAX_DIMS ||
			segment->header.lists < 1 || segment->header.lists > 65536 ||
			segment->header.code_bytes < 1 || segment->header.rows < 0 ||
			!RabitqBitsSupported(segment->header.bits))
			Corrupt(segment, "its header does not match");
		centroid_bytes = sizeof(float) * (size_t) segment->header.lists * segment->header.dims;
		expected = header_size + centroid_bytes + sizeof(int64) * (segment->header.lists + 1);
		if ((size_t) buffer.column.length != expected)
			Corrupt(segment, "its header has the wrong size");
		segment->centroids = palloc(centroid_bytes);
		memcpy(segment->centroids, bytes + header_size, centroid_bytes);
		segment->list_start = palloc(sizeof(int64) * (segment->header.lists + 1));
		memcpy(segment->list_start, bytes + header_size + centroid_bytes,
			   sizeof(int64) * (segment->header.lists + 1));
		LanceArrayReset(&buffer);
		for (int i = 0; i < segment->header.lists; i++)
			if (segment->list_start[i] < 0 || segment->list_start[i] > segment->list_start[i + 1])
				Corrupt(segment, "its list offsets are out of order");
		if (segment->list_start[0] != 0 ||
			segment->list_start[segment->header.lists] != segment->header.rows ||
			(uint64) segment->header.rows != LanceFileReaderNumRows(segment->file->reader))
			Corrupt(segment, "its row count does not match");
		schema = LanceFileReaderSchema(segment->file->reader);
		if (schema->num_fields != (segment->header.bits > 1 ? 6 : 4) ||
			schema->fields[IVF_COL_CODE].list_size != segment->header.code_bytes ||
			schema->fields[IVF_COL_FACTORS].list_size != (int32) (sizeof(RabitqFactors) / sizeof(float)) ||
			schema->fields[IVF_COL_VECTOR].list_size != segment->header.dims ||
			(segment->header.bits > 1 &&
			 (schema->fields[IVF_COL_EX_CODE].list_size != segment->header.ex_code_bytes ||
			  schema->fields[IVF_COL_EX_FACTORS].list_size !=
			  (int32) (sizeof(RabitqExFactors) / sizeof(float)))))
			Corrupt(segment, "its columns do not match its header");
		segment->rotation = RabitqRotationCreate(segment->header.dims, segment->header.seed);
		if (segment->rotation == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (RabitqCodeBytes(segment->rotation) != (size_t) segment->header.code_bytes ||
			(segment->header.bits > 1 &&
			 RabitqExCodeBytes(segment->rotation, segment->header.bits) !=
			 (size_t) segment->header.ex_code_bytes))
			Corrupt(segment, "its code size does not match its dimensions");
		segment->rotated_centroids =
			palloc_extended(sizeof(float) * (size_t) segment->header.lists *
							RabitqPaddedDims(segment->rotation), MCXT_ALLOC_HUGE);
		for (int i = 0; i < segment->header.lists; i++)
			RabitqRotate(segment->rotation,
						 segment->centroids + (size_t) i * segment->header.dims,
						 segment->rotated_centroids + (size_t) i * RabitqPaddedDims(segment->rotation));
		segment->lists = palloc0(sizeof(IvfList) * segment->header.lists);
		/* without a fast kernel, scans compute every list's exact key */
		if (IvfCoarseFast() && segment->header.dims <= IVF_COARSE_MAX_DIMS)
			segment->coarse = IvfCoarseCreate(segment->centroids, segment->header.lists,
											  segment->header.dims);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		SegmentFree(segment);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return segment;
}

static void
ListFree(IvfSegment *segment, IvfList *list)
{
	MemoryContextDelete(list->cxt);
	segment->list_bytes -= list->bytes;
	cache_list_bytes -= list->bytes;
	memset(list, 0, sizeof(IvfList));
}

static int
CompareLastUsed(const void *a, const void *b)
{
	uint64		x = ((const ListRef *) a)->last_used;
	uint64		y = ((const ListRef *) b)->last_used;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Past lance_ivf.cache_size, frees the least recently used lists of the
 * segments nobody holds (and of 'also', held only by a caller that keeps
 * none of its lists), down to nine tenths of it, so that a backend that
 * scans an index larger than that sorts its lists every so often, not at
 * every scan.
 */
static void
ListCacheTrim(IvfSegment *also)
{
	Size		budget = (Size) ivf_cache_size * 1024;
	ListRef    *refs = trim_refs;
	int			n = 0;

	if (cache_list_bytes <= budget)
		return;
	for (int i = 0; i < cache_count; i++)
	{
		IvfSegment *s = cache[i];

		if (s->list_bytes == 0 || !(s->pins == 0 || (s == also && s->pins == 1)))
			continue;
		/* (short of room only after an out-of-memory error in TrimRoom) */
		for (int l = 0; l < s->header.lists && n < trim_capacity; l++)
			if (s->lists[l].cxt != NULL)
			{
				refs[n].segment = s;
				refs[n].list = l;
				refs[n++].last_used = s->lists[l].last_used;
			}
	}
	qsort(refs, n, sizeof(ListRef), CompareLastUsed);
	for (int i = 0; i < n && cache_list_bytes > budget - budget / 10; i++)
		ListFree(refs[i].segment, &refs[i].segment->lists[refs[i].list]);
}

void
IvfSegmentTrim(IvfSegment *segment)
{
	ListCacheTrim(segment);
}

static void
SegmentUnpin(void *arg)
{
	IvfSegment *segment = (IvfSegment *) arg;

	Assert(segment->pins > 0);
	if (--segment->pins == 0)
		ListCacheTrim(NULL);
}

/* Pins a cached segment for the life of CurrentMemoryContext (see above) */
static IvfSegment *
SegmentPin(IvfSegment *segment)
{
	MemoryContextCallback *callback = MemoryContextAlloc(CurrentMemoryContext,
														 sizeof(MemoryContextCallback));

	callback->func = SegmentUnpin;
	callback->arg = segment;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, callback);
	segment->pins++;
	segment->last_used = ++cache_clock;
	return segment;
}

/* Frees least recently used unpinned segments until at most 'most' are cached */
static void
SegmentCacheTrim(int most)
{
	while (cache_count > most)
	{
		int			victim = -1;

		for (int i = 0; i < cache_count; i++)
			if (cache[i]->pins == 0 &&
				(victim < 0 || cache[i]->last_used < cache[victim]->last_used))
				victim = i;
		if (victim < 0)
			return;
		SegmentFree(cache[victim]);
		cache[victim] = cache[--cache_count];
	}
}

/* Makes trim_refs hold the lists of the cached segments */
static void
TrimRoom(void)
{
	int			total = 0;

	for (int i = 0; i < cache_count; i++)
		total += cache[i]->header.lists;
	if (total <= trim_capacity)
		return;
	trim_refs = trim_refs == NULL ?
		MemoryContextAllocHuge(TopMemoryContext, sizeof(ListRef) * total) :
		repalloc_huge(trim_refs, sizeof(ListRef) * total);
	trim_capacity = total;
}

IvfSegment *
IvfSegmentGet(Relation index, const char *name)
{
	uint64		storage_id = SideStorageGetId(index);

	for (int i = 0; i < cache_count; i++)
	{
		IvfSegment *s = cache[i];

		if (s->dboid == MyDatabaseId && s->storage_id == storage_id && strcmp(s->name, name) == 0)
		{
			/* pinned first, so that it stays while what others let go goes */
			SegmentPin(s);
			SegmentCacheTrim(SEGMENT_CACHE_SIZE);
			ListCacheTrim(NULL);
			return s;
		}
	}
	SegmentCacheTrim(SEGMENT_CACHE_SIZE - 1);
	/* room first: once opened, the segment must have its slot */
	if (cache_count == cache_capacity)
	{
		int			capacity = Max(SEGMENT_CACHE_SIZE, 2 * cache_capacity);

		cache = cache == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(IvfSegment *) * capacity) :
			repalloc(cache, sizeof(IvfSegment *) * capacity);
		cache_capacity = capacity;
	}
	cache[cache_count] = SegmentOpen(index, name, storage_id);
	cache_count++;
	TrimRoom();
	return SegmentPin(cache[cache_count - 1]);
}

/*
 * Rows [first, first + count) of a column (a fixed-size list of list_size
 * items, or a plain column with list_size 0), read with 'allocator' (of a
 * list's context) where they stay: the array's own buffer, not a copy of
 * it.  (A list read this way costs page faults on fresh memory once, not
 * twice.)
 */
static void *
ReadColumn(IvfSegment *segment, const LanceAllocator *allocator, int column, int64 first,
		   int64 count, int32 list_size, const char *what)
{
	LanceArray	array;
	LanceError	error;

	LanceArrayInit(&array, allocator);
	SideLanceCheck(LanceFileReaderReadRange(segment->file->reader, column, first, count,
											&array, &error), &error, what);
	if (array.column.length != count ||
		(list_size > 0 && array.column.list_size != list_size))
		Corrupt(segment, "a column has the wrong shape");
	if (list_size == 0)
		return (char *) array.column.values +
			array.column.offset * LanceTypeByteWidth(array.column.type);
	return (void *) LanceArrayListItems(&array);
}

IvfList *
IvfSegmentList(IvfSegment *segment, int list)
{
	IvfList    *l = &segment->lists[list];
	int64		first = segment->list_start[list];
	int64		count = segment->list_start[list + 1] - first;
	MemoryContext cxt;
	MemoryContext old;
	const LanceAllocator *allocator;

	l->last_used = ++list_clock;
	if (l->loaded)
		return l;
	if (count == 0)
	{
		l->loaded = true;
		return l;
	}
	cxt = AllocSetContextCreate(segment->cxt, "lance_ivf list", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	allocator = SideLanceAllocator();	/* of cxt */
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		l->tids = ReadColumn(segment, allocator, IVF_COL_TID, first, count, 0,
							 "could not read lance_ivf tids");
		l->codes = ReadColumn(segment, allocator, IVF_COL_CODE, first, count,
							  segment->header.code_bytes, "could not read lance_ivf codes");
		l->factors = ReadColumn(segment, allocator, IVF_COL_FACTORS, first, count,
								sizeof(RabitqFactors) / sizeof(float),
								"could not read lance_ivf factors");
		if (segment->header.bits > 1)
		{
			l->ex_codes = ReadColumn(segment, allocator, IVF_COL_EX_CODE, first, count,
									 segment->header.ex_code_bytes,
									 "could not read lance_ivf codes");
			l->ex_factors = ReadColumn(segment, allocator, IVF_COL_EX_FACTORS, first, count,
									   sizeof(RabitqExFactors) / sizeof(float),
									   "could not read lance_ivf factors");
		}
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		memset(l, 0, sizeof(IvfList));
		PG_RE_THROW();
	}
	PG_END_TRY();
	l->cxt = cxt;
	l->bytes = MemoryContextMemAllocated(cxt, false);
	segment->list_bytes += l->bytes;
	cache_list_bytes += l->bytes;
	cache_list_peak = Max(cache_list_peak, cache_list_bytes);
	segment->list_reads++;
	l->count = count;
	l->loaded = true;
	return l;
}

void
IvfSegmentBeginViews(IvfSegment *segment)
{
	SideLanceBeginViews(segment->file);
}

void
IvfSegmentEndViews(IvfSegment *segment)
{
	SideLanceEndViews(segment->file);
}

void
IvfSegmentFetchVectors(IvfSegment *segment, const uint64 *rows, int n, const float **vectors,
					   LanceArray *spill)
{
	LanceError	error;

	LanceArrayReset(spill);
	if (n == 0)
		return;
	SideLanceCheck(LanceFileReaderTakeViews(segment->file->reader, IVF_COL_VECTOR, rows, n,
											(const void **) vectors, spill, &error),
				   &error, "could not read lance_ivf vectors");
	for (int i = 0; i < n; i++)
		if (vectors[i] == NULL)
			Corrupt(segment, "a vector is null");
}

/*
 * lancedb_debug_ivf_segments() -> (storage_id, name, pins, list_bytes,
 * list_reads): this backend's cached segments, for the tests of pinning and
 * of lance_ivf.cache_size.
 */
LANCEDB_FUNCTION(lancedb_debug_ivf_segments);
Datum
lancedb_debug_ivf_segments(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < cache_count; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int64GetDatum((int64) cache[i]->storage_id);
		values[1] = CStringGetTextDatum(cache[i]->name);
		values[2] = Int32GetDatum(cache[i]->pins);
		values[3] = Int64GetDatum((int64) cache[i]->list_bytes);
		values[4] = Int64GetDatum(cache[i]->list_reads);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * lancedb_debug_ivf_list_peak() -> bigint: the most memory the lists of
 * this backend's cached segments took since the last call (which starts
 * again from what they take now), for the tests of lance_ivf.cache_size.
 */
LANCEDB_FUNCTION(lancedb_debug_ivf_list_peak);
Datum
lancedb_debug_ivf_list_peak(PG_FUNCTION_ARGS)
{
	Size		peak = cache_list_peak;

	cache_list_peak = cache_list_bytes;
	PG_RETURN_INT64((int64) peak);
}
