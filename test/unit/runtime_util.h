/*
 * runtime_util.h
 *	  Helpers shared by the runtime unit tests (test_runtime*.c): a data file
 *	  with a known pattern, byte checks, fd inspection, and hang detection.
 *
 * Hang detection has two levels, so a hang fails a test instead of stalling
 * the run:
 *	- the whole test binary arms HangDetector(seconds): SIGALRM prints a
 *	  "not ok" line and a bail-out and exits non-zero;
 *	- every child process arms alarm() itself (a hung child dies of SIGALRM)
 *	  and the parent waits for it with WaitChild(), which gives up after a
 *	  deadline, kills the child and reports it as hung.
 */
#ifndef LANCEDB_TEST_RUNTIME_UTIL_H
#define LANCEDB_TEST_RUNTIME_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "tap.h"

#define DATA_SIZE ((int64_t) 3 << 20)	/* 3 MB: several reads per page */

static char test_dir[256];
static char data_path[300];
static char fifo_path[300];

/* The byte at 'offset' of the data file. */
static inline uint8_t
Pattern(int64_t offset)
{
	uint64_t	x = (uint64_t) offset * UINT64_C(0x9e3779b97f4a7c15);

	return (uint8_t) (x >> 56);
}

/* True when buf holds the data file's bytes [offset, offset + len). */
static inline bool
CheckBytes(const void *buf, int64_t offset, size_t len)
{
	const uint8_t *p = buf;
	size_t		i;

	for (i = 0; i < len; i++)
		if (p[i] != Pattern(offset + (int64_t) i))
			return false;
	return true;
}

/* Creates a private directory with the data file and a FIFO. */
static inline void
MakeTestFiles(const char *name)
{
	uint8_t    *buf = malloc((size_t) DATA_SIZE);
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int64_t		i;
	int			fd;

	snprintf(test_dir, sizeof(test_dir), "%s/%s.XXXXXX", base, name);
	if (buf == NULL || mkdtemp(test_dir) == NULL)
	{
		printf("Bail out! cannot create a test directory: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(data_path, sizeof(data_path), "%s/data", test_dir);
	snprintf(fifo_path, sizeof(fifo_path), "%s/fifo", test_dir);
	for (i = 0; i < DATA_SIZE; i++)
		buf[i] = Pattern(i);
	fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, (size_t) DATA_SIZE) != DATA_SIZE || fsync(fd) != 0 ||
		mkfifo(fifo_path, 0600) != 0)
	{
		printf("Bail out! cannot write test files in %s: %s\n", test_dir, strerror(errno));
		exit(1);
	}
	close(fd);
	free(buf);
}

static inline void
RemoveTestFiles(void)
{
	unlink(data_path);
	unlink(fifo_path);
	rmdir(test_dir);
}

static inline int
OpenData(void)
{
	return open(data_path, O_RDONLY | O_CLOEXEC);
}

/* splitmix64 */
static inline uint64_t
Rand(uint64_t *s)
{
	uint64_t	z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/*
 * One batch of 'n' random reads (1..20000 bytes; some run past EOF) of the
 * data file through 'rt', waited for in full and checked byte by byte.
 * Returns 0 or a small positive number naming the failed step (children
 * pass it back as their exit status).
 */
static inline int
ReadAndCheck(Runtime *rt, int n, uint64_t seed)
{
	RuntimeBatch *b;
	RuntimeReadResult r;
	int64_t    *offs = malloc(sizeof(int64_t) * (size_t) n);
	size_t	   *lens = malloc(sizeof(size_t) * (size_t) n);
	int			fd = OpenData();
	int			rc = 0;
	int			i;

	if (fd < 0 || offs == NULL || lens == NULL)
		return 2;
	if (RuntimeBatchOpen(rt, n, (size_t) n * 20096, &b, NULL) != 0)
	{
		close(fd);
		free(offs);
		free(lens);
		return 3;
	}
	for (i = 0; rc == 0 && i < n; i++)
	{
		offs[i] = (int64_t) (Rand(&seed) % (uint64_t) (DATA_SIZE + 1000));
		lens[i] = 1 + Rand(&seed) % 20000;
		if (RuntimeBatchAddRead(b, fd, offs[i], lens[i], NULL, NULL) != 0)
			rc = 4;
	}
	if (rc == 0 && RuntimeBatchSubmit(b, NULL) != 0)
		rc = 5;
	if (rc == 0 && RuntimeBatchWaitAll(b, 10000, NULL) != 0)
		rc = 6;
	for (i = 0; rc == 0 && i < n; i++)
	{
		int64_t		avail = DATA_SIZE - offs[i];
		size_t		want = avail <= 0 ? 0 : (size_t) avail < lens[i] ? (size_t) avail : lens[i];

		if (RuntimeBatchResult(b, i, &r) != 0 || r.error != 0)
			rc = 7;
		else if (r.length != want)
			rc = 8;
		else if (!CheckBytes(r.data, offs[i], r.length))
			rc = 9;
	}
	RuntimeBatchRelease(b);		/* safe even with reads in flight */
	close(fd);
	free(offs);
	free(lens);
	return rc;
}

/* How many open fds of this process link to 'what' (e.g. "anon_inode:[io_uring]"). */
static inline int
CountFds(const char *what)
{
	DIR		   *d = opendir("/proc/self/fd");
	struct dirent *e;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
	{
		char		path[300];
		char		target[256];
		ssize_t		len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (what == NULL || strstr(target, what) != NULL)
			n++;
	}
	closedir(d);
	return n - (what == NULL ? 1 : 0);	/* the directory's own fd */
}

/* Threads of this process (entries of /proc/self/task). */
static inline int
CountThreads(void)
{
	DIR		   *d = opendir("/proc/self/task");
	struct dirent *e;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Waits for 'pid' up to 'seconds'; returns its exit status, or -1 if it was
 * killed by a signal (SIGALRM: its own hang detector) or had to be killed
 * here because it hung.
 */
static inline int
WaitChild(pid_t pid, int seconds, const char *what)
{
	struct timespec nap = {0, 10 * 1000 * 1000};
	int			status;
	int			i;

	for (i = 0; i < seconds * 100; i++)
	{
		pid_t		r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
		{
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			tap_diag("%s: child %d died of signal %d%s", what, (int) pid, WTERMSIG(status),
					 WTERMSIG(status) == SIGALRM ? " (its hang detector)" : "");
			return -1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&nap, NULL);
	}
	tap_diag("%s: child %d hung for %d s; killed", what, (int) pid, seconds);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static const char *hang_test = "startup";

static void
HangHandler(int sig)
{
	char		msg[256];
	int			len;

	(void) sig;
	len = snprintf(msg, sizeof(msg),
				   "not ok - hang detector: '%s' did not finish in time\nBail out! hang\n",
				   hang_test);
	if (write(STDOUT_FILENO, msg, (size_t) len) < 0)
		len = 0;
	/* async-signal-safe clean-up of the test directory */
	unlink(data_path);
	unlink(fifo_path);
	rmdir(test_dir);
	_exit(3);
}

/* Arms the whole-binary hang detector. */
static inline void
HangDetector(int seconds)
{
	signal(SIGALRM, HangHandler);
	alarm((unsigned) seconds);
}

/* In a child: a hang kills it with SIGALRM, which its parent reports. */
static inline void
ChildHangDetector(int seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm((unsigned) seconds);
}

static inline RuntimeConfig
ConfigFor(RuntimeMethod method)
{
	RuntimeConfig c;

	RuntimeConfigInit(&c);
	c.method = method;
	c.workers = 3;
	c.queue_depth = 16;
	return c;
}

#endif							/* LANCEDB_TEST_RUNTIME_UTIL_H */
