/*
 * io.h
 *	  The PostgreSQL side of the I/O runtime (src/runtime/): its settings,
 *	  its life in a backend, waiting that honours query cancel, and runtime
 *	  errors turned into ERRORs.
 *
 * The table and index access methods read side files through these
 * functions only; src/runtime/README explains the runtime itself.
 *
 *	LanceIoBatch *b = LanceIoBatchBegin(n, bytes);	-- in a memory context
 *	for (...) LanceIoBatchRead(b, fd, offset, length);
 *	LanceIoBatchSubmit(b);
 *	LanceIoBatchWaitAll(b);							-- or WaitNext in a loop
 *	data = LanceIoBatchData(b, i, &len);			-- valid until End
 *	LanceIoBatchEnd(b);
 *
 * Ownership: a batch lives in the memory context that was current at
 * LanceIoBatchBegin.  If an ERROR (a cancel, statement_timeout) leaves before
 * LanceIoBatchEnd, resetting that context gives the batch back to the
 * runtime, which keeps its buffers until the kernel or the worker is done
 * with them.  Data pointers are runtime memory, not palloc'd: copy what must
 * outlive the batch.  An fd given with LanceIoBatchAdoptFd is closed by the
 * runtime when the batch is finished; the caller must not close it.
 *
 * A process that never calls these pays nothing: no thread, no ring, no fd.
 */
#ifndef LANCEDB_STORAGE_IO_H
#define LANCEDB_STORAGE_IO_H

#include "runtime/runtime.h"

typedef struct LanceIoBatch LanceIoBatch;

/* _PG_init: registers the lancedb.io_* settings; starts nothing (see io.c). */
extern void LanceIoInit(void);

/*
 * This process's runtime, created on first use with the current settings
 * (and created anew when a setting changed and no batch is open).  ERROR if
 * it cannot be created.
 */
extern Runtime *LanceIoRuntime(void);

extern LanceIoBatch *LanceIoBatchBegin(int max_reads, size_t max_bytes);

/* Adds a read; returns its index.  RUNTIME_OFFSET_CURRENT for streams. */
extern int	LanceIoBatchRead(LanceIoBatch *batch, int fd, int64 offset, size_t length);
extern void LanceIoBatchAdoptFd(LanceIoBatch *batch, int fd);
extern void LanceIoBatchSubmit(LanceIoBatch *batch);

/* Waits for every submitted read; interruptible (CHECK_FOR_INTERRUPTS). */
extern void LanceIoBatchWaitAll(LanceIoBatch *batch);

/* Waits for the next completed read and returns its index, or -1 when none is left. */
extern int	LanceIoBatchWaitNext(LanceIoBatch *batch);

/* The bytes of a completed read (*length is short only at EOF); ERROR if it failed. */
extern const void *LanceIoBatchData(LanceIoBatch *batch, int index, size_t *length);

/*
 * The errno of a completed read, or 0 when it succeeded: for a caller with a
 * way around a failed read, where LanceIoBatchData would ERROR.
 */
extern int	LanceIoBatchError(LanceIoBatch *batch, int index);

/* Gives the batch back; its data pointers are invalid afterwards. */
extern void LanceIoBatchEnd(LanceIoBatch *batch);

/*
 * Views: a file's bytes used in place (runtime.h, RuntimeView), for a caller
 * that keeps 'fd' open on one file that does not change.  Pin for a moment,
 * look (RuntimeViewBytes; what it does not show, read with a batch), unpin.
 * Nothing between pin and unpin may leave by an ERROR without unpinning
 * (PG_FINALLY): the runtime is not replaced while a view is pinned.
 */
extern void LanceIoViewPin(RuntimeView *view, int fd);
extern void LanceIoViewUnpin(RuntimeView *view);

/* A read-ahead hint for a sequential scan; dropped when the queue is busy. */
extern void LanceIoReadahead(int fd, int64 offset, int64 length);

#endif							/* LANCEDB_STORAGE_IO_H */
