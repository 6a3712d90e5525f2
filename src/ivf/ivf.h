/*
 * ivf.h
 *	  lance_ivf: an IVF index with RaBitQ codes and exact re-ranking, its
 *	  sealed lists in a Lance-format side file and fresh rows in a delta area
 *	  of its own pages.
 *
 * Pages of the index relation:
 *	0		the side-storage metapage (storage id; src/storage/side_storage.h)
 *	1		the IVF metapage (IvfMetaPageData)
 *	2...	delta pages (rows inserted after the build: TID and vector, a long
 *			vector in pieces over consecutive items) and tombstone pages
 *			(TIDs of the sealed segment that VACUUM found dead), each a chain
 *			linked through IvfPageOpaque.next; all changes by Generic WAL
 *
 * The sealed segment (ivf_segment.c) is one Lance file in the index's side
 * storage: rows grouped by list, columns tid (int64), code (RaBitQ bits),
 * factors (3 float32) and vector (the vector itself, for re-ranking), and
 * with the bits option above 1 ex_code (B bits per dimension) and ex_factors
 * (2 float32); global buffer 1 holds the header, the centroids and where
 * each list starts.
 *
 * Which segment a scan reads is MVCC: the one file of the index's storage
 * its snapshot sees (lancedb_catalog.side_file).  A build writes the first;
 * folding (ivf_fold.c) writes a new one with the delta rows and without the
 * tombstoned rows, and retires the old one, in one transaction.  Delta and
 * tombstone items carry sequence numbers, and a segment records up to which
 * it has absorbed them: a scan of a segment reads only the delta rows and
 * tombstones that came after it, whichever segment its snapshot sees.
 *
 * Distances: <-> (l2) is true L2, <#> the negative inner product, <=> cosine
 * distance; a cosine index stores and searches normalised vectors with L2.
 */
#ifndef LANCEDB_IVF_IVF_H
#define LANCEDB_IVF_IVF_H

#include "access/amapi.h"
#include "access/genam.h"
#include "common/relpath.h"
#include "nodes/execnodes.h"
#include "storage/block.h"
#include "storage/itemptr.h"
#include "utils/relcache.h"

#define IVF_AM_NAME "lance_ivf"
#define IVF_MAX_DIMS 16000

#define IVF_SIDE_METAPAGE 0
#define IVF_METAPAGE 1

#define IVF_META_MAGIC 0x49564631	/* "IVF1" */
#define IVF_META_VERSION 1

/* progress phases (pg_stat_progress_create_index.phase) */
#define IVF_PHASE_SAMPLING 2
#define IVF_PHASE_KMEANS 3
#define IVF_PHASE_ASSIGNING 4
#define IVF_PHASE_WRITING 5

typedef enum IvfMetric
{
	IVF_METRIC_L2 = 1,
	IVF_METRIC_INNER_PRODUCT = 2,
	IVF_METRIC_COSINE = 3
} IvfMetric;

typedef struct IvfMetaPageData
{
	uint32		magic;
	uint32		version;
	int32		dims;			/* 0 until the first vector is seen */
	int32		metric;			/* IvfMetric */
	int32		lists;			/* of the segment last written (costing); 0: none */
	BlockNumber delta_head;		/* InvalidBlockNumber: empty */
	BlockNumber delta_tail;
	BlockNumber tomb_head;
	BlockNumber tomb_tail;
	uint64		next_seq;		/* of the next delta or tombstone item */
} IvfMetaPageData;

#define IVF_PAGE_DELTA 0x0001
#define IVF_PAGE_TOMB 0x0002
#define IVF_PAGE_ID 0xFF91

typedef struct IvfPageOpaqueData
{
	BlockNumber next;
	uint16		flags;
	uint16		page_id;		/* IVF_PAGE_ID, for tools */
} IvfPageOpaqueData;

/* A delta item: one piece of one row's vector. */
typedef struct IvfDeltaItem
{
	uint64		seq;			/* order of insertion (IvfMetaPageData.next_seq) */
	ItemPointerData tid;
	uint16		piece;			/* 0, 1, ... */
	uint16		pieces;			/* how many make the vector */
	int32		count;			/* floats in this piece */
	float		values[FLEXIBLE_ARRAY_MEMBER];
} IvfDeltaItem;

/* A tombstone item: dead TIDs of the sealed segment. */
typedef struct IvfTombItem
{
	uint64		seq;
	int32		count;
	ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];
} IvfTombItem;

/* Index options (WITH (...)). */
typedef struct IvfOptions
{
	int32		vl_len_;
	int			lists;			/* 0: from the row count */
	int			probes;			/* 0: lance_ivf.probes */
	int			rerank;			/* -1: lance_ivf.rerank; 0: none */
	int			bits;			/* of the B-bit codes: 1, 2, 4 or 8 */
} IvfOptions;

/* GUCs */
extern int	ivf_probes;
extern int	ivf_rerank;
extern int	ivf_max_candidates;
extern double ivf_probe_radius;
extern int	ivf_cache_size;

/* ivf_handler.c */
extern void IvfInit(void);
extern IvfMetric IvfIndexMetric(Relation index);
extern int	IvfOptionProbes(Relation index);
extern int	IvfOptionRerank(Relation index);
extern int	IvfOptionLists(Relation index);
extern int	IvfOptionBits(Relation index);

/*
 * A vector as the index stores it: checked (no NaN or infinity; under
 * cosine, a squared norm in the range where the operator's distances are
 * accurate), and normalised for cosine; false if the index skips it (a zero
 * vector under cosine).  'out' has dims floats.
 */
extern bool IvfPrepareVector(IvfMetric metric, const float *in, int dims, float *out);

/* Distance as the operator returns it, from the stored (prepared) forms. */
extern double IvfDistance(IvfMetric metric, const float *a, const float *b, int dims);

/*
 * IvfDistance of 'a' to each of n vectors, the same values, computed several
 * vectors at a time: re-ranking's vectors are cache misses, fetched together.
 */
extern void IvfDistanceMany(IvfMetric metric, const float *a, const float *const vectors[],
							int n, int dims, double *out);

/* ivf_meta.c: the IVF metapage */
extern void IvfMetaInit(Relation index, ForkNumber fork, IvfMetric metric);
extern void IvfMetaRead(Relation index, IvfMetaPageData *meta);
/* Records dimensions (if > 0) and the lists of the segment last written, for costing. */
extern void IvfMetaSetLists(Relation index, int dims, int lists);

/* ivf_build.c */
extern IndexBuildResult *IvfBuild(Relation heap, Relation index, IndexInfo *info);
extern void IvfBuildEmpty(Relation index);
extern char *IvfBuildPhaseName(int64 phase);

/* ivf_delta.c: rows inserted after the build, and tombstones */
extern bool IvfInsert(Relation index, Datum *values, bool *isnull, ItemPointer tid,
					  Relation heap, IndexUniqueCheck check, bool unchanged,
					  IndexInfo *info);
typedef void (*IvfDeltaCallback) (void *arg, ItemPointer tid, const float *vector);
/* Delta rows whose sequence numbers are in [min_seq, end_seq). */
extern void IvfDeltaScan(Relation index, const IvfMetaPageData *meta, int dims, uint64 min_seq,
						 uint64 end_seq, IvfDeltaCallback callback, void *arg);
extern int64 IvfDeltaVacuum(Relation index, IndexBulkDeleteCallback callback, void *state,
							int64 *remaining);
extern void IvfTombAdd(Relation index, ItemPointer tids, int count);
/* Tombstoned TIDs with sequence number at least 'min_seq', sorted. */
extern int	IvfTombLoad(Relation index, const IvfMetaPageData *meta, uint64 min_seq,
						ItemPointer *tids);
/* Remove delta and tombstone items below the given sequence numbers. */
extern void IvfDeltaTrim(Relation index, uint64 delta_below, uint64 tomb_below);

/*
 * ivf_fold.c: a new segment with the delta rows folded in; with
 * only_if_large, only when the delta holds a tenth of the segment's rows.
 * Returns the rows of the new segment, or 0 if it wrote none.
 */
extern int64 IvfFold(Relation index, bool recluster, bool only_if_large);

/* ivf_vacuum.c */
extern IndexBulkDeleteResult *IvfBulkDelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
											IndexBulkDeleteCallback callback, void *state);
extern IndexBulkDeleteResult *IvfVacuumCleanup(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats);

/* ivf_reuse.c: projections reuse the distances scans computed */
extern void IvfReuseInit(void);
extern uint64 IvfReuseScanId(void);
/* exact: the operator's own distance, bit for bit (not an estimate, not cosine) */
extern void IvfRememberReturned(uint64 scan, Oid index, const float *query, int dims,
								ItemPointer tid, double distance, bool exact);
extern void IvfForgetScan(uint64 scan);

/* ivf_scan.c */
extern IndexScanDesc IvfBeginScan(Relation index, int nkeys, int norderbys);
extern void IvfRescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
extern bool IvfGetTuple(IndexScanDesc scan, ScanDirection dir);
extern void IvfEndScan(IndexScanDesc scan);

/* ItemPointer <-> int64, as the segment's tid column stores it */
static inline int64
IvfTidToInt64(ItemPointer tid)
{
	return ((int64) ItemPointerGetBlockNumberNoCheck(tid) << 16) |
		ItemPointerGetOffsetNumberNoCheck(tid);
}

static inline void
IvfInt64ToTid(int64 value, ItemPointer tid)
{
	ItemPointerSet(tid, (BlockNumber) (value >> 16), (OffsetNumber) (value & 0xFFFF));
}

#endif							/* LANCEDB_IVF_IVF_H */
