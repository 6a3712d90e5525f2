/*
 * ivf_vacuum.c
 *	  VACUUM of a lance_ivf index.  Dead rows leave the delta area at once;
 *	  dead rows of the sealed segment become tombstones (TIDs the scans
 *	  skip), because the segment is immutable and its replacement would only
 *	  commit with VACUUM's transaction while the heap frees the TIDs at once.
 *	  The cleanup pass collects side-storage garbage.
 */
#include "postgres.h"

#include "commands/vacuum.h"
#include "ivf/ivf_segment.h"
#include "storage/bufmgr.h"
#include "storage/side_storage.h"
#include "utils/snapmgr.h"

static int
CompareTids(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

IndexBulkDeleteResult *
IvfBulkDelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *state)
{
	Relation	index = info->index;
	IvfMetaPageData meta;
	int64		remaining = 0;
	int64		removed;
	Snapshot	snapshot;
	char	   *name;

	if (stats == NULL)
		stats = palloc0(sizeof(IndexBulkDeleteResult));
	removed = IvfDeltaVacuum(index, callback, state, &remaining);

	IvfMetaRead(index, &meta);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	name = IvfVisibleSegment(index, snapshot);
	UnregisterSnapshot(snapshot);
	if (name != NULL)
	{
		IvfSegment *segment = IvfSegmentGet(index, name);
		ItemPointer tombs;
		int			ntombs = IvfTombLoad(index, &meta, segment->header.tomb_upto, &tombs);
		ItemPointer dead = NULL;
		int			ndead = 0;
		int			cap = 0;

		for (int l = 0; l < segment->header.lists; l++)
		{
			IvfList    *list = IvfSegmentList(segment, l);

			vacuum_delay_point();
			for (int64 i = 0; i < list->count; i++)
			{
				ItemPointerData tid;

				IvfInt64ToTid(list->tids[i], &tid);
				if (ntombs > 0 &&
					bsearch(&tid, tombs, ntombs, sizeof(ItemPointerData), CompareTids) != NULL)
					continue;
				if (!callback(&tid, state))
				{
					remaining++;
					continue;
				}
				if (ndead == cap)
				{
					cap = Max(64, cap * 2);
					dead = dead ? repalloc_huge(dead, sizeof(ItemPointerData) * cap) :
						palloc(sizeof(ItemPointerData) * cap);
				}
				dead[ndead++] = tid;
			}
			IvfSegmentTrim(segment);
		}
		IvfTombAdd(index, dead, ndead);
		removed += ndead;
	}
	stats->tuples_removed += removed;
	stats->num_index_tuples = remaining;
	stats->num_pages = RelationGetNumberOfBlocks(index);
	return stats;
}

IndexBulkDeleteResult *
IvfVacuumCleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Snapshot	snapshot;
	char	   *name;

	if (info->analyze_only)
		return stats;
	if (stats == NULL)
	{
		stats = palloc0(sizeof(IndexBulkDeleteResult));
		stats->num_pages = RelationGetNumberOfBlocks(info->index);
		stats->estimated_count = true;
		stats->num_index_tuples = info->num_heap_tuples;
	}
	/* fold a large delta; then, once no snapshot can read an older segment, trim */
	IvfFold(info->index, false, true);
	SideStorageCollectGarbage();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	name = IvfVisibleSegment(info->index, snapshot);
	UnregisterSnapshot(snapshot);
	if (name != NULL && SideFileCountOnDisk(info->index) == 1)
	{
		IvfSegment *segment = IvfSegmentGet(info->index, name);

		IvfDeltaTrim(info->index, segment->header.delta_upto, segment->header.tomb_upto);
	}
	return stats;
}
