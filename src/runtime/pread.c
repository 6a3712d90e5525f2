/*
 * pread.c
 *	  The fallback backend: a pool of worker threads doing pread(2).
 *
 * Used when io_uring cannot be set up (ENOSYS on old kernels, EPERM from a
 * seccomp filter or kernel.io_uring_disabled, ENOMEM) or when chosen.
 * config.workers threads are started with the runtime; each takes the oldest
 * QUEUED request, drops Runtime.mu for the system call, and takes it again
 * to complete the request.  At most min(workers, queue_depth) requests run
 * at once.  A waiting caller also does its own batch's reads that are in
 * the page cache (PreadAssist).
 *
 * A pread cannot be cancelled: a worker blocked in a read that never ends
 * (a pipe with no writer data) stays blocked, and the batch's memory stays
 * alive until it returns.  RuntimeClose then detaches the worker and leaks
 * the runtime rather than free memory the worker will write.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

typedef struct PreadPrivate
{
	pthread_cond_t work;		/* workers wait here for QUEUED requests */
	int			idle;			/* workers waiting on it */
	bool		no_nowait;		/* RWF_NOWAIT is not supported: no assist */
} PreadPrivate;

#define PRIV(rt) ((PreadPrivate *) (rt)->private_data)

static void *PreadThread(void *arg);
static void PreadKick(Runtime *rt);

static int
PreadStart(Runtime *rt, RuntimeError *error)
{
	PreadPrivate *priv;
	int			i;
	int			rc;

	priv = calloc(1, sizeof(*priv));
	if (priv == NULL)
		return RuntimeErrorSet(error, ENOMEM, "out of memory allocating a worker pool");
	pthread_cond_init(&priv->work, NULL);
	rt->private_data = priv;
	for (i = 0; i < rt->config.workers; i++)
	{
		rc = RuntimeThreadStart(rt, "lancedb-pread", PreadThread, error);
		if (rc != 0)
		{
			/* stop the ones started: they are idle, so this is quick */
			pthread_mutex_lock(&rt->mu);
			rt->stopping = true;
			pthread_cond_broadcast(&priv->work);
			pthread_mutex_unlock(&rt->mu);
			for (i = 0; i < rt->nthreads; i++)
				pthread_join(rt->threads[i], NULL);
			rt->nthreads = 0;
			rt->threads_alive = 0;
			rt->stopping = false;
			pthread_cond_destroy(&priv->work);
			free(priv);
			rt->private_data = NULL;
			return rc;
		}
	}
	return 0;
}

/* Reads all of a request (short reads resume; EOF ends it); 0 or errno. */
static int
DoRead(RuntimeRequest *req)
{
	while (req->rq_done < req->rq_length)
	{
		ssize_t		n;
		size_t		want = req->rq_length - req->rq_done;

		if (req->rq_offset == RUNTIME_OFFSET_CURRENT)
			n = read(req->rq_fd, req->rq_dest + req->rq_done, want);
		else
			n = pread(req->rq_fd, req->rq_dest + req->rq_done, want,
					  (off_t) (req->rq_offset + (int64_t) req->rq_done));
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			break;				/* EOF */
		req->rq_done += (size_t) n;
		if (req->rq_offset == RUNTIME_OFFSET_CURRENT)
			break;				/* a stream returns what came */
	}
	return 0;
}

static void *
PreadThread(void *arg)
{
	Runtime    *rt = arg;
	PreadPrivate *priv;
	int			slot = RuntimeThreadSlot(rt);

	pthread_mutex_lock(&rt->mu);
	priv = PRIV(rt);
	while (!rt->stopping)
	{
		RuntimeRequest *req = NULL;
		int			error;

		if (rt->inflight < rt->config.queue_depth)
			req = RuntimeQueuePop(rt);
		if (req == NULL)
		{
			priv->idle++;
			pthread_cond_wait(&priv->work, &rt->mu);
			priv->idle--;
			continue;
		}
		if (rt->nqueued > 0 && priv->idle > 0)
			pthread_cond_signal(&priv->work);	/* the next one, see PreadKick */
		/* the request (and its batch) cannot be freed while RUNNING */
		pthread_mutex_unlock(&rt->mu);
		if (req->rq_kind == RUNTIME_REQ_HINT)
			error = posix_fadvise(req->rq_fd, (off_t) req->rq_offset,
								  (off_t) req->rq_length, POSIX_FADV_WILLNEED);
		else
			error = DoRead(req);
		pthread_mutex_lock(&rt->mu);
		rt->inflight--;
		RuntimeRequestComplete(rt, req, error);
	}
	RuntimeThreadExiting(rt, slot);
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

/*
 * Wakes one idle worker if requests are queued.  A worker that takes a
 * request and still sees some queued wakes the next one (PreadThread), so
 * slow reads soon have every worker, while page-cache reads, which the
 * waiting caller takes too, do not wake a crowd of threads to fight over two
 * cores.
 */
static void
PreadKick(Runtime *rt)
{
	PreadPrivate *priv = PRIV(rt);

	if (rt->nqueued > 0 && priv->idle > 0)
		pthread_cond_signal(&priv->work);
}

/*
 * The waiting caller's share of the work: its own batch's queued reads, done
 * in the caller's thread with preadv2(RWF_NOWAIT), which copies from the page
 * cache and never waits for the disk (EAGAIN instead).  A read that hits the
 * cache then costs no hand-off to a worker, and since the caller takes its
 * reads from the tail of the queue while the workers take from the head, the
 * two read one batch in parallel.  The first read that would block (or that
 * RWF_NOWAIT cannot do) goes back to the queue for a worker and the caller
 * stops helping, so a waiting PostgreSQL backend never sleeps in here and
 * stays interruptible.  Stream reads are left to the workers.
 */
static void
PreadAssist(Runtime *rt, RuntimeBatch *b)
{
	PreadPrivate *priv = PRIV(rt);

	while (!priv->no_nowait && !rt->stopping && !RuntimeBatchWaitDone(b, b->b_assist_all))
	{
		RuntimeRequest *req = RuntimeQueueTakeOwn(rt, b);
		struct iovec iov;
		ssize_t		n;
		int			error;

		if (req == NULL)
			break;
		if (req->rq_offset == RUNTIME_OFFSET_CURRENT)
		{
			RuntimeQueuePushFront(rt, req);
			break;
		}
		/* the request cannot be freed while RUNNING: its batch is ours */
		pthread_mutex_unlock(&rt->mu);
		iov.iov_base = req->rq_dest + req->rq_done;
		iov.iov_len = req->rq_length - req->rq_done;
		n = preadv2(req->rq_fd, &iov, 1, (off_t) (req->rq_offset + (int64_t) req->rq_done),
					RWF_NOWAIT);
		error = n < 0 ? errno : 0;
		pthread_mutex_lock(&rt->mu);
		if (n > 0)
			req->rq_done += (size_t) n;
		if (n < 0 || (n > 0 && req->rq_done < req->rq_length))
		{
			/* not (all) in the page cache, or not for RWF_NOWAIT: a worker's */
			if (error == EOPNOTSUPP)
				priv->no_nowait = true;
			RuntimeQueuePushFront(rt, req);
			break;
		}
		rt->inflight--;
		RuntimeRequestComplete(rt, req, 0);		/* n == 0 is EOF */
	}
	PreadKick(rt);
}

static void
PreadCancel(Runtime *rt, RuntimeRequest *req)
{
	/* a running pread cannot be stopped; its batch waits for it */
	(void) rt;
	(void) req;
}

static void
PreadStop(Runtime *rt)
{
	pthread_cond_broadcast(&PRIV(rt)->work);
}

static void
PreadRelease(Runtime *rt)
{
	PreadPrivate *priv = PRIV(rt);

	if (priv == NULL)
		return;
	pthread_cond_destroy(&priv->work);
	free(priv);
	rt->private_data = NULL;
}

const RuntimeBackendOps RuntimePreadOps = {
	.name = "pread",
	.method = RUNTIME_METHOD_PREAD,
	.start = PreadStart,
	.kick = PreadKick,
	.assist = PreadAssist,
	.cancel = PreadCancel,
	.stop = PreadStop,
	.release = PreadRelease,
};
