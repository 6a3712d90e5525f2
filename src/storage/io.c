/*
 * io.c
 *	  The backend side of the I/O runtime: GUCs, lazy creation per process,
 *	  waiting on an eventfd together with the latch, shutdown at exit, and
 *	  runtime error codes turned into ereport(ERROR).
 *
 * Rules this file enforces (ARCHITECTURE.md invariants 5 and 6):
 *	- _PG_init (LanceIoInit) only defines settings.  The runtime's threads
 *	  and ring are created at the first batch of each process, never in the
 *	  postmaster -- except under lancedb.debug_io_in_postmaster, a test-only
 *	  setting that proves backends still work when the postmaster has one.
 *	- The runtime's threads never call into PostgreSQL.  The backend waits
 *	  for them with WaitEventSetWait on its latch, postmaster death and an
 *	  eventfd the runtime writes, then runs CHECK_FOR_INTERRUPTS, so query
 *	  cancel, statement_timeout and pg_terminate_backend act at once even
 *	  while a read hangs.
 *	- Every batch is tied to a memory context by a reset callback, so an
 *	  ERROR cannot leak it; the runtime keeps buffers the kernel may still
 *	  write into until it is done.
 *	- At backend exit (on_proc_exit) the runtime is closed with a short
 *	  bound: threads joined and ring closed, or, when a read will not end,
 *	  left to the exiting process without waiting further.
 */
#include "postgres.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/io.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

/* bound on waiting for reads and threads when a backend exits */
#define EXIT_CLOSE_TIMEOUT_MS 200

typedef enum DebugUringRefuse
{
	REFUSE_OFF = 0,
	REFUSE_ENOSYS,
	REFUSE_EPERM
} DebugUringRefuse;

static const struct config_enum_entry io_method_options[] = {
	{"auto", RUNTIME_METHOD_AUTO, false},
	{"io_uring", RUNTIME_METHOD_IO_URING, false},
	{"pread", RUNTIME_METHOD_PREAD, false},
	{NULL, 0, false}
};

static const struct config_enum_entry refuse_options[] = {
	{"off", REFUSE_OFF, false},
	{"enosys", REFUSE_ENOSYS, false},
	{"eperm", REFUSE_EPERM, false},
	{NULL, 0, false}
};

static int	io_method = RUNTIME_METHOD_AUTO;
static int	io_workers = RUNTIME_DEFAULT_WORKERS;
static int	io_queue_depth = RUNTIME_DEFAULT_DEPTH;
static bool io_mmap_resident = true;
static int	io_resident_ttl = RUNTIME_DEFAULT_RESIDENT_TTL_MS;
static bool debug_io_in_postmaster = false;
static int	debug_io_uring_refuse = REFUSE_OFF;

/* per process; all reset by comparing io_pid with MyProcPid after fork */
static int	io_pid;
static RuntimeConfig io_config; /* what the process runtime was made with */
static int	io_eventfd = -1;
static int	io_views_pinned;	/* LanceIoViewPin not yet unpinned */
static int	io_runtime_fds;		/* the runtime's own fds, counted by fd.c */
static WaitEventSet *io_wait_set;

struct LanceIoBatch
{
	RuntimeBatch *rb;			/* NULL once given back */
	MemoryContextCallback cb;
};

static void
DesiredConfig(RuntimeConfig *c)
{
	RuntimeConfigInit(c);
	c->method = (RuntimeMethod) io_method;
	c->workers = io_workers;
	c->queue_depth = io_queue_depth;
	c->mmap_resident = io_mmap_resident;
	c->resident_ttl_ms = io_resident_ttl;
	c->inject_uring_errno = debug_io_uring_refuse == REFUSE_ENOSYS ? ENOSYS :
		debug_io_uring_refuse == REFUSE_EPERM ? EPERM : 0;
}

static bool
SameConfig(const RuntimeConfig *a, const RuntimeConfig *b)
{
	return a->method == b->method && a->workers == b->workers &&
		a->queue_depth == b->queue_depth && a->mmap_resident == b->mmap_resident &&
		a->resident_ttl_ms == b->resident_ttl_ms &&
		a->inject_uring_errno == b->inject_uring_errno;
}

/*
 * Reports a runtime code as an ERROR.  'what' says what was being done.
 */
static void pg_attribute_noreturn()
ReportRuntimeError(int code, const RuntimeError *err, const char *what)
{
	int			sqlstate;
	const char *hint = NULL;

	switch (code)
	{
		case ENOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			break;
		case ENOBUFS:
			sqlstate = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
			hint = "Read less per batch.";
			break;
		case EINVAL:
			sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			break;
		case ENOSYS:
		case EPERM:
		case ENOTSUP:
			sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED;
			hint = "Set lancedb.io_method to \"auto\" or \"pread\" to use worker threads instead of io_uring.";
			break;
		case EMFILE:
		case ENFILE:
		case EAGAIN:
			sqlstate = ERRCODE_INSUFFICIENT_RESOURCES;
			break;
		default:
			sqlstate = ERRCODE_INTERNAL_ERROR;
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s: %s", what, RuntimeErrorMessage(err)),
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

static void
AtExit(int code, Datum arg)
{
	(void) code;
	(void) arg;
	/* EBUSY means a read would not end: the exiting process drops it */
	(void) RuntimeProcessClose(EXIT_CLOSE_TIMEOUT_MS);
}

/* The eventfd and the wait set of this process, made on first use. */
static void
EnsureWaitSet(void)
{
	if (io_wait_set != NULL)
		return;
	/* kept for the life of the process: fd.c makes room for it */
	ReserveExternalFD();
	io_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io_eventfd < 0)
	{
		int			save_errno = errno;

		ReleaseExternalFD();
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not create an eventfd for I/O waits: %m")));
	}
	io_wait_set = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(io_wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(io_wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(io_wait_set, WL_SOCKET_READABLE, io_eventfd, NULL, NULL);
}

static void
ReleaseRuntimeFds(void)
{
	for (; io_runtime_fds > 0; io_runtime_fds--)
		ReleaseExternalFD();
}

Runtime *
LanceIoRuntime(void)
{
	RuntimeConfig want;
	RuntimeError err;
	Runtime    *rt;
	int			rc;

	if (io_pid != MyProcPid)
	{
		/* first use in this process: what a parent had is not ours */
		io_pid = MyProcPid;
		io_wait_set = NULL;
		io_eventfd = -1;
		io_views_pinned = 0;
		/* the parent's runtime fds were closed in this child (runtime.c) */
		ReleaseRuntimeFds();
		memset(&io_config, 0, sizeof(io_config));
		if (IsUnderPostmaster)
			on_proc_exit(AtExit, (Datum) 0);
	}

	DesiredConfig(&want);
	rt = RuntimeProcessPeek();
	if (rt != NULL && !SameConfig(&want, &io_config))
	{
		RuntimeStats st;

		/* a setting changed: start over, unless batches or views are open */
		if (RuntimeGetStats(rt, &st) == 0 && st.live_batches == 0 && io_views_pinned == 0)
		{
			/* EBUSY leaves its fds to the process: they stay counted */
			if (RuntimeProcessClose(EXIT_CLOSE_TIMEOUT_MS) == 0)
				ReleaseRuntimeFds();
			rt = NULL;
		}
	}
	if (rt == NULL)
	{
		RuntimeStats st;

		rc = RuntimeProcessGet(&want, &rt, &err);
		if (rc != 0)
			ReportRuntimeError(rc, &err, "could not start the I/O runtime");
		io_config = want;

		/*
		 * The ring and its eventfd live as long as the runtime; fd.c counts
		 * them, as it counts the wait set's epoll fd, so that the backend's
		 * own files leave room for them under its descriptor limit.
		 */
		if (RuntimeGetStats(rt, &st) == 0)
			for (; io_runtime_fds < st.descriptors; io_runtime_fds++)
				ReserveExternalFD();
	}
	return rt;
}

void
LanceIoViewPin(RuntimeView *view, int fd)
{
	Runtime    *rt = LanceIoRuntime();
	RuntimeError err;
	int			rc;

	rc = RuntimeViewPin(rt, fd, view, &err);
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not pin a view of a file");
	io_views_pinned++;
}

void
LanceIoViewUnpin(RuntimeView *view)
{
	RuntimeViewUnpin(view);
	io_views_pinned--;
}

static void
BatchResetCallback(void *arg)
{
	LanceIoBatch *b = arg;

	RuntimeBatchRelease(b->rb);
	b->rb = NULL;
}

LanceIoBatch *
LanceIoBatchBegin(int max_reads, size_t max_bytes)
{
	Runtime    *rt = LanceIoRuntime();
	LanceIoBatch *b;
	RuntimeError err;
	int			rc;

	EnsureWaitSet();
	b = palloc0(sizeof(LanceIoBatch));
	rc = RuntimeBatchOpen(rt, max_reads, max_bytes, &b->rb, &err);
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not start a batch of reads");
	b->cb.func = BatchResetCallback;
	b->cb.arg = b;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &b->cb);
	(void) RuntimeBatchSetEventFd(b->rb, io_eventfd, NULL);
	return b;
}

int
LanceIoBatchRead(LanceIoBatch *b, int fd, int64 offset, size_t length)
{
	RuntimeError err;
	int			index;
	int			rc;

	rc = RuntimeBatchAddRead(b->rb, fd, offset, length, &index, &err);
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not add a read to a batch");
	return index;
}

void
LanceIoBatchAdoptFd(LanceIoBatch *b, int fd)
{
	RuntimeError err;
	int			rc;

	rc = RuntimeBatchAdoptFd(b->rb, fd, &err);
	if (rc != 0)
	{
		close(fd);
		ReportRuntimeError(rc, &err, "could not hand a file to a batch");
	}
}

void
LanceIoBatchSubmit(LanceIoBatch *b)
{
	RuntimeError err;
	int			rc;

	rc = RuntimeBatchSubmit(b->rb, &err);
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not submit a batch of reads");
}

/*
 * Sleeps until the eventfd, the latch or postmaster death wakes us, then
 * services interrupts.  The eventfd is drained before the caller looks at
 * the batch again; the runtime writes it after each EAGAIN wait whose
 * condition comes true, so no completion can slip between the two.
 */
static void
Sleep(void)
{
	WaitEvent	event;
	uint64		count;

	if (WaitEventSetWait(io_wait_set, -1, &event, 1, WAIT_EVENT_DATA_FILE_READ) > 0)
	{
		if (event.events & WL_LATCH_SET)
			ResetLatch(MyLatch);
		if (event.events & WL_SOCKET_READABLE)
		{
			if (read(io_eventfd, &count, sizeof(count)) < 0)
				count = 0;		/* EAGAIN: someone drained it already */
		}
	}
	CHECK_FOR_INTERRUPTS();
}

void
LanceIoBatchWaitAll(LanceIoBatch *b)
{
	RuntimeError err;
	int			rc;

	while ((rc = RuntimeBatchWaitAll(b->rb, 0, &err)) == EAGAIN)
		Sleep();
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not wait for reads");
}

int
LanceIoBatchWaitNext(LanceIoBatch *b)
{
	RuntimeError err;
	int			index = -1;
	int			rc;

	while ((rc = RuntimeBatchWaitNext(b->rb, 0, &index, &err)) == EAGAIN)
		Sleep();
	if (rc == ENODATA)
		return -1;
	if (rc != 0)
		ReportRuntimeError(rc, &err, "could not wait for reads");
	return index;
}

/* The result of read 'index', which must be complete */
static void
CompletedRead(LanceIoBatch *b, int index, RuntimeReadResult *r)
{
	int			rc = RuntimeBatchResult(b->rb, index, r);

	if (rc != 0)
		elog(ERROR, "read %d of a batch is not complete (code %d)", index, rc);
}

const void *
LanceIoBatchData(LanceIoBatch *b, int index, size_t *length)
{
	RuntimeReadResult r;

	CompletedRead(b, index, &r);
	if (r.error != 0)
	{
		errno = r.error;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file: %m")));
	}
	*length = r.length;
	return r.data;
}

int
LanceIoBatchError(LanceIoBatch *b, int index)
{
	RuntimeReadResult r;

	CompletedRead(b, index, &r);
	return r.error;
}

void
LanceIoBatchEnd(LanceIoBatch *b)
{
	RuntimeBatchRelease(b->rb);
	b->rb = NULL;
	/* the reset callback stays registered and finds nothing to do */
}

void
LanceIoReadahead(int fd, int64 offset, int64 length)
{
	/* EAGAIN (all hint slots busy) just drops the hint */
	(void) RuntimeReadahead(LanceIoRuntime(), fd, offset, length, NULL);
}

void
LanceIoInit(void)
{
	DefineCustomEnumVariable("lancedb.io_method",
							 "How lancedb reads side files.",
							 "auto uses io_uring and falls back to worker threads "
							 "doing pread where io_uring is unavailable; io_uring "
							 "fails instead; pread always uses the worker threads.",
							 &io_method, RUNTIME_METHOD_AUTO, io_method_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lancedb.io_workers",
							"Worker threads per process for pread I/O.",
							"Used when io_uring is unavailable or lancedb.io_method is pread.",
							&io_workers, RUNTIME_DEFAULT_WORKERS, 1, RUNTIME_MAX_WORKERS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lancedb.io_queue_depth",
							"Reads in flight at once per process.",
							NULL,
							&io_queue_depth, RUNTIME_DEFAULT_DEPTH, 1, 1024,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("lancedb.io_mmap_resident",
							 "Copies reads whose pages are already in the page cache from a mapping of the file.",
							 "Saves the read system calls for cached data; pages not in the "
							 "page cache are still read by io_uring or the worker threads.",
							 &io_mmap_resident, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lancedb.io_resident_ttl",
							"How long a side file found wholly in the page cache counts as cached.",
							"With lancedb.io_mmap_resident, reads of such a file are copied "
							"without asking the kernel page by page; a page evicted meanwhile "
							"is read by a page fault.  0 asks for every read.",
							&io_resident_ttl, RUNTIME_DEFAULT_RESIDENT_TTL_MS,
							0, RUNTIME_MAX_RESIDENT_TTL_MS,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	/* a backend loading the library later may not define postmaster settings */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomBoolVariable("lancedb.debug_io_in_postmaster",
								 "For tests only: creates the I/O runtime in the postmaster at start.",
								 "Backends must never depend on it; tests use it to check "
								 "that they still work when the postmaster has one.",
								 &debug_io_in_postmaster, false,
								 PGC_POSTMASTER, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomEnumVariable("lancedb.debug_io_uring_refuse",
							 "For tests only: acts as if io_uring_setup failed.",
							 NULL,
							 &debug_io_uring_refuse, REFUSE_OFF, refuse_options,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	if (debug_io_in_postmaster && !IsUnderPostmaster)
	{
		RuntimeConfig c;
		RuntimeError err;
		Runtime    *rt;
		RuntimeStats st;
		int			rc;

		DesiredConfig(&c);
		rc = RuntimeProcessGet(&c, &rt, &err);
		if (rc != 0)
			ereport(WARNING,
					(errmsg("lancedb.debug_io_in_postmaster: %s", RuntimeErrorMessage(&err))));
		else if (RuntimeGetStats(rt, &st) == 0)
			ereport(LOG,
					(errmsg("lancedb.debug_io_in_postmaster: the postmaster (pid %d) has an I/O runtime (%s, %d threads)",
							st.creator_pid, RuntimeMethodName(st.method), st.threads)));
	}
}
