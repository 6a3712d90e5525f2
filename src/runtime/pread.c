/*
 * pread.c
 *	  The fallback backend: a pool of worker threads doing pread(2).
 *
 * Used when io_uring cannot be set up (ENOSYS on old kernels, EPERM from a
 * seccomp filter or kernel.io_uring_disabled, ENOMEM) or when chosen.
 * config.workers threads are started with the runtime; each takes the oldest
 * QUEUED request, drops Runtime.mu for the system call, and takes it again
 * to complete the request.  At most min(workers, queue_depth) requests run
 * at once.
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
#include <unistd.h>

#include "runtime/runtime_internal.h"

typedef struct PreadPrivate
{
	pthread_cond_t work;		/* workers wait here for QUEUED requests */
	int			idle;			/* workers waiting on it */
} PreadPrivate;

#define PRIV(rt) ((PreadPrivate *) (rt)->private_data)

static void *PreadThread(void *arg);

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

/* Wakes as many idle workers as there are queued requests. */
static void
PreadKick(Runtime *rt)
{
	PreadPrivate *priv = PRIV(rt);

	if (rt->nqueued == 0 || priv->idle == 0)
		return;
	if (rt->nqueued >= priv->idle)
		pthread_cond_broadcast(&priv->work);
	else
	{
		int			i;

		for (i = 0; i < rt->nqueued; i++)
			pthread_cond_signal(&priv->work);
	}
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
	.cancel = PreadCancel,
	.stop = PreadStop,
	.release = PreadRelease,
};
