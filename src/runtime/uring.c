/*
 * uring.c
 *	  The io_uring backend (liburing): one ring per runtime, submitted to by
 *	  the calling threads, and one completion thread.
 *
 * Submission happens in the caller's thread, inside RuntimeBatchSubmit, so
 * reads that hit the page cache complete during io_uring_enter and are
 * collected right there, with no thread hand-off.  The completion thread
 * sleeps on an eventfd registered with the ring and collects whatever
 * completes later (disk reads, pipes), then issues queued reads into the
 * slots that freed up.  While a caller collects inline, eventfd signalling is
 * switched off (IORING_CQ_EVENTFD_DISABLED) so the thread is not woken for
 * completions the caller is about to take itself.
 *
 * Bounds: at most queue_depth reads and hints are in the kernel at once, plus
 * at most queue_depth cancel requests; the SQ has 2 x queue_depth entries and
 * the CQ 4 x, so the CQ cannot overflow.
 *
 * Fork: the ring's memory is marked MADV_DONTFORK (io_uring_ring_dontfork),
 * so a child does not even map the parent's ring; the child handler closes
 * the child's copies of the ring fd and the eventfd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

typedef struct UringPrivate
{
	struct io_uring ring;
	int			efd;			/* registered with the ring */
	int			cancels;		/* cancel SQEs without their CQE yet */
	bool		toggle;			/* the kernel supports CQ eventfd toggling */
} UringPrivate;

/* user_data of cancel requests; their CQEs carry nothing we need */
static char cancel_tag;

#define PRIV(rt) ((UringPrivate *) (rt)->private_data)

/* Adds the kernel's io_uring_disabled setting to an EPERM message. */
static void
DisabledSetting(char *buf, size_t size)
{
	FILE	   *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int			v;

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fscanf(f, "%d", &v) == 1)
		snprintf(buf, size, " (kernel.io_uring_disabled = %d)", v);
	fclose(f);
}

static void *UringThread(void *arg);

static int
UringStart(Runtime *rt, RuntimeError *error)
{
	UringPrivate *priv;
	struct io_uring_params params;
	struct io_uring_probe *probe;
	unsigned	depth = (unsigned) rt->config.queue_depth;
	char		extra[64] = "";
	int			rc;

	if (rt->config.inject_uring_errno != 0)
		return RuntimeErrorSet(error, rt->config.inject_uring_errno,
							   "io_uring_setup failed: %s (injected for a test)",
							   strerror(rt->config.inject_uring_errno));

	priv = calloc(1, sizeof(*priv));
	if (priv == NULL)
		return RuntimeErrorSet(error, ENOMEM, "out of memory allocating an io_uring");
	memset(&params, 0, sizeof(params));
	params.flags = IORING_SETUP_CQSIZE;
	params.cq_entries = 4 * depth;
	rc = -io_uring_queue_init_params(2 * depth, &priv->ring, &params);
	if (rc != 0)
	{
		if (rc == EPERM)
			DisabledSetting(extra, sizeof(extra));
		free(priv);
		return RuntimeErrorSet(error, rc, "io_uring_setup failed: %s%s", strerror(rc), extra);
	}

	probe = io_uring_get_probe_ring(&priv->ring);
	if (probe == NULL ||
		!io_uring_opcode_supported(probe, IORING_OP_READ) ||
		!io_uring_opcode_supported(probe, IORING_OP_FADVISE) ||
		!io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL))
	{
		if (probe != NULL)
			io_uring_free_probe(probe);
		io_uring_queue_exit(&priv->ring);
		free(priv);
		return RuntimeErrorSet(error, ENOTSUP,
							   "expected io_uring with READ, FADVISE and ASYNC_CANCEL but the kernel lacks one");
	}
	io_uring_free_probe(probe);

	/* failure only means a child would map the ring; it never touches it */
	(void) io_uring_ring_dontfork(&priv->ring);

	priv->efd = eventfd(0, EFD_CLOEXEC);
	if (priv->efd < 0)
	{
		rc = errno;
		io_uring_queue_exit(&priv->ring);
		free(priv);
		return RuntimeErrorSet(error, rc, "eventfd failed: %s", strerror(rc));
	}
	rc = -io_uring_register_eventfd(&priv->ring, priv->efd);
	if (rc != 0)
	{
		close(priv->efd);
		io_uring_queue_exit(&priv->ring);
		free(priv);
		return RuntimeErrorSet(error, rc, "io_uring_register_eventfd failed: %s", strerror(rc));
	}
	priv->toggle = priv->ring.cq.kflags != NULL;

	rt->private_data = priv;
	rc = RuntimeThreadStart(rt, "lancedb-uring", UringThread, error);
	if (rc != 0)
	{
		close(priv->efd);
		io_uring_queue_exit(&priv->ring);
		free(priv);
		rt->private_data = NULL;
		return rc;
	}
	RuntimeAddOwnFd(rt, priv->ring.ring_fd);
	RuntimeAddOwnFd(rt, priv->efd);
	return 0;
}

/* Prepares an SQE for a RUNNING request (the remainder of a short read). */
static void
Prep(struct io_uring_sqe *sqe, RuntimeRequest *req)
{
	if (req->rq_kind == RUNTIME_REQ_HINT)
		io_uring_prep_fadvise(sqe, req->rq_fd, (uint64_t) req->rq_offset,
							  (off_t) req->rq_length, POSIX_FADV_WILLNEED);
	else
		io_uring_prep_read(sqe, req->rq_fd, req->rq_dest + req->rq_done,
						   (unsigned) (req->rq_length - req->rq_done),
						   req->rq_offset == RUNTIME_OFFSET_CURRENT ? (uint64_t) -1 :
						   (uint64_t) (req->rq_offset + (int64_t) req->rq_done));
	io_uring_sqe_set_data(sqe, req);
}

/* One CQE.  'req' may be freed (with its batch) on return. */
static void
Complete(Runtime *rt, struct io_uring_cqe *cqe)
{
	void	   *data = io_uring_cqe_get_data(cqe);
	RuntimeRequest *req = data;
	int			res = cqe->res;

	if (data == &cancel_tag)
	{
		PRIV(rt)->cancels--;
		return;
	}
	if (req->rq_kind == RUNTIME_REQ_HINT)
	{
		rt->inflight--;
		RuntimeRequestComplete(rt, req, res < 0 ? -res : 0);
		return;
	}
	if (res == -EINTR || res == -EAGAIN)
	{
		RuntimeQueuePushFront(rt, req); /* try again */
		return;
	}
	if (res > 0)
	{
		req->rq_done += (size_t) res;
		/* a regular file read short of EOF resumes; a stream returns what came */
		if (req->rq_done < req->rq_length && req->rq_offset != RUNTIME_OFFSET_CURRENT)
		{
			RuntimeQueuePushFront(rt, req);
			return;
		}
	}
	rt->inflight--;
	RuntimeRequestComplete(rt, req, res < 0 ? -res : 0);
}

/* Takes every CQE there is; Runtime.mu held.  True if any. */
static bool
Collect(Runtime *rt)
{
	struct io_uring *ring = &PRIV(rt)->ring;
	struct io_uring_cqe *cqe;
	unsigned	n = 0;

	while (io_uring_peek_cqe(ring, &cqe) == 0)
	{
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(ring, cqe);
		Complete(rt, &copy);
		n++;
	}
	return n > 0;
}

/* Moves QUEUED requests into free SQ slots; true if any SQE was prepared. */
static bool
Fill(Runtime *rt)
{
	struct io_uring *ring = &PRIV(rt)->ring;
	bool		any = false;

	while (rt->inflight < rt->config.queue_depth && rt->queue_head != NULL)
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (sqe == NULL)
			break;
		Prep(sqe, RuntimeQueuePop(rt));
		any = true;
	}
	return any;
}

static void
Submit(Runtime *rt)
{
	int			tries;

	for (tries = 0; tries < 3 && io_uring_sq_ready(&PRIV(rt)->ring) > 0; tries++)
	{
		int			rc = io_uring_submit(&PRIV(rt)->ring);

		/*
		 * -EAGAIN/-ENOMEM: the kernel is short of memory; the SQEs stay in
		 * the SQ ring and the next kick submits them.
		 */
		if (rc >= 0 || (rc != -EINTR && rc != -EBUSY))
			break;
	}
}

/*
 * Issue and collect, with the completion thread's eventfd switched off for
 * the inline part.  Completions that land while it is off are collected by
 * the last Collect, after it is back on; later ones signal it.
 */
static void
UringKick(Runtime *rt)
{
	UringPrivate *priv = PRIV(rt);

	if (priv->toggle)
		(void) io_uring_cq_eventfd_toggle(&priv->ring, false);
	do
	{
		if (Fill(rt) || io_uring_sq_ready(&priv->ring) > 0)
			Submit(rt);
	} while (Collect(rt) && rt->queue_head != NULL &&
			 rt->inflight < rt->config.queue_depth);
	if (priv->toggle)
	{
		(void) io_uring_cq_eventfd_toggle(&priv->ring, true);
		if (Collect(rt))
		{
			if (Fill(rt))
				Submit(rt);
		}
	}
}

static void
UringCancel(Runtime *rt, RuntimeRequest *req)
{
	UringPrivate *priv = PRIV(rt);
	struct io_uring_sqe *sqe;

	if (req->rq_cancel_sent || priv->cancels >= rt->config.queue_depth)
		return;					/* completes on its own, or at close */
	sqe = io_uring_get_sqe(&priv->ring);
	if (sqe == NULL)
		return;
	io_uring_prep_cancel64(sqe, (uint64_t) (uintptr_t) req, 0);
	io_uring_sqe_set_data(sqe, &cancel_tag);
	req->rq_cancel_sent = true;
	priv->cancels++;
}

/* Closing: cancel everything in the ring, wake the thread. */
static void
UringStop(Runtime *rt)
{
	UringPrivate *priv = PRIV(rt);
	struct io_uring_sqe *sqe;
	uint64_t	one = 1;

	if (rt->inflight > 0 && priv->cancels < rt->config.queue_depth &&
		(sqe = io_uring_get_sqe(&priv->ring)) != NULL)
	{
		/* IORING_ASYNC_CANCEL_ANY needs 5.19; older kernels answer EINVAL */
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data(sqe, &cancel_tag);
		priv->cancels++;
		Submit(rt);
	}
	if (write(priv->efd, &one, sizeof(one)) < 0)
		(void) 0;				/* the counter is non-zero: it wakes anyway */
}

static void
UringRelease(Runtime *rt)
{
	UringPrivate *priv = PRIV(rt);

	if (priv == NULL)
		return;
	io_uring_queue_exit(&priv->ring);
	close(priv->efd);
	free(priv);
	rt->private_data = NULL;
}

/*
 * The completion thread: sleeps on the eventfd, collects, refills the ring.
 * Exits when the runtime is closing and no read or cancel is in the ring.
 */
static void *
UringThread(void *arg)
{
	Runtime    *rt = arg;
	int			slot = RuntimeThreadSlot(rt);
	int			efd;
	uint64_t	v;

	pthread_mutex_lock(&rt->mu);
	efd = PRIV(rt)->efd;
	pthread_mutex_unlock(&rt->mu);
	for (;;)
	{
		/*
		 * Blocks until the ring posts a completion or UringStop writes.  A
		 * failure can only be EINTR (io_uring task work ran); either way
		 * the loop looks at the ring and sleeps again.
		 */
		if (read(efd, &v, sizeof(v)) < 0)
			v = 0;
		pthread_mutex_lock(&rt->mu);
		if (Collect(rt) || rt->queue_head != NULL)
		{
			if (Fill(rt) || io_uring_sq_ready(&PRIV(rt)->ring) > 0)
				Submit(rt);
		}
		if (rt->stopping && rt->inflight == 0 && PRIV(rt)->cancels == 0)
			break;
		pthread_mutex_unlock(&rt->mu);
	}
	RuntimeThreadExiting(rt, slot);
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

const RuntimeBackendOps RuntimeUringOps = {
	.name = "io_uring",
	.method = RUNTIME_METHOD_IO_URING,
	.start = UringStart,
	.kick = UringKick,
	.assist = NULL,				/* page-cache reads already complete inline */
	.cancel = UringCancel,
	.stop = UringStop,
	.release = UringRelease,
};
