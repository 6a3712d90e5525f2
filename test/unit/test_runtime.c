/*
 * test_runtime.c
 *	  Unit tests of the I/O runtime's API (src/runtime/), with io_uring and
 *	  with the pread pool: reads and their bytes, waiting (blocking, by
 *	  completion order, through an eventfd), bounds and argument errors,
 *	  per-read errors, giving up a batch with a read that never ends, read-
 *	  ahead hints, shutdown, and the fall back to the pread pool when io_uring
 *	  is refused (injected, and for real through a seccomp filter).
 *
 * Fork behaviour has its own file, test_runtime_fork.c.  A read that never
 * ends is a read of a FIFO opened O_RDWR (so it has a writer, us, and no
 * data until the test writes some).
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "runtime_util.h"

static double
Seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* Polls stats until live_batches == want or 'seconds' pass. */
static bool
WaitLiveBatches(Runtime *rt, int want, double seconds)
{
	double		end = Seconds() + seconds;
	RuntimeStats st;

	do
	{
		RuntimeGetStats(rt, &st);
		if (st.live_batches == want)
			return true;
		usleep(5000);
	} while (Seconds() < end);
	return false;
}

static bool
FdIsOpen(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
TestReads(Runtime *rt, const char *m)
{
	RuntimeStats st;

	RuntimeGetStats(rt, &st);
	tap_ok(ReadAndCheck(rt, 200, 1) == 0, "%s: 200 random reads in one batch give the file's bytes", m);
	tap_ok(ReadAndCheck(rt, 1, 2) == 0, "%s: a batch of one read", m);
	tap_ok(ReadAndCheck(rt, 1000, 3) == 0,
		   "%s: 1000 reads in one batch (beyond the queue depth) all complete", m);
}

static void
TestWaitNext(Runtime *rt, const char *m)
{
	RuntimeBatch *b;
	bool		seen[50] = {false};
	bool		ok = true;
	int			fd = OpenData();
	int			i;
	int			idx;
	int			n = 0;
	int			rc;

	RuntimeBatchOpen(rt, 50, 50 * 4096, &b, NULL);
	for (i = 0; i < 50; i++)
		RuntimeBatchAddRead(b, fd, (int64_t) i * 40000, 4000, NULL, NULL);
	tap_ok(RuntimeBatchWaitNext(b, 0, &idx, NULL) == ENODATA,
		   "%s: WaitNext before any submit says ENODATA", m);
	RuntimeBatchSubmit(b, NULL);
	while ((rc = RuntimeBatchWaitNext(b, 5000, &idx, NULL)) == 0)
	{
		RuntimeReadResult r;

		if (idx < 0 || idx >= 50 || seen[idx])
			ok = false;
		else
		{
			seen[idx] = true;
			if (RuntimeBatchResult(b, idx, &r) != 0 || r.length != 4000 ||
				!CheckBytes(r.data, (int64_t) idx * 40000, 4000))
				ok = false;
		}
		n++;
	}
	tap_ok(ok && n == 50 && rc == ENODATA,
		   "%s: WaitNext returns each of 50 reads once, checked, then ENODATA (n=%d rc=%d)", m, n, rc);
	RuntimeBatchRelease(b);
	close(fd);
}

static void
TestErrors(Runtime *rt, RuntimeMethod method, const char *m)
{
	RuntimeBatch *b;
	RuntimeError err;
	RuntimeReadResult r;
	int			fd = OpenData();
	int			pipefd[2];
	int			dirfd = open(test_dir, O_RDONLY | O_DIRECTORY);
	int			idx;
	int			rc;

	RuntimeBatchOpen(rt, 4, 4 * 128, &b, NULL);
	rc = RuntimeBatchAddRead(b, -1, 0, 10, NULL, &err);
	tap_ok(rc == EINVAL && strstr(err.message, "expected fd >= 0") != NULL,
		   "%s: a negative fd is EINVAL: %s", m, err.message);
	tap_ok(RuntimeBatchAddRead(b, fd, 0, 0, NULL, &err) == EINVAL, "%s: a zero length is EINVAL", m);
	tap_ok(RuntimeBatchAddRead(b, fd, -5, 10, NULL, &err) == EINVAL, "%s: offset -5 is EINVAL", m);
	tap_ok(RuntimeBatchAddRead(b, fd, 0, 600, NULL, &err) == ENOBUFS &&
		   strstr(err.message, "expected at most 512 bytes") != NULL,
		   "%s: more bytes than the batch holds is ENOBUFS: %s", m, err.message);
	tap_ok(RuntimeBatchResult(b, 0, &r) == EINVAL, "%s: the result of a read never added is EINVAL", m);
	RuntimeBatchAddRead(b, fd, 0, 100, &idx, NULL);
	tap_ok(RuntimeBatchResult(b, idx, &r) == EAGAIN, "%s: the result before submit is EAGAIN", m);
	tap_ok(pipe(pipefd) == 0, "%s: a pipe", m);
	/*
	 * A positioned read of a pipe: pread fails with ESPIPE; io_uring reads
	 * the pipe as a stream, so that backend gets a seekable file instead.
	 */
	RuntimeBatchAddRead(b, method == RUNTIME_METHOD_PREAD ? pipefd[0] : fd, 0, 100, NULL, NULL);
	RuntimeBatchAddRead(b, dirfd, 0, 100, NULL, NULL);
	RuntimeBatchAddRead(b, 1000, 0, 100, NULL, NULL);	/* not open */
	tap_ok(RuntimeBatchAddRead(b, fd, 0, 1, NULL, &err) == ENOBUFS &&
		   strstr(err.message, "at most 4 reads") != NULL, "%s: a fifth read is ENOBUFS", m);
	RuntimeBatchSubmit(b, NULL);
	tap_ok(RuntimeBatchWaitAll(b, 5000, NULL) == 0, "%s: failed reads complete too", m);
	RuntimeBatchResult(b, 0, &r);
	tap_ok(r.error == 0 && r.length == 100 && CheckBytes(r.data, 0, 100), "%s: the good read is fine", m);
	RuntimeBatchResult(b, 1, &r);
	if (method == RUNTIME_METHOD_PREAD)
		tap_ok(r.error == ESPIPE, "%s: a positioned read of a pipe fails with ESPIPE (got %d)", m, r.error);
	RuntimeBatchResult(b, 2, &r);
	tap_ok(r.error == EISDIR, "%s: a read of a directory fails with EISDIR (got %d)", m, r.error);
	RuntimeBatchResult(b, 3, &r);
	tap_ok(r.error == EBADF, "%s: a read of a closed fd fails with EBADF (got %d)", m, r.error);
	RuntimeBatchRelease(b);

	tap_ok(RuntimeBatchOpen(rt, 0, 10, &b, &err) == EINVAL, "%s: a batch of 0 reads is EINVAL", m);
	tap_ok(RuntimeBatchOpen(rt, 1, (size_t) 1 << 40, &b, &err) == ENOBUFS,
		   "%s: a batch above the memory budget is ENOBUFS: %s", m, err.message);
	tap_ok(RuntimeBatchWaitAll(NULL, 0, &err) == EINVAL, "%s: a NULL batch is EINVAL", m);
	tap_ok(RuntimeReadahead(rt, -1, 0, 10, NULL) == EINVAL, "%s: a hint on fd -1 is EINVAL", m);
	close(pipefd[0]);
	close(pipefd[1]);
	close(dirfd);
	close(fd);
}

static void
TestBudget(RuntimeMethod method, const char *m)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	RuntimeBatch *a;
	RuntimeBatch *b;
	RuntimeError err;
	RuntimeStats st;
	int			rc;

	c.max_buffer_bytes = (size_t) 1 << 20;
	RuntimeOpen(&c, &rt, NULL);
	rc = RuntimeBatchOpen(rt, 10, 600 << 10, &a, NULL);
	tap_ok(rc == 0, "%s: a 600 kB batch fits a 1 MB budget", m);
	rc = RuntimeBatchOpen(rt, 10, 600 << 10, &b, &err);
	tap_ok(rc == ENOBUFS && strstr(err.message, "expected at most 1048576 bytes held") != NULL,
		   "%s: a second one does not: %s", m, err.message);
	RuntimeGetStats(rt, &st);
	tap_ok(st.live_batches == 1 && st.held_bytes > (600 << 10) && st.held_bytes < (700 << 10),
		   "%s: stats count one batch and its bytes (%zu)", m, st.held_bytes);
	RuntimeBatchRelease(a);
	tap_ok(RuntimeBatchOpen(rt, 10, 600 << 10, &b, NULL) == 0, "%s: after release it fits again", m);
	RuntimeBatchRelease(b);
	tap_ok(RuntimeClose(rt, 5000) == 0, "%s: close", m);
}

/* A FIFO read waited for through an eventfd, as a PostgreSQL backend does. */
static void
TestEventFd(Runtime *rt, const char *m)
{
	RuntimeBatch *b;
	RuntimeReadResult r;
	struct pollfd p;
	int			fifo = open(fifo_path, O_RDWR | O_CLOEXEC);
	int			efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	double		t0;
	int			rc;

	RuntimeBatchOpen(rt, 1, 64, &b, NULL);
	RuntimeBatchAddRead(b, fifo, RUNTIME_OFFSET_CURRENT, 10, NULL, NULL);
	RuntimeBatchSetEventFd(b, efd, NULL);
	RuntimeBatchSubmit(b, NULL);
	tap_ok(RuntimeBatchWaitAll(b, 0, NULL) == EAGAIN, "%s: a FIFO read with no data is not done", m);
	t0 = Seconds();
	rc = RuntimeBatchWaitAll(b, 100, NULL);
	tap_ok(rc == EAGAIN && Seconds() - t0 >= 0.09 && Seconds() - t0 < 2,
		   "%s: a 100 ms wait times out with EAGAIN after %.3f s", m, Seconds() - t0);
	p.fd = efd;
	p.events = POLLIN;
	tap_ok(poll(&p, 1, 100) == 0, "%s: the eventfd stays quiet while nothing completes", m);
	tap_ok(write(fifo, "0123456789", 10) == 10, "%s: write 10 bytes into the FIFO", m);
	tap_ok(poll(&p, 1, 5000) == 1, "%s: the eventfd wakes the poller when the read completes", m);
	tap_ok(RuntimeBatchWaitAll(b, 0, NULL) == 0, "%s: then the wait says done", m);
	tap_ok(RuntimeBatchResult(b, 0, &r) == 0 && r.length == 10 && memcmp(r.data, "0123456789", 10) == 0,
		   "%s: with the FIFO's bytes", m);
	RuntimeBatchRelease(b);
	close(efd);
	close(fifo);
}

/*
 * Giving up a batch whose read never ends: io_uring cancels it, the pread
 * pool keeps the batch alive until the worker returns.  Either way the batch
 * (and the fd it adopted) goes away only when nothing can write into it.
 */
static void
TestAbandon(Runtime *rt, RuntimeMethod method, const char *m)
{
	RuntimeBatch *b;
	RuntimeStats st;
	int			fifo = open(fifo_path, O_RDWR | O_CLOEXEC);
	int			fd = OpenData();
	int			adopted = dup(fd);
	int			i;

	RuntimeBatchOpen(rt, 6, 6 * 4096, &b, NULL);
	RuntimeBatchAddRead(b, fifo, RUNTIME_OFFSET_CURRENT, 100, NULL, NULL);
	for (i = 0; i < 5; i++)
		RuntimeBatchAddRead(b, adopted, (int64_t) i * 4096, 4096, NULL, NULL);
	RuntimeBatchAdoptFd(b, adopted, NULL);
	RuntimeBatchSubmit(b, NULL);
	usleep(20000);
	RuntimeBatchRelease(b);
	if (method == RUNTIME_METHOD_IO_URING)
	{
		tap_ok(WaitLiveBatches(rt, 0, 5), "%s: a released batch with a hung read is cancelled and freed", m);
		tap_ok(!FdIsOpen(adopted), "%s: its adopted fd is closed once it is freed", m);
	}
	else
	{
		usleep(50000);
		RuntimeGetStats(rt, &st);
		tap_ok(st.live_batches == 1 && FdIsOpen(adopted),
			   "%s: a released batch stays alive (with its fd) while a worker is in its read", m);
		tap_ok(ReadAndCheck(rt, 100, 7) == 0, "%s: the other workers keep serving reads", m);
		tap_ok(write(fifo, "x", 1) == 1 && WaitLiveBatches(rt, 0, 5) && !FdIsOpen(adopted),
			   "%s: when the read returns, the batch and its fd are freed", m);
	}
	close(fifo);
	close(fd);
}

static void
TestReadahead(Runtime *rt, const char *m)
{
	int			fd = OpenData();
	size_t		len = 1 << 20;
	size_t		pages = len / 4096;
	unsigned char *vec = malloc(pages);
	void	   *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	RuntimeStats st;
	size_t		resident = 0;
	double		end;
	size_t		i;
	int			rc;

	/* the resident-page fast path maps files it read; mapped pages stay cached */
	RuntimeUnmapFiles(rt);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	mincore(map, len, vec);
	for (i = 0; i < pages; i++)
		resident += vec[i] & 1;
	if (resident > pages / 2)
	{
		tap_skip("this file system keeps the pages cached", "%s: read-ahead hint loads pages", m);
		tap_skip("this file system keeps the pages cached", "%s: hint counted", m);
	}
	else
	{
		rc = RuntimeReadahead(rt, fd, 0, (int64_t) len, NULL);
		end = Seconds() + 5;
		do
		{
			usleep(2000);
			mincore(map, len, vec);
			for (resident = 0, i = 0; i < pages; i++)
				resident += vec[i] & 1;
		} while (resident < pages && Seconds() < end);
		tap_ok(rc == 0 && resident == pages,
			   "%s: a read-ahead hint brings an evicted 1 MB range into the page cache (%zu/%zu pages)",
			   m, resident, pages);
		RuntimeGetStats(rt, &st);
		tap_ok(st.hints_done >= 1, "%s: the hint is counted as done", m);
	}
	munmap(map, len);
	free(vec);
	close(fd);
}

/* Closing with a read that never ends: bounded, never a hang. */
static void
TestCloseHung(RuntimeMethod method, const char *m)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	RuntimeBatch *b;
	int			fifo = open(fifo_path, O_RDWR | O_CLOEXEC);
	int			rfd = dup(fifo);
	double		t0;
	int			rc;

	/*
	 * The batch reads (and adopts) its own fd of the FIFO: a stuck worker
	 * outlives the runtime, and only the batch knows when the fd is free.
	 */
	RuntimeOpen(&c, &rt, NULL);
	RuntimeBatchOpen(rt, 1, 64, &b, NULL);
	RuntimeBatchAddRead(b, rfd, RUNTIME_OFFSET_CURRENT, 10, NULL, NULL);
	RuntimeBatchAdoptFd(b, rfd, NULL);
	RuntimeBatchSubmit(b, NULL);
	usleep(20000);
	t0 = Seconds();
	rc = RuntimeClose(rt, 300);
	if (method == RUNTIME_METHOD_IO_URING)
		tap_ok(rc == 0 && Seconds() - t0 < 1,
			   "%s: close with a hung read in an open batch cancels it and finishes (rc %d, %.3f s)",
			   m, rc, Seconds() - t0);
	else
		tap_ok(rc == EBUSY && Seconds() - t0 < 1,
			   "%s: close with a worker stuck in a read gives up after its timeout with EBUSY (rc %d, %.3f s)",
			   m, rc, Seconds() - t0);
	if (write(fifo, "0123456789", 10) != 10)
		tap_diag("write to FIFO failed");
	usleep(20000);				/* the detached worker finishes and exits */
	close(fifo);
}

static void
Suite(RuntimeMethod method)
{
	const char *m = RuntimeMethodName(method);
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	RuntimeStats st;
	int			rc;
	int			fds_before = CountFds(NULL);

	hang_test = m;
	rc = RuntimeOpen(&c, &rt, NULL);
	tap_ok(rc == 0, "%s: open", m);
	RuntimeGetStats(rt, &st);
	tap_ok(st.method == method && st.creator_pid == (int) getpid(),
		   "%s: stats name the method and this process", m);
	tap_ok(st.descriptors == CountFds(NULL) - fds_before &&
		   st.descriptors == (method == RUNTIME_METHOD_IO_URING ? 2 : 0),
		   "%s: stats count the %d fds it opened", m, st.descriptors);
	tap_ok(st.threads == (method == RUNTIME_METHOD_IO_URING ? 1 : c.workers),
		   "%s: %d thread(s) running", m, st.threads);
	TestReads(rt, m);
	TestWaitNext(rt, m);
	TestErrors(rt, method, m);
	TestEventFd(rt, m);
	TestAbandon(rt, method, m);
	TestReadahead(rt, m);
	RuntimeGetStats(rt, &st);
	tap_ok(st.live_batches == 0 && st.in_flight == 0 && st.held_bytes == 0,
		   "%s: nothing is left held after the tests", m);
	tap_ok(RuntimeClose(rt, 5000) == 0, "%s: close joins the threads and frees everything", m);
	TestBudget(method, m);
	TestCloseHung(method, m);
}

/* ---- io_uring refused ---- */

static void
TestInjected(void)
{
	RuntimeConfig c = ConfigFor(RUNTIME_METHOD_AUTO);
	Runtime    *rt = NULL;
	RuntimeError err;
	RuntimeStats st;
	int			rc;

	hang_test = "fallback";
	c.inject_uring_errno = EPERM;
	rc = RuntimeOpen(&c, &rt, &err);
	RuntimeGetStats(rt, &st);
	tap_ok(rc == 0 && st.method == RUNTIME_METHOD_PREAD &&
		   strstr(st.fallback_reason, "Operation not permitted") != NULL,
		   "auto with io_uring refused (EPERM) falls back to pread: %s", st.fallback_reason);
	tap_ok(ReadAndCheck(rt, 100, 11) == 0, "the fallback reads correctly");
	RuntimeClose(rt, 5000);

	c.method = RUNTIME_METHOD_IO_URING;
	c.inject_uring_errno = ENOSYS;
	rc = RuntimeOpen(&c, &rt, &err);
	tap_ok(rc == ENOSYS && rt == NULL && strstr(err.message, "io_uring_setup failed") != NULL,
		   "forced io_uring refused (ENOSYS) is an error, not a fallback: %s", err.message);

	c = ConfigFor(RUNTIME_METHOD_AUTO);
	RuntimeOpen(&c, &rt, NULL);
	RuntimeGetStats(rt, &st);
	tap_ok(st.method == RUNTIME_METHOD_IO_URING && st.fallback_reason[0] == '\0',
		   "auto picks io_uring where it works");
	RuntimeClose(rt, 5000);
}

/*
 * In a child: a seccomp filter makes io_uring_setup fail with 'errnum', as
 * container runtimes do.  Returns a failed step number or 0.
 */
static int
SeccompChild(int errnum)
{
#if defined(__x86_64__)
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned) errnum & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {(unsigned short) (sizeof(filter) / sizeof(filter[0])), filter};
	RuntimeConfig c = ConfigFor(RUNTIME_METHOD_AUTO);
	Runtime    *rt;
	RuntimeError err;
	RuntimeStats st;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 2;
	if (RuntimeProcessGet(&c, &rt, NULL) != 0)
		return 3;
	RuntimeGetStats(rt, &st);
	if (st.method != RUNTIME_METHOD_PREAD || strstr(st.fallback_reason, strerror(errnum)) == NULL)
		return 4;
	if (ReadAndCheck(rt, 100, 12) != 0)
		return 5;
	c.method = RUNTIME_METHOD_IO_URING;
	if (RuntimeOpen(&c, &rt, &err) != errnum)
		return 6;
	if (RuntimeProcessClose(5000) != 0)
		return 7;
	return 0;
#else
	(void) errnum;
	return 0;
#endif
}

static void
TestSeccomp(void)
{
	int			errs[] = {EPERM, ENOSYS};
	int			i;

	hang_test = "seccomp";
	for (i = 0; i < 2; i++)
	{
		pid_t		pid = fork();
		int			rc;

		if (pid == 0)
		{
			ChildHangDetector(20);
			_exit(SeccompChild(errs[i]));
		}
		rc = WaitChild(pid, 30, "seccomp");
		tap_ok(rc == 0,
			   "io_uring_setup refused by seccomp with %s: auto falls back to pread, forced fails (child status %d)",
			   strerror(errs[i]), rc);
	}
}

int
main(void)
{
	RuntimeConfig c = ConfigFor(RUNTIME_METHOD_IO_URING);
	Runtime    *probe;
	RuntimeError err;

	HangDetector(120);
	MakeTestFiles("test_runtime");
	if (RuntimeOpen(&c, &probe, &err) == 0)
	{
		RuntimeClose(probe, 5000);
		Suite(RUNTIME_METHOD_IO_URING);
	}
	else
		tap_skip(err.message, "io_uring: the whole suite");
	Suite(RUNTIME_METHOD_PREAD);
	TestInjected();
	TestSeccomp();
	RemoveTestFiles();
	return tap_done();
}
