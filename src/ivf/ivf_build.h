/*
 * ivf_build.h
 *	  Writing a sealed segment from a source of rows: CREATE INDEX reads the
 *	  heap (ivf_build.c), folding reads the old segment and the delta area
 *	  (ivf_fold.c).  Both train centroids or reuse given ones, assign and
 *	  encode every row, and write the rows list by list.
 */
#ifndef LANCEDB_IVF_IVF_BUILD_H
#define LANCEDB_IVF_IVF_BUILD_H

#include "ivf/ivf.h"

/* Receives one row: its TID (IvfTidToInt64) and its prepared vector. */
typedef void (*IvfRowSink) (void *state, int64 tid, const float *vector);

/*
 * Calls sink(state, ...) for every row; may be called twice (sample, assign)
 * when the rows do not fit in maintenance_work_mem.
 */
typedef void (*IvfRowSource) (void *source_arg, IvfRowSink sink, void *state);

typedef struct IvfBuildSpec
{
	Relation	index;
	IvfMetric	metric;
	int			dims;			/* 0: from the first row (a heap build) */
	int			requested_lists;	/* 0: from the row count */
	int			bits;			/* of the codes: 1, 2, 4 or 8 (RabitqBitsSupported) */
	/* reuse these centroids instead of training (NULL: train) */
	const float *centroids;
	int			lists;
	int64		trained_rows;	/* with 'centroids': the rows they were trained on */
	uint64		delta_upto;		/* recorded in the segment (ivf_segment.h) */
	uint64		tomb_upto;
	IvfRowSource source;
	void	   *source_arg;
	double		expected_rows;	/* an estimate of the source's rows, or 0 */
	/* a heap build: the rows the heap scan saw (for IndexBuildResult) */
	double		heap_rows;
	bool		report_progress;	/* to pg_stat_progress_create_index */
} IvfBuildSpec;

/* A vector of an index tuple as the index stores it, or NULL if skipped. */
extern const float *IvfBuildTupleVector(IvfBuildSpec *spec, Datum value, bool isnull,
										float **scratch);

/*
 * Writes the segment of the source's rows; returns its file name (NULL when
 * the source had no rows) and the number of rows in *rows.
 */
extern char *IvfBuildSegment(IvfBuildSpec *spec, double *rows);

/* ivf_build_parallel.c: CREATE INDEX's heap scan, shared with parallel workers */
typedef void (*IvfHeapRowFn) (void *arg, ItemPointer tid, Datum value, bool isnull);

/*
 * Calls row(arg, ...) in this process for every tuple a build scan of heap
 * sees, the heap read by this process and up to max_parallel_maintenance_workers
 * workers; false, having done nothing, when no worker would help.
 */
extern bool IvfParallelHeapScan(Relation heap, Relation index, IndexInfo *info,
								IvfHeapRowFn row, void *arg);

#endif							/* LANCEDB_IVF_IVF_BUILD_H */
