/*
 * ivf_delta.c
 *	  The delta area of a lance_ivf index, rows inserted after the build, in
 *	  the index's own pages; and the tombstones, TIDs of the sealed segment
 *	  that VACUUM found dead.  Both are chains of pages linked through
 *	  IvfPageOpaque.next, appended at the tail recorded in the metapage, and
 *	  changed only through Generic WAL.
 *
 * A delta row is its TID and its (prepared) vector.  A vector longer than a
 * page holds is split into pieces, consecutive items that may cross into
 * the next page; a crash between two pieces leaves an incomplete row, which
 * readers skip because its pieces do not run 0..pieces-1.
 *
 * Inserters serialise on the metapage's buffer lock; scans read page by
 * page with share locks.  Because pages are only appended and items only
 * removed by VACUUM, a scan sees every row committed before it started.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "ivf/ivf.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "vector/vector.h"

#define IvfPageGetOpaque(page) ((IvfPageOpaqueData *) PageGetSpecialPointer(page))

/* Floats of one delta piece that fit an empty page. */
#define DELTA_PIECE_FLOATS \
	((int) ((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData)) - \
			 sizeof(ItemIdData) - MAXALIGN(offsetof(IvfDeltaItem, values)) - 8) / sizeof(float)))

/* TIDs of one tombstone item that fit an empty page. */
#define TOMB_ITEM_TIDS \
	((int) ((BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IvfPageOpaqueData)) - \
			 sizeof(ItemIdData) - MAXALIGN(offsetof(IvfTombItem, tids)) - 8) / sizeof(ItemPointerData)))

static Buffer
NewPage(Relation index)
{
	Buffer		buffer;

	LockRelationForExtension(index, ExclusiveLock);
	buffer = ReadBuffer(index, P_NEW);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	UnlockRelationForExtension(index, ExclusiveLock);
	return buffer;
}

static void
InitPage(Page page, uint16 flags)
{
	IvfPageOpaqueData *opaque;

	PageInit(page, BLCKSZ, sizeof(IvfPageOpaqueData));
	opaque = IvfPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->flags = flags;
	opaque->page_id = IVF_PAGE_ID;
}

/*
 * Append one item to the chain whose head and tail fields are given
 * (delta or tombstone), under the metapage lock the caller holds.
 */
static void
AppendItem(Relation index, Buffer metabuf, bool delta, void *item, Size size)
{
	GenericXLogState *state = GenericXLogStart(index);
	Page		metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	IvfMetaPageData *meta = (IvfMetaPageData *) PageGetContents(metapage);
	BlockNumber *head = delta ? &meta->delta_head : &meta->tomb_head;
	BlockNumber *tail = delta ? &meta->delta_tail : &meta->tomb_tail;
	uint16		flags = delta ? IVF_PAGE_DELTA : IVF_PAGE_TOMB;
	Buffer		tailbuf = InvalidBuffer;
	Buffer		newbuf = InvalidBuffer;
	Page		page = NULL;

	if (*tail != InvalidBlockNumber)
	{
		tailbuf = ReadBuffer(index, *tail);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		page = GenericXLogRegisterBuffer(state, tailbuf, 0);
		if (PageGetFreeSpace(page) < MAXALIGN(size))
		{
			Page		newpage;

			newbuf = NewPage(index);
			newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
			InitPage(newpage, flags);
			IvfPageGetOpaque(page)->next = BufferGetBlockNumber(newbuf);
			*tail = BufferGetBlockNumber(newbuf);
			page = newpage;
		}
	}
	else
	{
		newbuf = NewPage(index);
		page = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
		InitPage(page, flags);
		*head = *tail = BufferGetBlockNumber(newbuf);
	}
	/* both item kinds start with their sequence number */
	*(uint64 *) item = meta->next_seq++;
	if (PageAddItem(page, (Item) item, size, InvalidOffsetNumber, false, false) == InvalidOffsetNumber)
		elog(ERROR, "could not add an item of %zu bytes to lance_ivf index \"%s\"",
			 size, RelationGetRelationName(index));
	GenericXLogFinish(state);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	if (BufferIsValid(newbuf))
		UnlockReleaseBuffer(newbuf);
}

bool
IvfInsert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap,
		  IndexUniqueCheck check, bool unchanged, IndexInfo *info)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "lance_ivf insert",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	IvfMetric	metric = IvfIndexMetric(index);
	Vector	   *v;
	float	   *prepared;
	Buffer		metabuf;
	IvfMetaPageData *meta;
	int			pieces;
	IvfDeltaItem *item;

	(void) heap, (void) check, (void) unchanged, (void) info;
	if (isnull[0])
		goto done;
	v = DatumGetVector(values[0]);
	if (v->dim < 1 || v->dim > IVF_MAX_DIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lance_ivf indexes vectors of 1 to %d dimensions, not %d",
						IVF_MAX_DIMS, v->dim)));
	prepared = palloc(sizeof(float) * v->dim);
	if (!IvfPrepareVector(metric, v->x, v->dim, prepared))
		goto done;

	metabuf = ReadBuffer(index, IVF_METAPAGE);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = (IvfMetaPageData *) PageGetContents(BufferGetPage(metabuf));
	if (meta->dims == 0)
	{
		/* the first vector of an index built empty sets its dimensions */
		GenericXLogState *state = GenericXLogStart(index);

		meta = (IvfMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(state, metabuf, 0));
		meta->dims = v->dim;
		GenericXLogFinish(state);
	}
	else if (meta->dims != v->dim)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("expected %d dimensions, not %d", meta->dims, v->dim)));

	pieces = (v->dim + DELTA_PIECE_FLOATS - 1) / DELTA_PIECE_FLOATS;
	item = palloc(offsetof(IvfDeltaItem, values) + sizeof(float) * Min(v->dim, DELTA_PIECE_FLOATS));
	for (int p = 0; p < pieces; p++)
	{
		int			first = p * DELTA_PIECE_FLOATS;
		int			count = Min(DELTA_PIECE_FLOATS, v->dim - first);

		item->tid = *tid;
		item->piece = p;
		item->pieces = pieces;
		item->count = count;
		memcpy(item->values, prepared + first, sizeof(float) * count);
		AppendItem(index, metabuf, true, item, offsetof(IvfDeltaItem, values) + sizeof(float) * count);
	}
	UnlockReleaseBuffer(metabuf);

done:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return false;
}

void
IvfDeltaScan(Relation index, const IvfMetaPageData *meta, int dims, uint64 min_seq,
			 uint64 end_seq, IvfDeltaCallback callback, void *arg)
{
	BlockNumber blkno = meta->delta_head;
	float	   *vector = palloc(sizeof(float) * Max(dims, 1));
	ItemPointerData current;
	int			next_piece = 0;
	int			filled = 0;

	ItemPointerSetInvalid(&current);
	while (blkno != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
			!(IvfPageGetOpaque(page)->flags & IVF_PAGE_DELTA))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("lance_ivf index \"%s\" has an invalid delta page %u",
							RelationGetRelationName(index), blkno)));
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			IvfDeltaItem *item = (IvfDeltaItem *) PageGetItem(page, PageGetItemId(page, off));

			if (item->piece == 0)
			{
				current = item->tid;
				/* a row a segment absorbed: skip its pieces */
				next_piece = item->seq >= min_seq && item->seq < end_seq ? 0 : -1;
				filled = 0;
			}
			/* a piece that does not continue the row: an incomplete row before it */
			if (item->piece != next_piece || !ItemPointerEquals(&item->tid, &current) ||
				item->count < 0 || filled + item->count > dims)
			{
				next_piece = -1;
				continue;
			}
			memcpy(vector + filled, item->values, sizeof(float) * item->count);
			filled += item->count;
			next_piece++;
			if (next_piece == item->pieces && filled == dims)
			{
				callback(arg, &current, vector);
				next_piece = -1;
			}
		}
		blkno = IvfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	pfree(vector);
}

/*
 * Removes the items of a chain for which 'doomed' says so, page by page,
 * each page's removals in one Generic WAL record.
 */
static void
PruneChain(Relation index, BlockNumber blkno, bool (*doomed) (const void *item, void *arg),
		   void *arg)
{
	while (blkno != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber dead[MaxOffsetNumber];
		int			ndead = 0;
		OffsetNumber maxoff;

		vacuum_delay_point();
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(buffer);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
			if (doomed(PageGetItem(page, PageGetItemId(page, off)), arg))
				dead[ndead++] = off;
		if (ndead > 0)
		{
			GenericXLogState *xlog = GenericXLogStart(index);

			page = GenericXLogRegisterBuffer(xlog, buffer, 0);
			PageIndexMultiDelete(page, dead, ndead);
			GenericXLogFinish(xlog);
		}
		blkno = IvfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
}

typedef struct DeadRows
{
	IndexBulkDeleteCallback callback;
	void	   *state;
	int64		removed;
	int64		remaining;
} DeadRows;

static bool
DeltaItemIsDead(const void *item, void *arg)
{
	const IvfDeltaItem *d = item;
	DeadRows   *rows = arg;
	bool		dead = rows->callback((ItemPointer) &d->tid, rows->state);

	/* a row counts once, at its last piece */
	if (d->piece == d->pieces - 1)
	{
		if (dead)
			rows->removed++;
		else
			rows->remaining++;
	}
	return dead;
}

int64
IvfDeltaVacuum(Relation index, IndexBulkDeleteCallback callback, void *state, int64 *remaining)
{
	IvfMetaPageData meta;
	DeadRows	rows = {callback, state, 0, 0};

	IvfMetaRead(index, &meta);
	PruneChain(index, meta.delta_head, DeltaItemIsDead, &rows);
	*remaining = rows.remaining;
	return rows.removed;
}

void
IvfTombAdd(Relation index, ItemPointer tids, int count)
{
	Buffer		metabuf;
	IvfTombItem *item;

	if (count == 0)
		return;
	metabuf = ReadBuffer(index, IVF_METAPAGE);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	item = palloc(offsetof(IvfTombItem, tids) + sizeof(ItemPointerData) * Min(count, TOMB_ITEM_TIDS));
	for (int first = 0; first < count; first += TOMB_ITEM_TIDS)
	{
		int			n = Min(TOMB_ITEM_TIDS, count - first);

		item->count = n;
		memcpy(item->tids, tids + first, sizeof(ItemPointerData) * n);
		AppendItem(index, metabuf, false, item, offsetof(IvfTombItem, tids) + sizeof(ItemPointerData) * n);
	}
	UnlockReleaseBuffer(metabuf);
	pfree(item);
}

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

int
IvfTombLoad(Relation index, const IvfMetaPageData *meta, uint64 min_seq, ItemPointer *out)
{
	BlockNumber blkno = meta->tomb_head;
	int			n = 0;
	int			cap = 64;
	ItemPointer tids = palloc(sizeof(ItemPointerData) * cap);

	while (blkno != InvalidBlockNumber)
	{
		Buffer		buffer = ReadBuffer(index, blkno);
		Page		page;
		OffsetNumber maxoff;

		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buffer);
		if (PageIsNew(page) || IvfPageGetOpaque(page)->page_id != IVF_PAGE_ID ||
			!(IvfPageGetOpaque(page)->flags & IVF_PAGE_TOMB))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("lance_ivf index \"%s\" has an invalid tombstone page %u",
							RelationGetRelationName(index), blkno)));
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			IvfTombItem *item = (IvfTombItem *) PageGetItem(page, PageGetItemId(page, off));

			if (item->count < 0 || item->count > TOMB_ITEM_TIDS)
				ereport(ERROR,
						(errcode(ERRCODE_INDEX_CORRUPTED),
						 errmsg("lance_ivf index \"%s\" has an invalid tombstone item",
								RelationGetRelationName(index))));
			if (item->seq < min_seq)
				continue;
			if (n + item->count > cap)
			{
				cap = Max(cap * 2, n + item->count);
				tids = repalloc_huge(tids, sizeof(ItemPointerData) * cap);
			}
			memcpy(tids + n, item->tids, sizeof(ItemPointerData) * item->count);
			n += item->count;
		}
		blkno = IvfPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buffer);
	}
	qsort(tids, n, sizeof(ItemPointerData), CompareTids);
	*out = tids;
	return n;
}

static bool
ItemIsBelow(const void *item, void *arg)
{
	/* both item kinds start with their sequence number */
	return *(const uint64 *) item < *(uint64 *) arg;
}

void
IvfDeltaTrim(Relation index, uint64 delta_below, uint64 tomb_below)
{
	IvfMetaPageData meta;

	IvfMetaRead(index, &meta);
	PruneChain(index, meta.delta_head, ItemIsBelow, &delta_below);
	PruneChain(index, meta.tomb_head, ItemIsBelow, &tomb_below);
}
