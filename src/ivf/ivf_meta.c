/*
 * ivf_meta.c
 *	  The IVF metapage (block 1): dimensions, metric, the lists of the last
 *	  segment written (for costing), the heads and tails of the delta and
 *	  tombstone chains, and the next sequence number of their items.  Block 0 is the
 *	  side-storage metapage.  Changes go through Generic WAL (ivf_delta.c,
 *	  ivf_build.c); this file creates and reads it.
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "ivf/ivf.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

void
IvfMetaInit(Relation index, ForkNumber fork, IvfMetric metric)
{
	Buffer		buffer = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, NULL);
	GenericXLogState *state;
	Page		page;
	IvfMetaPageData *meta;

	if (BufferGetBlockNumber(buffer) != IVF_METAPAGE)
		elog(ERROR, "lance_ivf metapage of \"%s\" would be block %u",
			 RelationGetRelationName(index), BufferGetBlockNumber(buffer));
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
	PageInit(page, BLCKSZ, 0);
	meta = (IvfMetaPageData *) PageGetContents(page);
	memset(meta, 0, sizeof(*meta));
	meta->magic = IVF_META_MAGIC;
	meta->version = IVF_META_VERSION;
	meta->metric = metric;
	meta->delta_head = meta->delta_tail = InvalidBlockNumber;
	meta->tomb_head = meta->tomb_tail = InvalidBlockNumber;
	((PageHeader) page)->pd_lower = ((char *) meta + sizeof(IvfMetaPageData)) - (char *) page;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(buffer);
}

void
IvfMetaRead(Relation index, IvfMetaPageData *meta)
{
	Buffer		buffer;

	/*
	 * Counting the index's blocks is a system call, and every scan reads the
	 * metapage: once there is one, the relcache entry remembers it
	 * (rd_amcache goes with the entry, so a new relfilenode asks again).
	 */
	if (index->rd_amcache == NULL)
	{
		if (RelationGetNumberOfBlocks(index) <= IVF_METAPAGE)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("lance_ivf index \"%s\" has no metapage", RelationGetRelationName(index))));
		index->rd_amcache = MemoryContextAllocZero(index->rd_indexcxt, sizeof(bool));
	}
	buffer = ReadBuffer(index, IVF_METAPAGE);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	memcpy(meta, PageGetContents(BufferGetPage(buffer)), sizeof(*meta));
	UnlockReleaseBuffer(buffer);
	if (meta->magic != IVF_META_MAGIC || meta->version != IVF_META_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("lance_ivf index \"%s\" has an invalid metapage", RelationGetRelationName(index)),
				 errdetail("Found magic %08x version %u.", meta->magic, meta->version)));
}

void
IvfMetaSetLists(Relation index, int dims, int lists)
{
	Buffer		buffer = ReadBuffer(index, IVF_METAPAGE);
	GenericXLogState *xlog;
	IvfMetaPageData *meta;

	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	xlog = GenericXLogStart(index);
	meta = (IvfMetaPageData *) PageGetContents(GenericXLogRegisterBuffer(xlog, buffer, 0));
	if (dims > 0)
		meta->dims = dims;
	meta->lists = lists;
	GenericXLogFinish(xlog);
	UnlockReleaseBuffer(buffer);
}
