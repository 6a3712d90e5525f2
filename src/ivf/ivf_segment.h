/*
 * ivf_segment.h
 *	  The sealed segment of a lance_ivf index: one Lance file in the index's
 *	  side storage (layout in ivf.h), written once by a build and read by
 *	  scans through a per-backend cache.
 */
#ifndef LANCEDB_IVF_IVF_SEGMENT_H
#define LANCEDB_IVF_IVF_SEGMENT_H

#include "ivf/ivf.h"
#include "ivf/ivf_math.h"
#include "storage/side_lance.h"

#define IVF_SEGMENT_MAGIC 0x49565347	/* "IVSG" */

/* Global buffer 1: this, then lists * dims float centroids, then lists + 1 int64 starts. */
typedef struct IvfSegmentHeader
{
	uint32		magic;
	uint32		version;
	int32		dims;
	int32		lists;
	int32		metric;
	int32		code_bytes;
	uint64		seed;
	int64		rows;
	uint64		delta_upto;		/* holds the delta rows with sequence numbers below */
	uint64		tomb_upto;		/* has applied the tombstones below */
	int64		trained_rows;	/* rows when its centroids were trained */
	/* version 2 on; a version 1 header ends above and has 1 bit */
	int32		bits;			/* of the B-bit codes; 1: none */
	int32		ex_code_bytes;	/* RabitqExCodeBytes */
} IvfSegmentHeader;

#define IVF_SEGMENT_VERSION 2
#define IVF_SEGMENT_HEADER_V1_SIZE offsetof(IvfSegmentHeader, bits)

/* segment columns */
#define IVF_COL_TID 0
#define IVF_COL_CODE 1
#define IVF_COL_FACTORS 2
#define IVF_COL_VECTOR 3
/* with bits > 1 */
#define IVF_COL_EX_CODE 4
#define IVF_COL_EX_FACTORS 5

typedef struct IvfSegmentWriter IvfSegmentWriter;

extern IvfSegmentWriter *IvfSegmentBegin(Relation index, int dims, int lists, IvfMetric metric,
										 uint64 seed, const RabitqRotation *rotation, int bits,
										 const float *centroids, uint64 delta_upto,
										 uint64 tomb_upto, int64 trained_rows);
/*
 * The rows of list 'list' (lists in increasing order; skipped ones are
 * empty); ex_codes and ex_factors only with bits > 1.
 */
extern void IvfSegmentWriteList(IvfSegmentWriter *writer, int list, int64 n, const int64 *tids,
								const uint8 *codes, const RabitqFactors *factors,
								const uint8 *ex_codes, const RabitqExFactors *ex_factors,
								const float *vectors);
extern char *IvfSegmentFinish(IvfSegmentWriter *writer);

/* One list in memory: what a scan estimates from. */
typedef struct IvfList
{
	bool		loaded;
	MemoryContext cxt;			/* holds what was read, if anything */
	Size		bytes;			/* of cxt */
	uint64		last_used;		/* for lance_ivf.cache_size */
	int64		count;
	int64	   *tids;
	uint8	   *codes;
	RabitqFactors *factors;
	uint8	   *ex_codes;		/* with bits > 1 */
	RabitqExFactors *ex_factors;
} IvfList;

typedef struct IvfSegment
{
	Oid			dboid;
	uint64		storage_id;
	char		name[64];
	MemoryContext cxt;
	SideLanceFile *file;
	IvfSegmentHeader header;
	float	   *centroids;
	int64	   *list_start;
	RabitqRotation *rotation;
	float	   *rotated_centroids;	/* lists * RabitqPaddedDims: queries rotate once */
	IvfCoarse  *coarse;			/* bounds of the lists' keys; NULL: exact keys only */
	IvfList    *lists;
	Size		list_bytes;		/* of the lists loaded */
	int64		list_reads;		/* lists read since it was opened */
	uint64		last_used;
	int			pins;			/* holders; see IvfSegmentGet */
} IvfSegment;

/* The name of the segment 'snapshot' sees (palloc'd), or NULL if none. */
extern char *IvfVisibleSegment(Relation index, Snapshot snapshot);

/*
 * The segment 'name' of 'index', from this backend's cache or opened now,
 * valid until CurrentMemoryContext is reset or deleted (it stays pinned in
 * the cache until then).
 */
extern IvfSegment *IvfSegmentGet(Relation index, const char *name);
/*
 * A list, read from the file unless cached.  Valid while the caller holds
 * the segment and has not called IvfSegmentTrim since.
 */
extern IvfList *IvfSegmentList(IvfSegment *segment, int list);
/*
 * For a holder that goes through many lists (VACUUM) and keeps no IvfList
 * of 'segment' now: frees lists past lance_ivf.cache_size, this segment's
 * too unless somebody else holds it.
 */
extern void IvfSegmentTrim(IvfSegment *segment);
/*
 * The vectors of n segment rows (file row numbers): vectors[i] points at
 * the dims floats of rows[i].  Between IvfSegmentBeginViews and
 * IvfSegmentEndViews (which must run even on an ERROR: PG_FINALLY) a
 * vector may be the file's bytes in place, valid until End; the others are
 * read into 'spill' (initialised by the caller, reset here first), valid
 * until its next reset.
 */
extern void IvfSegmentBeginViews(IvfSegment *segment);
extern void IvfSegmentEndViews(IvfSegment *segment);
extern void IvfSegmentFetchVectors(IvfSegment *segment, const uint64 *rows, int n,
								   const float **vectors, LanceArray *spill);

#endif							/* LANCEDB_IVF_IVF_SEGMENT_H */
