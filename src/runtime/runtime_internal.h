/*
 * runtime_internal.h
 *	  State shared by the files of src/runtime/; not for consumers (they use
 *	  runtime.h only).
 *
 * Locking.  One mutex per runtime, Runtime.mu, guards all of the runtime's
 * state and all of its batches and requests.  Nothing is done under it that
 * can block for long: system calls under it are io_uring_enter with no wait,
 * eventfd writes and close().  The process-wide registry mutex (runtime.c) is
 * taken before a Runtime.mu, never after.  Threads of the runtime take only
 * Runtime.mu.
 *
 * A request's life: ADDED (in its batch, not issued) -> QUEUED (on
 * Runtime.queue, waiting for a slot) -> RUNNING (handed to the kernel or a
 * worker) -> DONE.  Requests live inside their batch's allocation, except
 * read-ahead hints, which live in Runtime.hints.
 */
#ifndef LANCEDB_RUNTIME_RUNTIME_INTERNAL_H
#define LANCEDB_RUNTIME_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "runtime/runtime.h"

#define RUNTIME_HINT_SLOTS 16
#define RUNTIME_MAX_THREADS RUNTIME_MAX_WORKERS
#define RUNTIME_MAX_OWN_FDS 4
#define RUNTIME_MAX_BATCH_READS (1 << 20)
#define RUNTIME_THREAD_STACK ((size_t) 512 << 10)

/* submits of at most this many reads are tried inline first (assist op) */
#define RUNTIME_INLINE_READS 8

/*
 * Data blocks of freed batches are kept for reuse (fresh memory costs a page
 * fault per page on every batch): at most this many, of at most
 * RUNTIME_CACHE_BLOCK_MAX bytes each.
 */
#define RUNTIME_CACHE_SLOTS 4
#define RUNTIME_CACHE_BLOCK_MAX ((size_t) 4 << 20)

/*
 * The resident-page fast path (resident.c): at most RUNTIME_MAP_SLOTS files
 * stay mapped, and only reads of at most RUNTIME_MAP_MAX_READ bytes are
 * tried.  A submit looks at most
 * RUNTIME_MAP_SUBMIT_FILES distinct fds; reads of further fds take the
 * ordinary path.
 */
#define RUNTIME_MAP_SLOTS 16
#define RUNTIME_MAP_MAX_READ ((size_t) 256 << 10)
#define RUNTIME_MAP_SUBMIT_FILES 8
/*
 * Submits of fewer reads copy only what a sweep saw resident lately
 * (config.resident_ttl_ms): fstat plus a mincore call per read cost more
 * than the reads (about three system calls against one), fstat alone less.
 */
#define RUNTIME_MAP_MIN_READS 8

/*
 * Residency seen by the sweep is kept per region of 64 pages (one uint64_t
 * of bits and one of time), for files of at most RUNTIME_REGION_MAX_BYTES
 * (1 MB of both).
 */
#define RUNTIME_REGION_PAGES 64
#define RUNTIME_REGION_MAX_BYTES ((uint64_t) 16 << 30)

/*
 * A read-only MAP_SHARED mapping of a whole regular file, keyed by what
 * fstat says of the file (device, inode, size), never by fd number.  'pins'
 * counts submits copying from it right now (it is not unmapped while
 * pinned); 'base' NULL records a file that could not be mapped.
 */
typedef struct RuntimeMapping
{
	bool		used;			/* the slot holds an entry */
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	char	   *base;
	int			pins;			/* submits copying from it, and pinned views */
	uint64_t	stamp;			/* last use; the least recent unpinned goes first */
	uint64_t	generation;		/* unique in the process per entry made (views) */
	/*
	 * Learned by resident.c, read and written with relaxed atomics by
	 * whichever submit has it pinned (lost updates are harmless): the cost
	 * of mincore per page looked at, in 1/16 ns (cheap where the mapping
	 * has page table entries, dear where it has none); submits seen; and the
	 * back-off when reads found nothing resident.
	 */
	uint32_t	page_cost16;
	uint32_t	submits;
	uint32_t	skip;
	uint32_t	backoff;
	/*
	 * Pages seen resident (resident.c, "Resident regions"): a bit per page,
	 * and per region of RUNTIME_REGION_PAGES pages the NowNs() of the
	 * mincore call that set its bits (0: not yet, or being rewritten).
	 * Written only by the submit holding 'sweeping', read by any; NULL
	 * when the file is too large or resident_ttl_ms is 0.
	 */
	uint64_t   *region_bits;
	uint64_t   *region_seen;
	uint64_t	nregions;
	uint64_t	sweep_next;		/* the next region a sweep step looks at */
	uint64_t	sweep_begun;	/* NowNs() when the current pass began */
	uint64_t	sweep_due;		/* no pass begins before this */
	uint32_t	sweeping;
} RuntimeMapping;

typedef struct RuntimeBlock
{
	void	   *data;
	size_t		bytes;
	uint64_t	stamp;			/* when it was cached; the oldest goes first */
} RuntimeBlock;

typedef enum RuntimeRequestState
{
	RUNTIME_REQ_ADDED = 0,
	RUNTIME_REQ_QUEUED,
	RUNTIME_REQ_RUNNING,
	RUNTIME_REQ_DONE
} RuntimeRequestState;

typedef enum RuntimeRequestKind
{
	RUNTIME_REQ_READ = 0,
	RUNTIME_REQ_HINT
} RuntimeRequestKind;

typedef struct RuntimeRequest
{
	struct RuntimeRequest *rq_prev;	/* Runtime.queue links, while QUEUED */
	struct RuntimeRequest *rq_next;
	struct RuntimeBatch *rq_batch;	/* NULL for a hint */
	RuntimeRequestKind rq_kind;
	RuntimeRequestState rq_state;
	int			rq_index;		/* in its batch */
	int			rq_fd;
	int			rq_error;		/* once DONE: 0 or errno */
	bool		rq_cancel_sent; /* io_uring: a cancel was submitted for it */
	bool		rq_resident;	/* copied from a mapping at submit (resident.c) */
	int64_t		rq_offset;		/* start, or RUNTIME_OFFSET_CURRENT */
	size_t		rq_length;		/* asked for */
	size_t		rq_done;		/* bytes read so far (short reads resume) */
	char	   *rq_dest;		/* inside the batch's data */
} RuntimeRequest;

struct RuntimeBatch
{
	struct Runtime *b_rt;
	struct RuntimeBatch *b_prev;	/* Runtime.batches links */
	struct RuntimeBatch *b_next;
	int			b_max_reads;
	int			b_nreads;		/* added */
	int			b_nsubmitted;	/* [0, b_nsubmitted) were submitted */
	int			b_ncompleted;	/* DONE among the submitted */
	int			b_nreturned;	/* given out by RuntimeBatchWaitNext */
	int			b_inflight;		/* QUEUED or RUNNING */
	bool		b_released;		/* the caller gave it up */
	bool		b_armed;		/* an EAGAIN wait wants an eventfd write */
	bool		b_assist_all;	/* the waiter that assists waits for all */
	int			b_wake_at;		/* ... when b_ncompleted reaches this */
	int			b_notify_fd;	/* caller's eventfd or -1 */
	int			b_nfds;
	int			b_fds[RUNTIME_BATCH_MAX_FDS];	/* adopted */
	size_t		b_max_bytes;
	size_t		b_used_bytes;
	size_t		b_alloc_bytes;	/* counted in Runtime.held_bytes */
	size_t		b_data_bytes;	/* size of b_data's block */
	char	   *b_data;			/* page-aligned, >= b_max_bytes */
	RuntimeRequest *b_reqs;		/* b_max_reads */
	int		   *b_order;		/* indexes in completion order */
};

struct Runtime;

/*
 * A backend: a const vtable plus private data, set by its start function.
 * Every op except start and release is called with Runtime.mu held.
 */
typedef struct RuntimeBackendOps
{
	const char *name;
	RuntimeMethod method;
	/* sets up ring or threads; on failure leaves nothing behind */
	int			(*start) (struct Runtime *rt, RuntimeError *error);
	/* issue QUEUED requests while slots are free; collect what is complete */
	void		(*kick) (struct Runtime *rt);
	/*
	 * optional (NULL: none): the waiting caller does some of its batch's
	 * QUEUED reads itself, without blocking; may drop and retake Runtime.mu
	 */
	void		(*assist) (struct Runtime *rt, struct RuntimeBatch *batch);
	/* try to stop a RUNNING request whose batch was released */
	void		(*cancel) (struct Runtime *rt, RuntimeRequest *req);
	/* shutting down: cancel everything, wake the threads so they can exit */
	void		(*stop) (struct Runtime *rt);
	/* after every thread has exited: free ring, fds, private data */
	void		(*release) (struct Runtime *rt);
} RuntimeBackendOps;

extern const RuntimeBackendOps RuntimeUringOps;
extern const RuntimeBackendOps RuntimePreadOps;

struct Runtime
{
	pthread_mutex_t mu;
	pthread_cond_t cv;			/* blocking waiters; thread exits */
	RuntimeConfig config;
	const RuntimeBackendOps *ops;
	void	   *private_data;	/* the backend's */

	/* identity, fixed at creation */
	int			pid;
	unsigned long fork_gen;
	struct Runtime *reg_next;	/* the process registry (runtime.c) */
	int			own_fds[RUNTIME_MAX_OWN_FDS];	/* closed in a fork child */
	int			nown_fds;

	bool		stopping;
	int			nwaiters;		/* threads in cv waits */

	/* QUEUED requests, oldest first */
	RuntimeRequest *queue_head;
	RuntimeRequest *queue_tail;
	int			nqueued;
	int			inflight;		/* RUNNING requests */

	struct RuntimeBatch *batches;
	int			nbatches;
	size_t		held_bytes;
	RuntimeBlock cache[RUNTIME_CACHE_SLOTS];	/* empty slots have data NULL */
	uint64_t	cache_clock;

	/* resident-page fast path (resident.c) */
	RuntimeMapping maps[RUNTIME_MAP_SLOTS];
	uint64_t	map_clock;
	int			nmaps;			/* slots in use with a mapping */
	uid_t		euid;			/* fixed at creation: mincore tells owners only */
	size_t		page_size;
	uint32_t	mincore_call_ns;	/* learned cost of a mincore call (relaxed) */
	uint64_t	resident_reads;
	uint64_t	seen_reads;
	uint64_t	viewed_reads;

	RuntimeRequest hints[RUNTIME_HINT_SLOTS];
	RuntimeRequest *free_hints; /* linked through rq_next */

	uint64_t	reads_done;
	uint64_t	hints_done;
	uint64_t	hints_dropped;

	/* threads */
	int			nthreads;
	int			threads_alive;	/* started and not yet at their exit */
	pthread_t	threads[RUNTIME_MAX_THREADS];
	bool		thread_exited[RUNTIME_MAX_THREADS];

	char		fallback_reason[RUNTIME_ERROR_MESSAGE_SIZE];
};

/* runtime.c */
extern bool RuntimeIsOwn(const Runtime *rt);
extern int	RuntimeThreadStart(Runtime *rt, const char *name, void *(*fn) (void *),
							   RuntimeError *error);
extern void RuntimeThreadExiting(Runtime *rt, int slot);
extern int	RuntimeThreadSlot(Runtime *rt);
extern void RuntimeAddOwnFd(Runtime *rt, int fd);
extern void RuntimeDeadline(struct timespec *ts, int timeout_ms);

/* batch.c, all with Runtime.mu held */
extern RuntimeRequest *RuntimeQueuePop(Runtime *rt);
extern void RuntimeQueuePushFront(Runtime *rt, RuntimeRequest *req);
extern RuntimeRequest *RuntimeQueueTakeOwn(Runtime *rt, struct RuntimeBatch *batch);
extern bool RuntimeBatchWaitDone(const struct RuntimeBatch *batch, bool all);
extern void RuntimeRequestComplete(Runtime *rt, RuntimeRequest *req, int error);
extern void RuntimeBatchDrop(struct RuntimeBatch *batch);
extern void RuntimeCacheFree(Runtime *rt);

/* resident.c; neither with Runtime.mu held (they take it briefly) */
extern int	RuntimeResidentServe(Runtime *rt, struct RuntimeBatch *batch, int first,
								 int last, bool seen_only);
extern void RuntimeResidentUnmapAll(Runtime *rt);

#endif							/* LANCEDB_RUNTIME_RUNTIME_INTERNAL_H */
