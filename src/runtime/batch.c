/*
 * batch.c
 *	  The batch API: add reads, submit, wait (blocking or through the
 *	  caller's eventfd), look at results, release; plus the request queue
 *	  and the completion path the backends share.
 *
 * The rule this file enforces: a batch's memory is freed only when the
 * caller has released it AND none of its reads is QUEUED or RUNNING.  A
 * release with reads in flight only marks the batch; whichever thread
 * completes its last read frees it (RuntimeRequestComplete).  So the kernel
 * and the workers never write into freed memory, whatever the caller does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((size_t) (a) - 1))

/* ---- the queue (Runtime.mu held) ---- */

static void
QueueAppend(Runtime *rt, RuntimeRequest *req)
{
	req->rq_state = RUNTIME_REQ_QUEUED;
	req->rq_next = NULL;
	req->rq_prev = rt->queue_tail;
	if (rt->queue_tail != NULL)
		rt->queue_tail->rq_next = req;
	else
		rt->queue_head = req;
	rt->queue_tail = req;
	rt->nqueued++;
}

static void
QueueUnlink(Runtime *rt, RuntimeRequest *req)
{
	if (req->rq_prev != NULL)
		req->rq_prev->rq_next = req->rq_next;
	else
		rt->queue_head = req->rq_next;
	if (req->rq_next != NULL)
		req->rq_next->rq_prev = req->rq_prev;
	else
		rt->queue_tail = req->rq_prev;
	req->rq_prev = req->rq_next = NULL;
	rt->nqueued--;
}

/* Takes the oldest QUEUED request and marks it RUNNING; NULL if none. */
RuntimeRequest *
RuntimeQueuePop(Runtime *rt)
{
	RuntimeRequest *req = rt->queue_head;

	if (req == NULL)
		return NULL;
	QueueUnlink(rt, req);
	req->rq_state = RUNTIME_REQ_RUNNING;
	rt->inflight++;
	return req;
}

/*
 * Takes the newest QUEUED read of 'batch' (its reads sit at the tail of the
 * queue when it was just submitted, away from the workers at the head) and
 * marks it RUNNING; NULL if the batch has none queued.
 */
RuntimeRequest *
RuntimeQueueTakeOwn(Runtime *rt, RuntimeBatch *batch)
{
	RuntimeRequest *req;

	for (req = rt->queue_tail; req != NULL; req = req->rq_prev)
		if (req->rq_batch == batch)
		{
			QueueUnlink(rt, req);
			req->rq_state = RUNTIME_REQ_RUNNING;
			rt->inflight++;
			return req;
		}
	return NULL;
}

/*
 * Puts a RUNNING request back at the head of the queue (the rest of a short
 * read, or a retry).  If its batch was released meanwhile it completes as
 * cancelled instead.
 */
void
RuntimeQueuePushFront(Runtime *rt, RuntimeRequest *req)
{
	rt->inflight--;
	if (req->rq_batch != NULL && req->rq_batch->b_released)
	{
		req->rq_state = RUNTIME_REQ_QUEUED;
		RuntimeRequestComplete(rt, req, ECANCELED);
		return;
	}
	req->rq_state = RUNTIME_REQ_QUEUED;
	req->rq_prev = NULL;
	req->rq_next = rt->queue_head;
	if (rt->queue_head != NULL)
		rt->queue_head->rq_prev = req;
	else
		rt->queue_tail = req;
	rt->queue_head = req;
	rt->nqueued++;
}

/* ---- completion (Runtime.mu held) ---- */

static void
BatchFree(RuntimeBatch *b)
{
	Runtime    *rt = b->b_rt;
	int			i;

	if (b->b_prev != NULL)
		b->b_prev->b_next = b->b_next;
	else
		rt->batches = b->b_next;
	if (b->b_next != NULL)
		b->b_next->b_prev = b->b_prev;
	rt->nbatches--;
	rt->held_bytes -= b->b_alloc_bytes;
	for (i = 0; i < b->b_nfds; i++)
		close(b->b_fds[i]);
	if (b->b_data_bytes <= RUNTIME_CACHE_BLOCK_MAX && !rt->stopping)
	{
		int			victim = 0;

		/* an empty slot, else the least recently cached block makes room */
		for (i = 0; i < RUNTIME_CACHE_SLOTS; i++)
		{
			if (rt->cache[i].data == NULL)
			{
				victim = i;
				break;
			}
			if (rt->cache[i].stamp < rt->cache[victim].stamp)
				victim = i;
		}
		free(rt->cache[victim].data);
		rt->cache[victim].data = b->b_data;
		rt->cache[victim].bytes = b->b_data_bytes;
		rt->cache[victim].stamp = ++rt->cache_clock;
		b->b_data = NULL;
	}
	free(b->b_data);
	free(b);
}

/* A cached block of at least 'bytes' (and not much more), or NULL. */
static void *
CacheTake(Runtime *rt, size_t bytes, size_t *got)
{
	int			i;

	for (i = 0; i < RUNTIME_CACHE_SLOTS; i++)
		if (rt->cache[i].data != NULL && rt->cache[i].bytes >= bytes &&
			rt->cache[i].bytes <= 2 * bytes + 65536)
		{
			void	   *data = rt->cache[i].data;

			*got = rt->cache[i].bytes;
			rt->cache[i].data = NULL;
			return data;
		}
	return NULL;
}

/* Frees the cached blocks (RuntimeClose). */
void
RuntimeCacheFree(Runtime *rt)
{
	int			i;

	for (i = 0; i < RUNTIME_CACHE_SLOTS; i++)
	{
		free(rt->cache[i].data);
		rt->cache[i].data = NULL;
	}
}

/* Writes the caller's eventfd if an EAGAIN wait is now satisfied. */
static void
Notify(RuntimeBatch *b)
{
	uint64_t	one = 1;

	if (b->b_armed && b->b_notify_fd >= 0 && b->b_ncompleted >= b->b_wake_at)
	{
		b->b_armed = false;
		/* EAGAIN means the counter is huge: the caller is awake anyway */
		if (write(b->b_notify_fd, &one, sizeof(one)) < 0)
			(void) 0;
	}
}

/*
 * A QUEUED or RUNNING request is finished with 'error' (0 or errno).  The
 * caller has already taken it off the queue or out of Runtime.inflight.
 * May free its batch (released, and this was its last read in flight).
 */
void
RuntimeRequestComplete(Runtime *rt, RuntimeRequest *req, int error)
{
	RuntimeBatch *b = req->rq_batch;

	req->rq_state = RUNTIME_REQ_DONE;
	req->rq_error = error;
	if (req->rq_kind == RUNTIME_REQ_HINT)
	{
		rt->hints_done++;
		req->rq_next = rt->free_hints;
		rt->free_hints = req;
		return;
	}
	rt->reads_done++;
	b->b_inflight--;
	b->b_order[b->b_ncompleted++] = req->rq_index;
	if (b->b_released)
	{
		if (b->b_inflight == 0)
			BatchFree(b);
		return;
	}
	Notify(b);
	if (rt->nwaiters > 0)
		pthread_cond_broadcast(&rt->cv);
}

/*
 * Gives a batch up (RuntimeBatchRelease, or RuntimeClose for batches still
 * open): QUEUED reads are dropped, RUNNING ones cancelled where possible,
 * and the batch is freed now or by its last completion.
 */
void
RuntimeBatchDrop(RuntimeBatch *b)
{
	Runtime    *rt = b->b_rt;
	int			i;

	b->b_released = true;
	b->b_notify_fd = -1;
	b->b_armed = false;
	for (i = 0; i < b->b_nsubmitted; i++)
	{
		RuntimeRequest *req = &b->b_reqs[i];

		if (req->rq_state == RUNTIME_REQ_QUEUED)
		{
			QueueUnlink(rt, req);
			req->rq_state = RUNTIME_REQ_DONE;
			req->rq_error = ECANCELED;
			b->b_inflight--;
		}
		else if (req->rq_state == RUNTIME_REQ_RUNNING)
			rt->ops->cancel(rt, req);
	}
	if (b->b_inflight == 0)
		BatchFree(b);
	else
		rt->ops->kick(rt);		/* submits the cancels */
}

/* ---- the API ---- */

/* Locks the batch's runtime if it is this process's; else EOWNERDEAD. */
static int
LockBatch(RuntimeBatch *b, RuntimeError *error)
{
	if (b == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected a batch but found NULL");
	if (!RuntimeIsOwn(b->b_rt))
		return RuntimeErrorSet(error, EOWNERDEAD,
							   "the batch belongs to process %d, inherited through fork()",
							   b->b_rt->pid);
	pthread_mutex_lock(&b->b_rt->mu);
	return 0;
}

int
RuntimeBatchOpen(Runtime *rt, int max_reads, size_t max_bytes, RuntimeBatch **out,
				 RuntimeError *error)
{
	RuntimeBatch *b;
	size_t		head;
	size_t		data_bytes;
	size_t		total;
	void	   *data = NULL;
	int			rc;

	if (out == NULL || rt == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected a runtime and an output pointer");
	*out = NULL;
	if (!RuntimeIsOwn(rt))
		return RuntimeErrorSet(error, EOWNERDEAD,
							   "the runtime belongs to process %d, inherited through fork()",
							   rt->pid);
	if (max_reads < 1 || max_reads > RUNTIME_MAX_BATCH_READS)
		return RuntimeErrorSet(error, EINVAL, "expected 1..%d reads per batch but found %d",
							   RUNTIME_MAX_BATCH_READS, max_reads);
	if (max_bytes == 0 || max_bytes > rt->config.max_buffer_bytes)
		return RuntimeErrorSet(error, max_bytes == 0 ? EINVAL : ENOBUFS,
							   "expected 1..%zu bytes per batch but found %zu",
							   rt->config.max_buffer_bytes, max_bytes);

	head = ALIGN_UP(sizeof(RuntimeBatch), 64) +
		(size_t) max_reads * (sizeof(RuntimeRequest) + sizeof(int));
	data_bytes = ALIGN_UP(max_bytes, 4096);
	total = head + data_bytes;

	pthread_mutex_lock(&rt->mu);
	if (rt->held_bytes + total > rt->config.max_buffer_bytes)
	{
		size_t		held = rt->held_bytes;

		pthread_mutex_unlock(&rt->mu);
		return RuntimeErrorSet(error, ENOBUFS,
							   "expected at most %zu bytes held by batches but found %zu held and %zu more asked for",
							   rt->config.max_buffer_bytes, held, total);
	}
	rt->held_bytes += total;	/* reserved; given back on failure */
	data = CacheTake(rt, data_bytes, &data_bytes);
	pthread_mutex_unlock(&rt->mu);

	b = calloc(1, head);
	rc = data != NULL ? 0 : posix_memalign(&data, 4096, data_bytes);
	if (b == NULL || rc != 0)
	{
		free(b);
		if (rc == 0)
			free(data);
		pthread_mutex_lock(&rt->mu);
		rt->held_bytes -= total;
		pthread_mutex_unlock(&rt->mu);
		return RuntimeErrorSet(error, ENOMEM, "out of memory allocating a batch of %zu bytes",
							   total);
	}
	b->b_rt = rt;
	b->b_max_reads = max_reads;
	b->b_max_bytes = max_bytes;
	b->b_alloc_bytes = total;
	b->b_data_bytes = data_bytes;
	b->b_notify_fd = -1;
	b->b_data = data;
	b->b_reqs = (RuntimeRequest *) ((char *) b + ALIGN_UP(sizeof(RuntimeBatch), 64));
	b->b_order = (int *) (b->b_reqs + max_reads);

	pthread_mutex_lock(&rt->mu);
	b->b_next = rt->batches;
	if (rt->batches != NULL)
		rt->batches->b_prev = b;
	rt->batches = b;
	rt->nbatches++;
	pthread_mutex_unlock(&rt->mu);
	*out = b;
	return 0;
}

int
RuntimeBatchAddRead(RuntimeBatch *b, int fd, int64_t offset, size_t length, int *index,
					RuntimeError *error)
{
	RuntimeRequest *req;
	size_t		need;
	int			rc;

	rc = LockBatch(b, error);
	if (rc != 0)
		return rc;
	if (fd < 0 || length == 0 || (offset < 0 && offset != RUNTIME_OFFSET_CURRENT) ||
		length > (size_t) 1 << 30)
		rc = RuntimeErrorSet(error, EINVAL,
							 "expected fd >= 0, offset >= 0 and 1..2^30 bytes but found fd %d, offset %lld, %zu bytes",
							 fd, (long long) offset, length);
	else if (b->b_nreads >= b->b_max_reads)
		rc = RuntimeErrorSet(error, ENOBUFS, "expected at most %d reads in the batch",
							 b->b_max_reads);
	else
	{
		need = ALIGN_UP(length, RUNTIME_READ_ALIGN);
		if (need > b->b_max_bytes - b->b_used_bytes)
			rc = RuntimeErrorSet(error, ENOBUFS,
								 "expected at most %zu bytes in the batch but found %zu used and %zu more asked for",
								 b->b_max_bytes, b->b_used_bytes, need);
		else
		{
			req = &b->b_reqs[b->b_nreads];
			memset(req, 0, sizeof(*req));
			req->rq_batch = b;
			req->rq_kind = RUNTIME_REQ_READ;
			req->rq_state = RUNTIME_REQ_ADDED;
			req->rq_index = b->b_nreads;
			req->rq_fd = fd;
			req->rq_offset = offset;
			req->rq_length = length;
			req->rq_dest = b->b_data + b->b_used_bytes;
			b->b_used_bytes += need;
			if (index != NULL)
				*index = b->b_nreads;
			b->b_nreads++;
		}
	}
	pthread_mutex_unlock(&b->b_rt->mu);
	return rc;
}

int
RuntimeBatchAdoptFd(RuntimeBatch *b, int fd, RuntimeError *error)
{
	int			rc;

	rc = LockBatch(b, error);
	if (rc != 0)
		return rc;
	if (fd < 0)
		rc = RuntimeErrorSet(error, EINVAL, "expected an fd but found %d", fd);
	else if (b->b_nfds >= RUNTIME_BATCH_MAX_FDS)
		rc = RuntimeErrorSet(error, ENOBUFS, "expected at most %d adopted fds per batch",
							 RUNTIME_BATCH_MAX_FDS);
	else
		b->b_fds[b->b_nfds++] = fd;
	pthread_mutex_unlock(&b->b_rt->mu);
	return rc;
}

int
RuntimeBatchSubmit(RuntimeBatch *b, RuntimeError *error)
{
	Runtime    *rt;
	int			rc;
	int			i;

	rc = LockBatch(b, error);
	if (rc != 0)
		return rc;
	rt = b->b_rt;
	if (rt->stopping)
		rc = RuntimeErrorSet(error, EINVAL, "expected an open runtime but it is closing");
	else if (b->b_nsubmitted < b->b_nreads)
	{
		int			first = b->b_nsubmitted;
		int			last = b->b_nreads;
		int			added = 0;
		int			resident = 0;
		int			seen = 0;

		/*
		 * Reads whose pages are all in the page cache are copied from a
		 * mapping first (resident.c), without the lock: the new reads are
		 * ADDED, which no other thread looks at, and the batch is this
		 * thread's.  A few reads only where a sweep saw their pages.
		 */
		if (rt->config.mmap_resident &&
			(last - first >= RUNTIME_MAP_MIN_READS || rt->config.resident_ttl_ms > 0))
		{
			pthread_mutex_unlock(&rt->mu);
			seen = RuntimeResidentServe(rt, b, first, last,
										last - first < RUNTIME_MAP_MIN_READS);
			pthread_mutex_lock(&rt->mu);
		}
		for (i = first; i < last; i++)
		{
			RuntimeRequest *req = &b->b_reqs[i];

			if (req->rq_resident)
			{
				req->rq_state = RUNTIME_REQ_DONE;
				req->rq_error = 0;
				b->b_order[b->b_ncompleted++] = req->rq_index;
				rt->reads_done++;
				resident++;
				continue;
			}
			QueueAppend(rt, req);
			b->b_inflight++;
			added++;
		}
		b->b_nsubmitted = last;
		rt->resident_reads += resident;
		rt->seen_reads += seen;
		if (resident > 0)
			Notify(b);

		/*
		 * A few reads: the caller tries them itself first (from the page
		 * cache, never blocking) and wakes workers only for the rest, which
		 * beats a thread hand-off.  Many: workers start at once and the
		 * caller joins in when it waits.
		 */
		if (added == 0)
			;
		else if (rt->ops->assist != NULL && added <= RUNTIME_INLINE_READS)
		{
			b->b_assist_all = true;
			rt->ops->assist(rt, b);
		}
		else
			rt->ops->kick(rt);
	}
	pthread_mutex_unlock(&rt->mu);
	return rc;
}

typedef enum WaitMode
{
	WAIT_ALL,
	WAIT_NEXT
} WaitMode;

static bool
Satisfied(const RuntimeBatch *b, WaitMode mode)
{
	if (mode == WAIT_ALL)
		return b->b_ncompleted == b->b_nsubmitted;
	return b->b_nreturned < b->b_ncompleted || b->b_nreturned == b->b_nsubmitted;
}

/* Satisfied() for the backends' assist op. */
bool
RuntimeBatchWaitDone(const RuntimeBatch *b, bool all)
{
	return Satisfied(b, all ? WAIT_ALL : WAIT_NEXT);
}

static int
Wait(RuntimeBatch *b, WaitMode mode, int timeout_ms, int *index, RuntimeError *error)
{
	Runtime    *rt;
	struct timespec deadline;
	int			rc;

	if (timeout_ms < -1)
		return RuntimeErrorSet(error, EINVAL, "expected a timeout of -1 or more but found %d",
							   timeout_ms);
	rc = LockBatch(b, error);
	if (rc != 0)
		return rc;
	rt = b->b_rt;
	if (timeout_ms > 0)
		RuntimeDeadline(&deadline, timeout_ms);

	/*
	 * Collect completions that are already there (io_uring), and do what
	 * reads the caller can do at once itself (pread pool).
	 */
	if (!Satisfied(b, mode))
		rt->ops->kick(rt);
	if (!Satisfied(b, mode) && rt->ops->assist != NULL)
	{
		b->b_assist_all = mode == WAIT_ALL;
		rt->ops->assist(rt, b);
	}
	while (!Satisfied(b, mode))
	{
		if (timeout_ms == 0)
			break;
		rt->nwaiters++;
		if (timeout_ms < 0)
			pthread_cond_wait(&rt->cv, &rt->mu);
		else
			rc = pthread_cond_timedwait(&rt->cv, &rt->mu, &deadline);
		rt->nwaiters--;
		if (rc == ETIMEDOUT)
			break;
	}

	if (!Satisfied(b, mode))
	{
		/* the caller's eventfd, if any, is written once this holds */
		b->b_armed = true;
		b->b_wake_at = mode == WAIT_ALL ? b->b_nsubmitted : b->b_nreturned + 1;
		rc = RuntimeErrorSet(error, EAGAIN, "the reads are not complete yet");
	}
	else if (mode == WAIT_NEXT && b->b_nreturned == b->b_ncompleted)
		rc = RuntimeErrorSet(error, ENODATA, "every submitted read was returned already");
	else
	{
		rc = 0;
		if (mode == WAIT_NEXT)
			*index = b->b_order[b->b_nreturned++];
	}
	pthread_mutex_unlock(&rt->mu);
	return rc;
}

int
RuntimeBatchWaitAll(RuntimeBatch *b, int timeout_ms, RuntimeError *error)
{
	return Wait(b, WAIT_ALL, timeout_ms, NULL, error);
}

int
RuntimeBatchWaitNext(RuntimeBatch *b, int timeout_ms, int *index, RuntimeError *error)
{
	if (index == NULL)
		return RuntimeErrorSet(error, EINVAL, "expected an index pointer but found NULL");
	return Wait(b, WAIT_NEXT, timeout_ms, index, error);
}

int
RuntimeBatchSetEventFd(RuntimeBatch *b, int eventfd, RuntimeError *error)
{
	int			rc;

	rc = LockBatch(b, error);
	if (rc != 0)
		return rc;
	b->b_notify_fd = eventfd < 0 ? -1 : eventfd;
	b->b_armed = false;
	pthread_mutex_unlock(&b->b_rt->mu);
	return 0;
}

int
RuntimeBatchResult(RuntimeBatch *b, int index, RuntimeReadResult *result)
{
	RuntimeRequest *req;
	int			rc;

	if (result == NULL)
		return EINVAL;
	rc = LockBatch(b, NULL);
	if (rc != 0)
		return rc;
	if (index < 0 || index >= b->b_nreads)
		rc = EINVAL;
	else
	{
		req = &b->b_reqs[index];
		if (req->rq_state != RUNTIME_REQ_DONE)
			rc = EAGAIN;
		else
		{
			result->data = req->rq_dest;
			result->length = req->rq_done;
			result->error = req->rq_error;
		}
	}
	pthread_mutex_unlock(&b->b_rt->mu);
	return rc;
}

void
RuntimeBatchRelease(RuntimeBatch *b)
{
	Runtime    *rt;

	if (b == NULL || !RuntimeIsOwn(b->b_rt))
		return;					/* inherited: leaked with its runtime */
	rt = b->b_rt;
	pthread_mutex_lock(&rt->mu);
	RuntimeBatchDrop(b);
	pthread_mutex_unlock(&rt->mu);
}

int
RuntimeReadahead(Runtime *rt, int fd, int64_t offset, int64_t length, RuntimeError *error)
{
	RuntimeRequest *req;
	int			rc = 0;

	if (rt == NULL || fd < 0 || offset < 0 || length <= 0)
		return RuntimeErrorSet(error, EINVAL,
							   "expected a runtime, fd >= 0, offset >= 0 and length > 0");
	if (!RuntimeIsOwn(rt))
		return RuntimeErrorSet(error, EOWNERDEAD,
							   "the runtime belongs to process %d, inherited through fork()",
							   rt->pid);
	pthread_mutex_lock(&rt->mu);
	req = rt->free_hints;
	if (req == NULL || rt->stopping)
	{
		rt->hints_dropped++;
		rc = RuntimeErrorSet(error, EAGAIN, "every read-ahead slot is busy; hint dropped");
	}
	else
	{
		rt->free_hints = req->rq_next;
		req->rq_fd = fd;
		req->rq_offset = offset;
		/* IORING_OP_FADVISE takes a 32-bit length */
		req->rq_length = length > (int64_t) 1 << 30 ? (size_t) 1 << 30 : (size_t) length;
		req->rq_done = 0;
		req->rq_error = 0;
		req->rq_cancel_sent = false;
		QueueAppend(rt, req);
		rt->ops->kick(rt);
	}
	pthread_mutex_unlock(&rt->mu);
	return rc;
}
