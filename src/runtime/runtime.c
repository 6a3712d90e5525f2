/*
 * runtime.c
 *	  Lifecycle of runtimes: creation, the per-process runtime, fork rules,
 *	  threads, shutdown.
 *
 * The rule this file enforces: a runtime is used only by the process that
 * created it.  Every runtime records its creator's pid and the process's fork
 * generation; the pthread_atfork child handler bumps the generation, forgets
 * every runtime it inherited (they are leaked on purpose: their threads do
 * not exist in the child and their locks may be held), and closes the
 * child's copies of their file descriptors.  The prepare and parent handlers
 * take and release every runtime's mutex around fork(), so the memory a
 * child inherits is never half-updated.  See README in this folder.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

/* Every runtime of this process, and the one RuntimeProcessGet hands out. */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static Runtime *registry;
static Runtime *process_rt;

/*
 * Bumped by the child handler after every fork(); only ever written by a
 * process with one thread, so plain reads elsewhere are race free.
 */
static unsigned long fork_gen;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/*
 * Runtimes leaked on purpose (inherited through fork(), or closed while a
 * thread or the kernel still used them) stay listed here, so their memory is
 * still referenced (leak checkers stay quiet) and nothing frees it.  Beyond
 * RUNTIME_GRAVEYARD entries they are simply forgotten.
 */
#define RUNTIME_GRAVEYARD 64
static Runtime *graveyard[RUNTIME_GRAVEYARD];
static int	ngraveyard;

static void
Bury(Runtime *rt)
{
	if (ngraveyard < RUNTIME_GRAVEYARD)
		graveyard[ngraveyard++] = rt;
}

/* ---- errors and configuration ---- */

int
RuntimeErrorSet(RuntimeError *error, int code, const char *fmt,...)
{
	va_list		ap;

	if (error != NULL)
	{
		va_start(ap, fmt);
		vsnprintf(error->message, sizeof(error->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *
RuntimeErrorMessage(const RuntimeError *error)
{
	return error != NULL ? error->message : "";
}

void
RuntimeConfigInit(RuntimeConfig *config)
{
	memset(config, 0, sizeof(*config));
	config->method = RUNTIME_METHOD_AUTO;
	config->workers = RUNTIME_DEFAULT_WORKERS;
	config->queue_depth = RUNTIME_DEFAULT_DEPTH;
	config->max_buffer_bytes = RUNTIME_DEFAULT_BUFFER_BYTES;
	config->mmap_resident = true;
	config->resident_ttl_ms = RUNTIME_DEFAULT_RESIDENT_TTL_MS;
}

const char *
RuntimeMethodName(RuntimeMethod method)
{
	switch (method)
	{
		case RUNTIME_METHOD_AUTO:
			return "auto";
		case RUNTIME_METHOD_IO_URING:
			return "io_uring";
		case RUNTIME_METHOD_PREAD:
			return "pread";
	}
	return "unknown";
}

static int
CheckConfig(const RuntimeConfig *config, RuntimeError *error)
{
	if (config == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected a configuration but found NULL");
	if (config->method != RUNTIME_METHOD_AUTO &&
		config->method != RUNTIME_METHOD_IO_URING &&
		config->method != RUNTIME_METHOD_PREAD)
		return RuntimeErrorSet(error, EINVAL, "expected an I/O method but found %d",
							   (int) config->method);
	if (config->workers < 1 || config->workers > RUNTIME_MAX_WORKERS)
		return RuntimeErrorSet(error, EINVAL, "expected 1..%d workers but found %d",
							   RUNTIME_MAX_WORKERS, config->workers);
	if (config->queue_depth < 1 || config->queue_depth > RUNTIME_MAX_DEPTH)
		return RuntimeErrorSet(error, EINVAL, "expected a queue depth of 1..%d but found %d",
							   RUNTIME_MAX_DEPTH, config->queue_depth);
	if (config->max_buffer_bytes == 0)
		return RuntimeErrorSet(error, EINVAL, "expected a memory budget above 0 bytes");
	if (config->resident_ttl_ms < 0 || config->resident_ttl_ms > RUNTIME_MAX_RESIDENT_TTL_MS)
		return RuntimeErrorSet(error, EINVAL, "expected a resident TTL of 0..%d ms but found %d",
							   RUNTIME_MAX_RESIDENT_TTL_MS, config->resident_ttl_ms);
	return 0;
}

/* ---- fork handling ---- */

/*
 * prepare: runs in the forking thread just before fork().  Taking every
 * runtime's mutex waits out any thread in a critical section, so the child
 * copies consistent memory, and makes the registry stable.
 */
static void
AtforkPrepare(void)
{
	Runtime    *rt;

	pthread_mutex_lock(&registry_mu);
	for (rt = registry; rt != NULL; rt = rt->reg_next)
		pthread_mutex_lock(&rt->mu);
}

/* parent: the fork is done; everything runs on as before. */
static void
AtforkParent(void)
{
	Runtime    *rt;

	for (rt = registry; rt != NULL; rt = rt->reg_next)
		pthread_mutex_unlock(&rt->mu);
	pthread_mutex_unlock(&registry_mu);
}

/*
 * child: one thread, a copy of the forking one.  The inherited runtimes have
 * no threads here and their mutexes are held (by prepare): forget them all
 * without unlocking, joining or freeing anything.  Only their own fds,
 * fixed at creation, are read and the child's copies closed, so a long line
 * of forks does not pile up rings.  The registry mutex was taken by this
 * very thread in prepare, so unlocking it is allowed.
 */
static void
AtforkChild(void)
{
	Runtime    *rt;
	int			i;

	for (rt = registry; rt != NULL; rt = rt->reg_next)
	{
		for (i = 0; i < rt->nown_fds; i++)
			close(rt->own_fds[i]);
		Bury(rt);
	}
	registry = NULL;
	process_rt = NULL;
	fork_gen++;
	pthread_mutex_unlock(&registry_mu);
}

static void
RegisterAtfork(void)
{
	/* failure (ENOMEM) is only possible at the first call; see RuntimeOpen */
	(void) pthread_atfork(AtforkPrepare, AtforkParent, AtforkChild);
}

/* True when 'rt' was created by this process (not inherited via fork). */
bool
RuntimeIsOwn(const Runtime *rt)
{
	return rt->fork_gen == fork_gen;
}

/* ---- threads ---- */

/* An absolute CLOCK_MONOTONIC time timeout_ms (>= 0) from now. */
void
RuntimeDeadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L)
	{
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Starts a thread of 'rt' running fn(rt), with every signal blocked (the
 * mask is inherited from the creating thread, so block all, create, restore:
 * signals keep going to the caller's threads only).  Called during start,
 * before the runtime is visible to any other thread.
 */
int
RuntimeThreadStart(Runtime *rt, const char *name, void *(*fn) (void *), RuntimeError *error)
{
	sigset_t	all;
	sigset_t	old;
	pthread_attr_t attr;
	int			slot = rt->nthreads;
	int			rc;

	if (slot >= RUNTIME_MAX_THREADS)
		return RuntimeErrorSet(error, EINVAL, "expected at most %d threads", RUNTIME_MAX_THREADS);
	rc = pthread_attr_init(&attr);
	if (rc != 0)
		return RuntimeErrorSet(error, rc, "pthread_attr_init failed: %s", strerror(rc));
	(void) pthread_attr_setstacksize(&attr, RUNTIME_THREAD_STACK);

	/*
	 * rt->mu is held across pthread_create so that the new thread, which
	 * looks itself up in rt->threads (RuntimeThreadSlot), sees its id stored.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&rt->mu);
	rt->thread_exited[slot] = false;
	rc = pthread_create(&rt->threads[slot], &attr, fn, rt);
	if (rc == 0)
	{
		rt->threads_alive++;
		rt->nthreads++;
	}
	pthread_mutex_unlock(&rt->mu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return RuntimeErrorSet(error, rc, "pthread_create failed: %s", strerror(rc));
	(void) pthread_setname_np(rt->threads[slot], name);
	return 0;
}

/* The calling thread's slot in rt->threads.  Takes rt->mu. */
int
RuntimeThreadSlot(Runtime *rt)
{
	pthread_t	self = pthread_self();
	int			i;
	int			slot = -1;

	pthread_mutex_lock(&rt->mu);
	for (i = 0; i < rt->nthreads; i++)
		if (pthread_equal(rt->threads[i], self))
			slot = i;
	pthread_mutex_unlock(&rt->mu);
	return slot;
}

/* A thread's last act on 'rt', with rt->mu held: it may now be joined. */
void
RuntimeThreadExiting(Runtime *rt, int slot)
{
	if (slot >= 0)
		rt->thread_exited[slot] = true;
	rt->threads_alive--;
	pthread_cond_broadcast(&rt->cv);
}

/* Records an fd the runtime owns, for the fork child handler. */
void
RuntimeAddOwnFd(Runtime *rt, int fd)
{
	if (rt->nown_fds < RUNTIME_MAX_OWN_FDS)
		rt->own_fds[rt->nown_fds++] = fd;
}

/*
 * Waits for every thread to reach its exit, up to timeout_ms, then joins the
 * ones that did and detaches the others.  True when all were joined.
 */
static bool
JoinThreads(Runtime *rt, int timeout_ms)
{
	struct timespec deadline;
	bool		all;
	int			i;

	if (timeout_ms >= 0)
		RuntimeDeadline(&deadline, timeout_ms);
	pthread_mutex_lock(&rt->mu);
	while (rt->threads_alive > 0)
	{
		if (timeout_ms < 0)
			pthread_cond_wait(&rt->cv, &rt->mu);
		else if (pthread_cond_timedwait(&rt->cv, &rt->mu, &deadline) == ETIMEDOUT)
			break;
	}
	all = rt->threads_alive == 0;
	pthread_mutex_unlock(&rt->mu);

	/* thread_exited[] only goes from false to true, under mu, before exit */
	for (i = 0; i < rt->nthreads; i++)
	{
		bool		exited;

		pthread_mutex_lock(&rt->mu);
		exited = rt->thread_exited[i];
		pthread_mutex_unlock(&rt->mu);
		if (exited)
			pthread_join(rt->threads[i], NULL);
		else
			pthread_detach(rt->threads[i]);
	}
	rt->nthreads = 0;
	return all;
}

/* ---- creation and shutdown ---- */

static void
FreeRuntime(Runtime *rt)
{
	pthread_cond_destroy(&rt->cv);
	pthread_mutex_destroy(&rt->mu);
	free(rt);
}

/* RuntimeOpen with registry_mu held by the caller. */
static int
OpenLocked(const RuntimeConfig *config, Runtime **out, RuntimeError *error)
{
	Runtime    *rt;
	pthread_condattr_t cattr;
	int			rc;
	int			i;

	rc = CheckConfig(config, error);
	if (rc != 0)
		return rc;
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return RuntimeErrorSet(error, ENOMEM, "out of memory allocating a runtime");
	rt->config = *config;
	rt->pid = (int) getpid();
	rt->fork_gen = fork_gen;
	rt->euid = geteuid();
	rt->page_size = (size_t) sysconf(_SC_PAGESIZE);
	rt->mincore_call_ns = 1000;
	if (rt->page_size < 4096)
		rt->config.mmap_resident = false;	/* resident.c assumes >= 4 kB */
	pthread_mutex_init(&rt->mu, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->cv, &cattr);
	pthread_condattr_destroy(&cattr);
	for (i = RUNTIME_HINT_SLOTS - 1; i >= 0; i--)
	{
		rt->hints[i].rq_kind = RUNTIME_REQ_HINT;
		rt->hints[i].rq_next = rt->free_hints;
		rt->free_hints = &rt->hints[i];
	}

	rc = EINVAL;
	if (config->method != RUNTIME_METHOD_PREAD)
	{
		RuntimeError uring_error;

		rt->ops = &RuntimeUringOps;
		rc = rt->ops->start(rt, &uring_error);
		if (rc != 0 && config->method == RUNTIME_METHOD_IO_URING)
		{
			RuntimeErrorSet(error, rc, "%s", uring_error.message);
			FreeRuntime(rt);
			return rc;
		}
		if (rc != 0)
			snprintf(rt->fallback_reason, sizeof(rt->fallback_reason), "%s",
					 uring_error.message);
	}
	if (rc != 0)
	{
		rt->ops = &RuntimePreadOps;
		rc = rt->ops->start(rt, error);
		if (rc != 0)
		{
			FreeRuntime(rt);
			return rc;
		}
	}

	rt->reg_next = registry;
	registry = rt;
	*out = rt;
	return 0;
}

int
RuntimeOpen(const RuntimeConfig *config, Runtime **out, RuntimeError *error)
{
	int			rc;

	if (out == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected an output pointer but found NULL");
	*out = NULL;
	rc = pthread_once(&atfork_once, RegisterAtfork);
	if (rc != 0)
		return RuntimeErrorSet(error, rc, "pthread_once failed: %s", strerror(rc));

	/*
	 * The registry lock is held while the backend starts its threads, so a
	 * fork() in another thread waits until the runtime is registered (and
	 * its fds known to the child handler).
	 */
	pthread_mutex_lock(&registry_mu);
	rc = OpenLocked(config, out, error);
	pthread_mutex_unlock(&registry_mu);
	return rc;
}

static void
Unregister(Runtime *rt)
{
	Runtime   **p;

	for (p = &registry; *p != NULL; p = &(*p)->reg_next)
		if (*p == rt)
		{
			*p = rt->reg_next;
			break;
		}
	if (process_rt == rt)
		process_rt = NULL;
}

int
RuntimeClose(Runtime *rt, int timeout_ms)
{
	RuntimeBatch *b;
	RuntimeBatch *next;
	bool		drained;

	if (rt == NULL)
		return EINVAL;
	if (!RuntimeIsOwn(rt))
		return EOWNERDEAD;

	pthread_mutex_lock(&registry_mu);
	Unregister(rt);
	pthread_mutex_unlock(&registry_mu);

	pthread_mutex_lock(&rt->mu);
	rt->stopping = true;
	for (b = rt->batches; b != NULL; b = next)
	{
		next = b->b_next;
		if (!b->b_released)
			RuntimeBatchDrop(b);
	}
	rt->ops->stop(rt);
	pthread_mutex_unlock(&rt->mu);

	/* no thread of the runtime ever uses a mapping: unmap them in any case */
	RuntimeResidentUnmapAll(rt);

	/*
	 * Each thread exits once it holds no read any more: a worker after its
	 * current pread, the io_uring thread once every read it issued has a
	 * completion (the cancels above make that prompt for reads that wait on
	 * a pipe or socket).
	 */
	if (!JoinThreads(rt, timeout_ms))
	{
		pthread_mutex_lock(&registry_mu);
		Bury(rt);				/* a thread still uses rt */
		pthread_mutex_unlock(&registry_mu);
		return EBUSY;
	}

	pthread_mutex_lock(&rt->mu);
	drained = rt->inflight == 0 && rt->batches == NULL;
	pthread_mutex_unlock(&rt->mu);
	if (!drained)
	{
		/*
		 * The kernel may still write into the buffers of reads in flight:
		 * free nothing.  Closing the ring makes the kernel cancel them.
		 */
		rt->ops->release(rt);
		pthread_mutex_lock(&registry_mu);
		Bury(rt);
		pthread_mutex_unlock(&registry_mu);
		return EBUSY;
	}
	rt->ops->release(rt);
	RuntimeCacheFree(rt);
	FreeRuntime(rt);
	return 0;
}

/* ---- the process runtime ---- */

int
RuntimeProcessGet(const RuntimeConfig *config, Runtime **out, RuntimeError *error)
{
	int			rc = 0;

	if (out == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected an output pointer but found NULL");
	rc = pthread_once(&atfork_once, RegisterAtfork);
	if (rc != 0)
		return RuntimeErrorSet(error, rc, "pthread_once failed: %s", strerror(rc));

	pthread_mutex_lock(&registry_mu);

	/*
	 * A runtime from another process can only be here if fork() bypassed the
	 * atfork handlers (a raw clone): drop it like the child handler would.
	 */
	if (process_rt != NULL && process_rt->pid != (int) getpid())
	{
		Runtime    *rt;

		for (rt = registry; rt != NULL; rt = rt->reg_next)
			Bury(rt);
		registry = NULL;
		process_rt = NULL;
		fork_gen++;
	}
	if (process_rt == NULL)
		rc = OpenLocked(config, &process_rt, error);
	*out = process_rt;
	pthread_mutex_unlock(&registry_mu);
	return rc;
}

Runtime *
RuntimeProcessPeek(void)
{
	Runtime    *rt;

	pthread_mutex_lock(&registry_mu);
	rt = process_rt;
	pthread_mutex_unlock(&registry_mu);
	return rt;
}

int
RuntimeProcessClose(int timeout_ms)
{
	Runtime    *rt = RuntimeProcessPeek();

	return rt != NULL ? RuntimeClose(rt, timeout_ms) : 0;
}

int
RuntimeGetStats(Runtime *rt, RuntimeStats *stats)
{
	if (rt == NULL || stats == NULL)
		return EINVAL;
	if (!RuntimeIsOwn(rt))
		return EOWNERDEAD;
	memset(stats, 0, sizeof(*stats));
	pthread_mutex_lock(&rt->mu);
	stats->method = rt->ops->method;
	stats->creator_pid = rt->pid;
	stats->threads = rt->threads_alive;
	stats->queue_depth = rt->config.queue_depth;
	stats->live_batches = rt->nbatches;
	stats->in_flight = rt->inflight;
	stats->queued = rt->nqueued;
	stats->held_bytes = rt->held_bytes;
	stats->reads_done = rt->reads_done;
	stats->hints_done = rt->hints_done;
	stats->hints_dropped = rt->hints_dropped;
	stats->resident_reads = rt->resident_reads;
	stats->seen_reads = rt->seen_reads;
	stats->viewed_reads = rt->viewed_reads;
	stats->mappings = rt->nmaps;
	stats->descriptors = rt->nown_fds;
	memcpy(stats->fallback_reason, rt->fallback_reason, sizeof(stats->fallback_reason));
	pthread_mutex_unlock(&rt->mu);
	return 0;
}
