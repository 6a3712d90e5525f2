/*
 * test_runtime_fork.c
 *	  The runtime across fork(), as PostgreSQL uses processes: a runtime used
 *	  in a parent, then fork(); several children; nested forks; forks while
 *	  reads are in flight in other threads; a fork from a thread other than
 *	  the main one; an explicitly opened runtime inherited by a child.
 *
 * Every child does real reads through its own (new) runtime and checks the
 * bytes, then exits with 0 or the number of the step that failed.  Children
 * arm their own alarm and the parent waits with a deadline (WaitChild), so a
 * child stuck on a dead runtime fails its test instead of hanging the run.
 * The parent keeps reading while and after its children run.
 *
 * Everything runs twice: with io_uring and with the pread pool forced.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "runtime_util.h"

#define CHILD_ALARM 20
#define CHILD_WAIT 30

static RuntimeMethod method;
static const char *m;

/* The child's own work: the inherited runtime is dead here, a new one works. */
static int
ChildWork(Runtime *inherited, int nreads)
{
	RuntimeConfig c = ConfigFor(method);
	RuntimeStats st;
	Runtime    *rt;
	int			rc;

	if (inherited != NULL && RuntimeGetStats(inherited, &st) != EOWNERDEAD)
		return 20;
	/* the child handler closed the copies of the parent's ring and eventfds */
	if (CountFds("anon_inode:[io_uring]") != 0 || CountFds("anon_inode:[eventfd]") != 0)
		return 21;
	if (RuntimeProcessPeek() != NULL)
		return 22;
	if (RuntimeProcessGet(&c, &rt, NULL) != 0)
		return 23;
	if (rt == inherited && inherited != NULL)
		return 24;				/* same address is possible, but then it is new */
	RuntimeGetStats(rt, &st);
	if (st.creator_pid != (int) getpid() || st.method != method)
		return 25;
	rc = ReadAndCheck(rt, nreads, (uint64_t) getpid());
	if (rc != 0)
		return 30 + rc;
	if (RuntimeProcessClose(5000) != 0)
		return 26;
	return 0;
}

static Runtime *
ParentRuntime(void)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt = NULL;

	RuntimeProcessGet(&c, &rt, NULL);
	return rt;
}

/* ---- several children ---- */

static void
TestChildren(void)
{
	Runtime    *rt = ParentRuntime();
	pid_t		pids[4];
	bool		all = true;
	int			i;

	hang_test = "children";
	tap_ok(rt != NULL && ReadAndCheck(rt, 100, 1) == 0, "%s: the parent reads through its runtime", m);
	for (i = 0; i < 4; i++)
	{
		pids[i] = fork();
		if (pids[i] == 0)
		{
			ChildHangDetector(CHILD_ALARM);
			_exit(ChildWork(rt, 200));
		}
	}
	tap_ok(ReadAndCheck(rt, 300, 2) == 0, "%s: the parent keeps reading while 4 children run", m);
	for (i = 0; i < 4; i++)
	{
		int			rc = WaitChild(pids[i], CHILD_WAIT, "children");

		if (rc != 0)
		{
			tap_diag("child %d failed at step %d", i, rc);
			all = false;
		}
	}
	tap_ok(all, "%s: 4 children each build their own runtime and read correct bytes", m);
	tap_ok(ReadAndCheck(rt, 100, 3) == 0, "%s: the parent's runtime still works afterwards", m);
}

/* ---- nested forks ---- */

/* Level 'depth' of a chain: read, fork the next level, read, wait for it. */
static int
Chain(int depth)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	pid_t		pid;
	int			rc;

	if (RuntimeProcessGet(&c, &rt, NULL) != 0)
		return 40;
	if (ReadAndCheck(rt, 50, (uint64_t) depth) != 0)
		return 41;
	if (depth == 0)
		return 0;
	pid = fork();
	if (pid == 0)
	{
		ChildHangDetector(CHILD_ALARM);
		rc = ChildWork(rt, 50);
		_exit(rc != 0 ? rc : Chain(depth - 1));
	}
	if (ReadAndCheck(rt, 50, (uint64_t) depth + 100) != 0)
		return 42;
	rc = WaitChild(pid, CHILD_WAIT, "nested");
	return rc < 0 ? 43 : rc;
}

static void
TestNested(void)
{
	int			rc;

	hang_test = "nested";
	rc = Chain(4);
	tap_ok(rc == 0, "%s: a chain of 4 nested forks, each level reading before and after (status %d)",
		   m, rc);
}

/* ---- forks while reads are in flight ---- */

static atomic_int stop_reader;
static atomic_int reader_errors;
static atomic_int reader_batches;

/* Another thread of the parent: batch after batch while main forks. */
static void *
Reader(void *arg)
{
	Runtime    *rt = arg;
	uint64_t	seed = 1000;

	while (!atomic_load(&stop_reader))
	{
		if (ReadAndCheck(rt, 64, seed++) != 0)
			atomic_fetch_add(&reader_errors, 1);
		atomic_fetch_add(&reader_batches, 1);
	}
	return NULL;
}

static void
TestInFlight(void)
{
	Runtime    *rt = ParentRuntime();
	pthread_t	th[2];
	RuntimeBatch *hung;
	RuntimeReadResult r;
	int			fifo = open(fifo_path, O_RDWR | O_CLOEXEC);
	bool		all = true;
	int			i;

	hang_test = "in flight";
	atomic_store(&stop_reader, 0);
	atomic_store(&reader_errors, 0);
	atomic_store(&reader_batches, 0);

	/* a read that stays in flight across every fork below */
	RuntimeBatchOpen(rt, 1, 64, &hung, NULL);
	RuntimeBatchAddRead(hung, fifo, RUNTIME_OFFSET_CURRENT, 5, NULL, NULL);
	RuntimeBatchSubmit(hung, NULL);

	pthread_create(&th[0], NULL, Reader, rt);
	pthread_create(&th[1], NULL, Reader, rt);
	for (i = 0; i < 8; i++)
	{
		pid_t		pid;
		int			rc;

		usleep(3000);
		pid = fork();
		if (pid == 0)
		{
			ChildHangDetector(CHILD_ALARM);
			_exit(ChildWork(rt, 100));
		}
		rc = WaitChild(pid, CHILD_WAIT, "in flight");
		if (rc != 0)
		{
			tap_diag("fork %d: child failed at step %d", i, rc);
			all = false;
		}
	}
	atomic_store(&stop_reader, 1);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	tap_ok(all, "%s: 8 children forked while 2 threads had batches in flight all read correctly", m);
	tap_ok(atomic_load(&reader_errors) == 0 && atomic_load(&reader_batches) > 0,
		   "%s: the parent's threads read correctly throughout (%d batches)", m,
		   atomic_load(&reader_batches));
	tap_ok(write(fifo, "hello", 5) == 5 && RuntimeBatchWaitAll(hung, 5000, NULL) == 0 &&
		   RuntimeBatchResult(hung, 0, &r) == 0 && r.length == 5 && memcmp(r.data, "hello", 5) == 0,
		   "%s: the read in flight during all the forks completes in the parent", m);
	RuntimeBatchRelease(hung);
	close(fifo);
}

/* ---- a fork from a thread other than the main one ---- */

static void *
ForkingThread(void *arg)
{
	Runtime    *rt = ParentRuntime();
	intptr_t	rc;
	pid_t		pid;

	(void) arg;
	if (ReadAndCheck(rt, 50, 77) != 0)
		return (void *) (intptr_t) 50;
	pid = fork();
	if (pid == 0)
	{
		ChildHangDetector(CHILD_ALARM);
		_exit(ChildWork(rt, 100));
	}
	rc = WaitChild(pid, CHILD_WAIT, "thread fork");
	if (ReadAndCheck(rt, 50, 78) != 0)
		return (void *) (intptr_t) 51;
	return (void *) rc;
}

static void
TestThreadFork(void)
{
	pthread_t	th;
	void	   *ret;

	hang_test = "thread fork";
	pthread_create(&th, NULL, ForkingThread, NULL);
	pthread_join(th, &ret);
	tap_ok(ret == NULL, "%s: a fork from a second thread: the child reads correctly (status %d)", m,
		   (int) (intptr_t) ret);
}

/* ---- an explicitly opened runtime inherited by a child ---- */

static int
ExplicitChild(Runtime *inherited)
{
	RuntimeConfig c = ConfigFor(method);
	RuntimeBatch *b;
	Runtime    *own;
	int			rc;

	if (RuntimeBatchOpen(inherited, 1, 64, &b, NULL) != EOWNERDEAD)
		return 60;
	if (RuntimeReadahead(inherited, 0, 0, 1, NULL) != EOWNERDEAD)
		return 61;
	if (RuntimeClose(inherited, 1000) != EOWNERDEAD)
		return 62;
	if (RuntimeOpen(&c, &own, NULL) != 0)
		return 63;
	rc = ReadAndCheck(own, 100, 5);
	if (rc != 0)
		return 70 + rc;
	if (RuntimeClose(own, 5000) != 0)
		return 64;
	return 0;
}

static void
TestExplicit(void)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	RuntimeBatch *open_batch;
	pid_t		pid;
	int			rc;

	hang_test = "explicit";
	RuntimeOpen(&c, &rt, NULL);
	RuntimeBatchOpen(rt, 1, 64, &open_batch, NULL);
	pid = fork();
	if (pid == 0)
	{
		ChildHangDetector(CHILD_ALARM);
		RuntimeBatchRelease(open_batch);	/* a no-op on an inherited batch */
		_exit(ExplicitChild(rt));
	}
	rc = WaitChild(pid, CHILD_WAIT, "explicit");
	tap_ok(rc == 0, "%s: an inherited explicit runtime refuses use with EOWNERDEAD; a new one works (status %d)",
		   m, rc);
	RuntimeBatchRelease(open_batch);
	tap_ok(ReadAndCheck(rt, 50, 6) == 0 && RuntimeClose(rt, 5000) == 0,
		   "%s: the parent's explicit runtime works and closes", m);
}

/* ---- many short-lived children leave nothing behind ---- */

static void
TestManyForks(void)
{
	Runtime    *rt = ParentRuntime();
	int			fds_before;
	int			threads_before;
	bool		all = true;
	int			i;

	hang_test = "many forks";
	ReadAndCheck(rt, 10, 1);
	fds_before = CountFds(NULL);
	threads_before = CountThreads();
	for (i = 0; i < 20; i++)
	{
		pid_t		pid = fork();

		if (pid == 0)
		{
			ChildHangDetector(CHILD_ALARM);
			_exit(ChildWork(rt, 10));
		}
		if (WaitChild(pid, CHILD_WAIT, "many forks") != 0)
			all = false;
	}
	tap_ok(all, "%s: 20 short-lived children each read correctly", m);
	tap_ok(CountFds(NULL) == fds_before && CountThreads() == threads_before,
		   "%s: the parent has as many fds (%d) and threads (%d) as before", m, CountFds(NULL),
		   CountThreads());
}

static void
Suite(RuntimeMethod which)
{
	RuntimeStats st;

	method = which;
	m = RuntimeMethodName(which);
	TestChildren();
	TestNested();
	TestInFlight();
	TestThreadFork();
	TestExplicit();
	TestManyForks();
	RuntimeGetStats(RuntimeProcessPeek(), &st);
	tap_ok(st.live_batches == 0 && st.in_flight == 0, "%s: the parent holds nothing at the end", m);
	tap_ok(RuntimeProcessClose(5000) == 0, "%s: the parent's process runtime closes cleanly", m);
}

int
main(void)
{
	RuntimeConfig c = ConfigFor(RUNTIME_METHOD_IO_URING);
	Runtime    *probe;
	RuntimeError err;

	HangDetector(150);
	MakeTestFiles("test_runtime_fork");
	if (RuntimeOpen(&c, &probe, &err) == 0)
	{
		RuntimeClose(probe, 5000);
		Suite(RUNTIME_METHOD_IO_URING);
	}
	else
		tap_skip(err.message, "io_uring: fork suite");
	Suite(RUNTIME_METHOD_PREAD);
	RemoveTestFiles();
	return tap_done();
}
