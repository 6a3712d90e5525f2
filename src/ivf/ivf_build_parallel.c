/*
 * ivf_build_parallel.c
 *	  CREATE INDEX's heap scan, shared with parallel workers.
 *
 * Reading the vectors is what a lance_ivf build's first phase spends its
 * time on: most vectors are TOASTed, and fetching one is an index lookup in
 * the TOAST table.  Up to max_parallel_maintenance_workers workers (as
 * plan_create_index_workers allows) scan parts of the heap through a parallel
 * table scan, detoast each vector and stream it, with its TID, to the leader
 * through a shared-memory queue of their own.  The leader scans its part too
 * and, after each of its own rows, takes whatever the queues hold; every row
 * reaches the caller's function in the leader, which is where the build keeps
 * its state (the worker does the expensive part, the leader only copies).
 * Nothing but the rows crosses: dimension checks and preparing a vector stay
 * with the caller.
 *
 * Like btree's parallel build: SnapshotAny for a plain build (the heap scan
 * decides which tuples to index), an MVCC snapshot shared through the
 * parallel scan for CREATE INDEX CONCURRENTLY; workers take the same locks
 * as the leader (group locking lets them).
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "ivf/ivf_build.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#define KEY_SHARED UINT64CONST(0x4C49564600000001)
#define KEY_QUEUES UINT64CONST(0x4C49564600000002)
#define QUEUE_BYTES (1024 * 1024)

typedef struct ParallelShared
{
	Oid			heapid;
	Oid			indexid;
	bool		isconcurrent;
	/* a ParallelTableScanDescData follows, at BUFFERALIGN(sizeof(ParallelShared)) */
} ParallelShared;

#define SharedScan(shared) \
	((ParallelTableScanDesc) ((char *) (shared) + BUFFERALIGN(sizeof(ParallelShared))))

/* What a worker sends for each heap tuple; a detoasted vector follows unless isnull. */
typedef struct RowMessage
{
	ItemPointerData tid;
	bool		isnull;
} RowMessage;

PGDLLEXPORT void IvfParallelScanMain(dsm_segment *seg, shm_toc *toc);

typedef struct Leader
{
	IvfHeapRowFn row;
	void	   *arg;
	int			nqueues;
	shm_mq_handle **queues;
	bool	   *detached;
	int			active;
	char	   *buffer;			/* an aligned copy of a message's vector */
	Size		buffer_size;
	MemoryContext cxt;
} Leader;

static void
Deliver(Leader *leader, const void *data, Size nbytes)
{
	RowMessage	header;
	Size		vector_bytes = nbytes - sizeof(RowMessage);

	if (nbytes < sizeof(RowMessage))
		elog(ERROR, "lance_ivf parallel build: short message of %zu bytes", nbytes);
	memcpy(&header, data, sizeof(RowMessage));
	if (!header.isnull && vector_bytes > leader->buffer_size)
	{
		if (leader->buffer != NULL)
			pfree(leader->buffer);
		leader->buffer = MemoryContextAllocHuge(leader->cxt, vector_bytes);
		leader->buffer_size = vector_bytes;
	}
	if (!header.isnull)
		memcpy(leader->buffer, (const char *) data + sizeof(RowMessage), vector_bytes);
	leader->row(leader->arg, &header.tid,
				header.isnull ? (Datum) 0 : PointerGetDatum(leader->buffer), header.isnull);
}

/*
 * Takes what the workers' queues hold; with wait, until every worker has
 * finished (detached).
 */
static void
Drain(Leader *leader, bool wait)
{
	while (leader->active > 0)
	{
		bool		received = false;

		for (int i = 0; i < leader->nqueues; i++)
		{
			for (;;)
			{
				Size		nbytes;
				void	   *data;
				shm_mq_result result;

				if (leader->detached[i])
					break;
				result = shm_mq_receive(leader->queues[i], &nbytes, &data, true);
				if (result == SHM_MQ_WOULD_BLOCK)
					break;
				if (result == SHM_MQ_DETACHED)
				{
					leader->detached[i] = true;
					leader->active--;
					break;
				}
				Deliver(leader, data, nbytes);
				received = true;
			}
		}
		if (!wait)
			return;
		if (!received && leader->active > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L,
							 WAIT_EVENT_MQ_RECEIVE);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

static void
LeaderCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *arg)
{
	Leader	   *leader = (Leader *) arg;

	(void) index, (void) tupleIsAlive;
	leader->row(leader->arg, tid, values[0], isnull[0]);
	Drain(leader, false);
}

bool
IvfParallelHeapScan(Relation heap, Relation index, IndexInfo *info, IvfHeapRowFn row, void *arg)
{
	int			request;
	ParallelContext *pcxt;
	Snapshot	snapshot;
	Size		shared_bytes;
	ParallelShared *shared;
	char	   *queue_space;
	Leader		leader;
	TableScanDesc scan;

	request = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
	if (request <= 0)
		return false;

	EnterParallelMode();
	pcxt = CreateParallelContext("lancedb", "IvfParallelScanMain", request);
	snapshot = info->ii_Concurrent ? RegisterSnapshot(GetTransactionSnapshot()) : SnapshotAny;
	shared_bytes = add_size(BUFFERALIGN(sizeof(ParallelShared)),
							table_parallelscan_estimate(heap, snapshot));
	shm_toc_estimate_chunk(&pcxt->estimator, shared_bytes);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(QUEUE_BYTES, request));
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		/* no dynamic shared memory to be had: scan alone */
		if (IsMVCCSnapshot(snapshot))
			UnregisterSnapshot(snapshot);
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return false;
	}

	shared = shm_toc_allocate(pcxt->toc, shared_bytes);
	shared->heapid = RelationGetRelid(heap);
	shared->indexid = RelationGetRelid(index);
	shared->isconcurrent = info->ii_Concurrent;
	table_parallelscan_initialize(heap, SharedScan(shared), snapshot);
	shm_toc_insert(pcxt->toc, KEY_SHARED, shared);
	queue_space = shm_toc_allocate(pcxt->toc, mul_size(QUEUE_BYTES, request));
	for (int i = 0; i < request; i++)
		shm_mq_set_receiver(shm_mq_create(queue_space + (Size) i * QUEUE_BYTES, QUEUE_BYTES),
							MyProc);
	shm_toc_insert(pcxt->toc, KEY_QUEUES, queue_space);

	LaunchParallelWorkers(pcxt);

	memset(&leader, 0, sizeof(leader));
	leader.row = row;
	leader.arg = arg;
	leader.nqueues = pcxt->nworkers_launched;
	leader.active = leader.nqueues;
	leader.queues = palloc0(sizeof(shm_mq_handle *) * Max(leader.nqueues, 1));
	leader.detached = palloc0(sizeof(bool) * Max(leader.nqueues, 1));
	for (int i = 0; i < leader.nqueues; i++)
		leader.queues[i] = shm_mq_attach((shm_mq *) (queue_space + (Size) i * QUEUE_BYTES),
										 pcxt->seg, pcxt->worker[i].bgwhandle);
	leader.cxt = CurrentMemoryContext;
	elog(DEBUG1, "lance_ivf build: scanning the heap with %d parallel workers",
		 pcxt->nworkers_launched);

	/* the leader scans its share, taking the workers' rows as it goes */
	scan = table_beginscan_parallel(heap, SharedScan(shared));
	table_index_build_scan(heap, index, info, true, true, LeaderCallback, &leader, scan);
	Drain(&leader, true);
	WaitForParallelWorkersToFinish(pcxt);

	if (leader.buffer != NULL)
		pfree(leader.buffer);
	if (IsMVCCSnapshot(snapshot))
		UnregisterSnapshot(snapshot);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return true;
}

/* ---- in a worker */

typedef struct Worker
{
	shm_mq_handle *queue;
	MemoryContext row_cxt;
} Worker;

static void
WorkerCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *arg)
{
	Worker	   *worker = (Worker *) arg;
	MemoryContext old = MemoryContextSwitchTo(worker->row_cxt);
	RowMessage	header;
	shm_mq_iovec iov[2];
	int			parts = 1;
	shm_mq_result result;

	(void) index, (void) tupleIsAlive;
	memset(&header, 0, sizeof(header));
	header.tid = *tid;
	header.isnull = isnull[0];
	iov[0].data = (const char *) &header;
	iov[0].len = sizeof(header);
	if (!isnull[0])
	{
		struct varlena *vector = PG_DETOAST_DATUM(values[0]);

		iov[1].data = (const char *) vector;
		iov[1].len = VARSIZE(vector);
		parts = 2;
	}
	result = shm_mq_sendv(worker->queue, iov, parts, false, false);
	if (result != SHM_MQ_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("lance_ivf parallel build: the leader stopped taking rows")));
	MemoryContextSwitchTo(old);
	MemoryContextReset(worker->row_cxt);
}

void
IvfParallelScanMain(dsm_segment *seg, shm_toc *toc)
{
	ParallelShared *shared = shm_toc_lookup(toc, KEY_SHARED, false);
	char	   *queue_space = shm_toc_lookup(toc, KEY_QUEUES, false);
	LOCKMODE	heap_lock = shared->isconcurrent ? ShareUpdateExclusiveLock : ShareLock;
	LOCKMODE	index_lock = shared->isconcurrent ? RowExclusiveLock : AccessExclusiveLock;
	Relation	heap;
	Relation	index;
	IndexInfo  *info;
	Worker		worker;
	shm_mq	   *mq;
	TableScanDesc scan;

	heap = table_open(shared->heapid, heap_lock);
	index = index_open(shared->indexid, index_lock);
	info = BuildIndexInfo(index);
	info->ii_Concurrent = shared->isconcurrent;

	mq = (shm_mq *) (queue_space + (Size) ParallelWorkerNumber * QUEUE_BYTES);
	shm_mq_set_sender(mq, MyProc);
	worker.queue = shm_mq_attach(mq, seg, NULL);
	worker.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "lance_ivf build row",
										   ALLOCSET_DEFAULT_SIZES);

	scan = table_beginscan_parallel(heap, SharedScan(shared));
	table_index_build_scan(heap, index, info, true, false, WorkerCallback, &worker, scan);
	shm_mq_detach(worker.queue);

	index_close(index, index_lock);
	table_close(heap, heap_lock);
}
