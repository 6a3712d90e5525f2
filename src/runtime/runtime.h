/*
 * runtime.h
 *	  Public interface of the I/O runtime: batched file reads through io_uring,
 *	  or through a pool of pread threads, in a runtime that is created lazily
 *	  per process and survives fork() by being rebuilt, never reused.
 *
 * src/runtime/ includes no PostgreSQL header.  The PostgreSQL side
 * (src/storage/io.c) turns codes into ERRORs and waits with its latch.  The
 * design (lifecycle, fork rules, buffer ownership on cancel, waiting) is
 * described in src/runtime/README.
 *
 * Conventions
 *	- Functions return 0 or an errno value, one meaning per code:
 *		EINVAL		a bad argument (NULL handle, negative fd, zero length, an
 *					index out of range, timeout below -1)
 *		ENOMEM		malloc failed
 *		ENOBUFS		a bound was reached: the batch is full (max_reads or
 *					max_bytes), or the runtime's memory budget is spent
 *		EAGAIN		not ready yet: a wait ran out of time (timeout_ms = 0 never
 *					blocks), or a read-ahead hint was dropped
 *		ENODATA		RuntimeBatchWaitNext: every submitted read was returned
 *		EOWNERDEAD	the runtime or batch was created by another process and
 *					inherited through fork(); it cannot be used here
 *		EBUSY		RuntimeClose: reads or threads were still running at the
 *					deadline, so the runtime's memory was deliberately leaked
 *		others		from the system call that failed: io_uring_setup (ENOSYS,
 *					EPERM, ...) when io_uring is forced, pthread_create, eventfd
 *	  A read's own outcome (EIO, ESPIPE, ECANCELED, ...) is not a return code:
 *	  it is reported per read by RuntimeBatchResult.
 *	- Every function taking a RuntimeError * accepts NULL.  On failure the
 *	  message reads "expected X but found Y" or names the failed call.
 *	- Thread safety: a Runtime may be used from any number of threads at
 *	  once.  A batch belongs to one thread at a time (the caller serialises
 *	  its own calls on one batch).  The runtime's threads never call back into
 *	  the caller, run with every signal blocked, and touch only memory the
 *	  runtime owns.
 *	- Memory is malloc'd by the runtime itself, not taken from a caller's
 *	  allocator: read buffers must outlive whatever memory context the
 *	  caller had when it gave a batch up (see RuntimeBatchRelease), and the
 *	  runtime's threads free them.  Every allocation is bounded by
 *	  config.max_buffer_bytes.
 *	- Symbols carry the Runtime prefix; internal ones live in
 *	  runtime_internal.h.
 */
#ifndef LANCEDB_RUNTIME_RUNTIME_H
#define LANCEDB_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

#define RUNTIME_ERROR_MESSAGE_SIZE 256

typedef struct RuntimeError
{
	char		message[RUNTIME_ERROR_MESSAGE_SIZE];
} RuntimeError;

/* Formats a message into 'error' (if not NULL) and returns 'code'. */
extern int	RuntimeErrorSet(RuntimeError *error, int code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* The message of a failed call, or "" (never NULL; 'error' may be NULL). */
extern const char *RuntimeErrorMessage(const RuntimeError *error);

/* ---------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------- */

typedef enum RuntimeMethod
{
	RUNTIME_METHOD_AUTO = 0,	/* io_uring, else the pread pool */
	RUNTIME_METHOD_IO_URING,	/* io_uring or an error */
	RUNTIME_METHOD_PREAD		/* the pread pool */
} RuntimeMethod;

typedef struct RuntimeConfig
{
	RuntimeMethod method;
	/* pread pool: worker threads, 1..RUNTIME_MAX_WORKERS */
	int			workers;
	/* reads (and hints) in flight in the kernel at once, 1..RUNTIME_MAX_DEPTH */
	int			queue_depth;
	/* bytes all live batches of the runtime may hold together */
	size_t		max_buffer_bytes;
	/*
	 * serve reads whose pages are already in the page cache by a memcpy from
	 * a read-only mapping of the file, in the submitting thread (the
	 * resident-page fast path; see README).  Requires that a file read
	 * through the runtime is never truncated while a batch reads it.
	 */
	bool		mmap_resident;
	/*
	 * with mmap_resident: a file whose pages were all found resident, by a
	 * check that began at most this many milliseconds ago, has its reads
	 * copied without asking mincore page by page (README, "Resident
	 * files"); 0 asks mincore for every read
	 */
	int			resident_ttl_ms;
	/* test only: act as if io_uring_setup failed with this errno (0: off) */
	int			inject_uring_errno;
} RuntimeConfig;

#define RUNTIME_MAX_WORKERS 64
#define RUNTIME_MAX_DEPTH 4096
#define RUNTIME_DEFAULT_WORKERS 4
#define RUNTIME_DEFAULT_DEPTH 64
#define RUNTIME_DEFAULT_BUFFER_BYTES ((size_t) 256 << 20)
#define RUNTIME_DEFAULT_RESIDENT_TTL_MS 1000
#define RUNTIME_MAX_RESIDENT_TTL_MS 60000

/* Fills 'config' with the defaults above (method AUTO, mmap_resident on). */
extern void RuntimeConfigInit(RuntimeConfig *config);

/* "auto", "io_uring" or "pread" */
extern const char *RuntimeMethodName(RuntimeMethod method);

/* ---------------------------------------------------------------------------
 * Runtimes
 * ------------------------------------------------------------------------- */

typedef struct Runtime Runtime;

/*
 * Creates a runtime: an io_uring with one completion thread, or
 * config->workers pread threads.  With RUNTIME_METHOD_AUTO an io_uring that
 * cannot be set up (ENOSYS, EPERM from seccomp or kernel.io_uring_disabled,
 * ENOMEM, missing opcodes) silently becomes the pread pool and the reason is
 * kept (RuntimeStats.fallback_reason).  The first call in a process
 * registers the pthread_atfork handlers.  On failure nothing is left behind.
 */
extern int	RuntimeOpen(const RuntimeConfig *config, Runtime **out, RuntimeError *error);

/*
 * Shuts 'rt' down: drops every batch still open (as RuntimeBatchRelease
 * would), cancels reads in flight, waits up to timeout_ms (-1: no bound) for
 * them and for its threads, joins the threads and frees everything.  Returns
 * 0, or EBUSY when something was still running at the deadline: then the
 * threads are detached and the runtime's memory is leaked on purpose, since
 * the kernel or a thread may still write into it.  In a process that
 * inherited 'rt' through fork() it does nothing and returns EOWNERDEAD.
 * Batch handles of 'rt' are invalid afterwards.
 */
extern int	RuntimeClose(Runtime *rt, int timeout_ms);

/*
 * The process runtime: the one runtime of the calling process, created by
 * the first call with 'config' (later calls ignore 'config').  After fork()
 * the child's first call creates a fresh one; the inherited one is dropped
 * by the atfork child handler, never touched.  Safe from any thread.
 */
extern int	RuntimeProcessGet(const RuntimeConfig *config, Runtime **out,
							  RuntimeError *error);

/* The process runtime if this process created one, else NULL.  Never creates. */
extern Runtime *RuntimeProcessPeek(void);

/* RuntimeClose of the process runtime, if any; the next Get creates anew. */
extern int	RuntimeProcessClose(int timeout_ms);

/* What a runtime is and holds; for tests, diagnostics and the debug SQL. */
typedef struct RuntimeStats
{
	RuntimeMethod method;		/* IO_URING or PREAD: what actually runs */
	int			creator_pid;	/* the process that created it */
	int			threads;		/* threads it started and has not joined */
	int			queue_depth;
	int			live_batches;	/* open, or released with reads in flight */
	int			in_flight;		/* reads and hints in the kernel or a worker */
	int			queued;			/* reads waiting for a slot */
	size_t		held_bytes;		/* memory of live batches */
	uint64_t	reads_done;		/* reads completed since creation */
	uint64_t	hints_done;		/* read-ahead hints issued */
	uint64_t	hints_dropped;
	uint64_t	resident_reads; /* of reads_done: served from a mapping */
	uint64_t	seen_reads;		/* of resident_reads: without mincore (resident_ttl_ms) */
	uint64_t	viewed_reads;	/* ranges views showed in place (not in reads_done) */
	int			mappings;		/* files mapped by the resident-page cache */
	int			descriptors;	/* fds it holds open itself (ring, eventfd) */
	/* why AUTO fell back to the pread pool, or "" */
	char		fallback_reason[RUNTIME_ERROR_MESSAGE_SIZE];
} RuntimeStats;

/* Fills 'stats'; EOWNERDEAD for an inherited runtime. */
extern int	RuntimeGetStats(Runtime *rt, RuntimeStats *stats);

/*
 * Read-ahead hint for a sequential scan: asks the kernel to start reading
 * [offset, offset + length) of 'fd' into the page cache (IORING_OP_FADVISE or
 * posix_fadvise(POSIX_FADV_WILLNEED) on a worker) and returns at once.
 * Hints share the queue depth with reads and never hold a buffer.  When
 * every hint slot is busy the hint is dropped and EAGAIN returned, which a
 * caller may ignore.  'fd' should stay open until the scan has read the
 * range; a hint on a closed or reused fd is harmless (it moves no data).
 */
extern int	RuntimeReadahead(Runtime *rt, int fd, int64_t offset, int64_t length,
							 RuntimeError *error);

/*
 * Unmaps the files the resident-page fast path keeps mapped (config.
 * mmap_resident), except any a submit in another thread is copying from
 * right now; the next submit maps again what it needs.  A mapping keeps its
 * file's pages mapped, so posix_fadvise(POSIX_FADV_DONTNEED) cannot drop
 * them, and keeps an unlinked file's space allocated; this lets them go.
 * 0, EINVAL for NULL, EOWNERDEAD for an inherited runtime.
 */
extern int	RuntimeUnmapFiles(Runtime *rt);

/* ---------------------------------------------------------------------------
 * Views
 * ------------------------------------------------------------------------- */

/*
 * A file's bytes used where they lie, in the resident path's mapping of the
 * file, with no copy at all: for a caller that reads many small pieces of a
 * file it keeps open and can read the rest with a batch.  A view shows only
 * bytes whose pages the sweep of "Resident regions" (README) saw resident
 * less than resident_ttl_ms before the pin, so the resident path's rule
 * holds, with its race.
 *
 *	RuntimeView v;
 *	RuntimeViewInit(&v);						-- once, kept with the fd
 *	RuntimeViewPin(rt, fd, &v, &error);			-- for a moment of use
 *	p = RuntimeViewBytes(&v, offset, length);	-- NULL: read those instead
 *	RuntimeViewUnpin(&v);						-- after the last use of any p
 *
 * The caller vouches that 'fd' is open on the same file, unchanged, at every
 * pin of a view: the runtime asks fstat only when the view has no mapping
 * yet or lost the one it had (another file took its slot, RuntimeUnmapFiles,
 * another runtime).  A pinned mapping is not unmapped before RuntimeClose;
 * a view must be unpinned before that, in the thread that pinned it.
 */
typedef struct RuntimeView
{
	Runtime    *rt;				/* of the pin */
	int			slot;			/* its mapping's slot in rt, or -1 */
	uint64_t	generation;		/* of the entry in that slot it pinned */
	const char *base;			/* while pinned with a mapping; else NULL */
	uint64_t	size;
	uint64_t	pinned_at;		/* the sweep's records are judged as of then */
	uint64_t	shown;			/* ranges shown during this pin */
} RuntimeView;

extern void RuntimeViewInit(RuntimeView *view);

/*
 * Pins the mapping of fd's file (making it if needed) and takes one step of
 * its sweep, as a submit does.  0 (also when the file cannot be mapped or
 * mmap_resident is off: the view then shows nothing), EINVAL, EOWNERDEAD.
 */
extern int	RuntimeViewPin(Runtime *rt, int fd, RuntimeView *view, RuntimeError *error);

/* [offset, offset + length) of the pinned file in place, or NULL */
extern const void *RuntimeViewBytes(RuntimeView *view, uint64_t offset, size_t length);

/* Ends the pin (a view not pinned is left alone); its pointers are invalid */
extern void RuntimeViewUnpin(RuntimeView *view);

/* ---------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------- */

typedef struct RuntimeBatch RuntimeBatch;

/* Every read's destination starts at a multiple of this within the batch. */
#define RUNTIME_READ_ALIGN 64

/* Read at the file's current position: for pipes, FIFOs and sockets. */
#define RUNTIME_OFFSET_CURRENT ((int64_t) -1)

/*
 * Opens a batch of at most max_reads reads holding at most max_bytes of data
 * (each read takes its length rounded up to RUNTIME_READ_ALIGN).  The batch
 * owns its memory (one allocation, counted against the runtime's
 * max_buffer_bytes; ENOBUFS when that budget is spent).  Reads land in that
 * memory, never in the caller's, so a batch can be given up at any moment:
 * see RuntimeBatchRelease.
 */
extern int	RuntimeBatchOpen(Runtime *rt, int max_reads, size_t max_bytes,
							 RuntimeBatch **out, RuntimeError *error);

/*
 * Adds a read of 'length' bytes at 'offset' of 'fd' (RUNTIME_OFFSET_CURRENT
 * for non-seekable files) and gives its index (0, 1, ... in the order added)
 * in *index if not NULL.  Nothing is issued before RuntimeBatchSubmit.
 * The caller keeps 'fd' open until the read is complete or the batch is
 * released, or hands it to the batch with RuntimeBatchAdoptFd.  A positioned
 * read of a non-seekable fd is the caller's mistake: the pread pool reports
 * ESPIPE, io_uring reads the stream as if RUNTIME_OFFSET_CURRENT was given.
 */
extern int	RuntimeBatchAddRead(RuntimeBatch *batch, int fd, int64_t offset,
								size_t length, int *index, RuntimeError *error);

/*
 * Gives 'fd' to the batch, which closes it once the batch is released and
 * none of its reads is in flight any more.  The caller must not close it.
 * At most RUNTIME_BATCH_MAX_FDS per batch (ENOBUFS beyond).
 */
#define RUNTIME_BATCH_MAX_FDS 8
extern int	RuntimeBatchAdoptFd(RuntimeBatch *batch, int fd, RuntimeError *error);

/*
 * Issues every read added since the last submit.  At most queue_depth reads
 * of the runtime are in flight; the others wait in the runtime's queue and
 * are issued as slots free up, so this never blocks on I/O.  Reads already
 * in the page cache may be complete when it returns: with
 * config.mmap_resident, a positioned read of a regular file whose pages are
 * all resident is copied from a mapping of the file right here; io_uring
 * completes the others that hit the cache inside the submitting system call,
 * and the pread pool reads a submit of a few reads in the caller's thread
 * with RWF_NOWAIT before waking a worker.
 */
extern int	RuntimeBatchSubmit(RuntimeBatch *batch, RuntimeError *error);

/*
 * Waits until every submitted read is complete: 0, or EAGAIN when timeout_ms
 * (-1: no bound; 0: just look) ran out first.
 */
extern int	RuntimeBatchWaitAll(RuntimeBatch *batch, int timeout_ms, RuntimeError *error);

/*
 * Waits for a completed read not returned before and gives its index; reads
 * come back in the order they completed.  0, EAGAIN on timeout, or ENODATA
 * when every submitted read has been returned.
 */
extern int	RuntimeBatchWaitNext(RuntimeBatch *batch, int timeout_ms, int *index,
								 RuntimeError *error);

/*
 * Waiting with one's own poll loop (a PostgreSQL backend waits on its latch
 * and this fd together).  'eventfd' is an eventfd(2) the caller owns and
 * keeps open until it sets another or releases the batch; -1 unsets it.
 * When a wait returns EAGAIN, the runtime writes 1 to the eventfd as soon as
 * that wait's condition holds (one write per such EAGAIN; wake-ups may be
 * spurious, none are lost).  The caller then calls the wait again with
 * timeout_ms = 0.  After RuntimeBatchRelease the runtime never writes it.
 */
extern int	RuntimeBatchSetEventFd(RuntimeBatch *batch, int eventfd, RuntimeError *error);

typedef struct RuntimeReadResult
{
	const void *data;			/* inside the batch; valid until it is released */
	size_t		length;			/* bytes read; below the request only at EOF */
	int			error;			/* 0, or the errno of the failed read */
} RuntimeReadResult;

/*
 * The outcome of read 'index': 0 when it is complete (*result filled),
 * EAGAIN when it is not yet, EINVAL for an index never added.
 */
extern int	RuntimeBatchResult(RuntimeBatch *batch, int index, RuntimeReadResult *result);

/*
 * Gives the batch up; never blocks.  Reads not yet issued are dropped.  Reads
 * in flight are cancelled where the kernel allows it, and the batch's memory
 * (and adopted fds) stay alive until the kernel or the worker is done with
 * every one of them; then the runtime frees them.  The handle is invalid
 * afterwards.  NULL is accepted.  On an inherited batch (after fork) it does
 * nothing.
 */
extern void RuntimeBatchRelease(RuntimeBatch *batch);

#ifdef __cplusplus
}
#endif

#endif							/* LANCEDB_RUNTIME_RUNTIME_H */
