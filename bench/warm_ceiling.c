/*
 * warm_ceiling.c
 *	  How fast can page-cached random record reads go on this machine, with
 *	  or without the I/O runtime?  The ceiling behind issue 4's warm goal.
 *
 * The same file and order as runtime.c (10,000 records of 3,136 bytes, read
 * in one fixed random order, the whole file in the page cache), read by
 * mechanisms the runtime could use, each against the plain pread loop:
 *
 *	preadv2 NOWAIT	the loop with preadv2(RWF_NOWAIT) (what the pread pool's
 *					caller does for small submits)
 *	uring ...		raw liburing, one ring, batches of B IORING_OP_READ,
 *					io_uring_submit_and_wait(B), then reap: plain; with
 *					COOP_TASKRUN|TASKRUN_FLAG; with SINGLE_ISSUER|DEFER_TASKRUN;
 *					with the file registered (IOSQE_FIXED_FILE); with the
 *					batch buffer registered (READ_FIXED); with all of these;
 *					with SQPOLL (a kernel thread submits, on the other core)
 *	2 threads		the caller and one helper thread each pread half of every
 *					batch (the helper sleeps on a futex between batches)
 *	mmap memcpy		no read at all: memcpy from a prefaulted MAP_SHARED
 *					mapping of the file (the cost of the copy alone)
 *
 * The runtime itself adds its bookkeeping on top of the raw io_uring figures
 * (compare with `make runtime`).  On a shared machine a best-of-N time is at
 * the mercy of the noise in both the case and the loop, so every pass of a
 * case is paired with two loop passes around it and the ratio of the pair is
 * kept; the table gives the median paired ratio (min..max) and the best
 * time.  It also says how many reads had completed when a no-wait
 * io_uring_submit returned (page-cache reads complete inline).
 * Informational: exits 0 unless a read returned wrong bytes.
 *
 * Where the time goes: `perf record -g` on the loop shows the kernel's copy
 * to user memory and the page-cache lookup (filemap_get_read_batch, xarray)
 * next to the per-call overhead; their share of the loop's time bounds what
 * any single-threaded read path can gain, however cheap its submission.
 *
 *	usage: warm_ceiling [DIR [REPS]]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define NREC 10000
#define REC 3136				/* a multiple of 64: records sit back to back */
#define MAX_BATCH 256
#define MAX_REPS 99

static const int batch_sizes[] = {64, 256};
#define NSIZES 2

static int	fd;
static int	order[NREC];
static char *loop_buf;
static char *batch_buf;			/* MAX_BATCH records */
static char *map;
static _Atomic long bad;	/* both threads of PassSplit count */

static void
Check(const char *data, int rec)
{
	int32_t		v;

	memcpy(&v, data, sizeof(v));
	if (v != rec)
		bad++;
}

static void
CheckBatch(int first, int n)
{
	int			k;

	for (k = 0; k < n; k++)
		Check(batch_buf + (size_t) k * REC, order[first + k]);
}

static off_t
Offset(int i)
{
	return (off_t) order[i] * REC;
}

static int
MakeFile(const char *dir)
{
	fd = BenchRecordFile(dir, "warm_ceiling.dat", NREC, REC);
	return fd < 0;
}

/* ---- the reference and the single-thread alternatives ---- */

static double
PassLoop(int bsize)
{
	double		t0 = BenchNow();
	int			i;

	(void) bsize;
	for (i = 0; i < NREC; i++)
	{
		if (pread(fd, loop_buf, REC, Offset(i)) != REC)
			bad++;
		Check(loop_buf, order[i]);
	}
	return BenchNow() - t0;
}

static double
PassNowait(int bsize)
{
	double		t0 = BenchNow();
	int			i;
	int			k;

	for (i = 0; i < NREC; i += bsize)
	{
		int			n = NREC - i < bsize ? NREC - i : bsize;

		for (k = 0; k < n; k++)
		{
			struct iovec iov = {batch_buf + (size_t) k * REC, REC};

			if (preadv2(fd, &iov, 1, Offset(i + k), RWF_NOWAIT) != REC &&
				pread(fd, iov.iov_base, REC, Offset(i + k)) != REC)
				bad++;
		}
		CheckBatch(i, n);
	}
	return BenchNow() - t0;
}

static double
PassMmap(int bsize)
{
	double		t0 = BenchNow();
	int			i;
	int			k;

	for (i = 0; i < NREC; i += bsize)
	{
		int			n = NREC - i < bsize ? NREC - i : bsize;

		for (k = 0; k < n; k++)
			memcpy(batch_buf + (size_t) k * REC, map + Offset(i + k), REC);
		CheckBatch(i, n);
	}
	return BenchNow() - t0;
}

/* ---- io_uring ---- */

typedef struct Ring
{
	const char *name;
	unsigned	flags;			/* IORING_SETUP_* */
	bool		fixed_file;
	bool		fixed_buf;
	struct io_uring ring;
	bool		ok;
	char		why[96];		/* why it could not be set up */
} Ring;

static Ring rings[] = {
	{.name = "uring plain"},
	{.name = "uring COOP_TASKRUN", .flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG},
	{.name = "uring DEFER_TASKRUN", .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
	{.name = "uring fixed file", .fixed_file = true},
	{.name = "uring fixed buffer", .fixed_buf = true},
	{.name = "uring DEFER+file+buf", .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	.fixed_file = true, .fixed_buf = true},
	{.name = "uring SQPOLL+file+buf", .flags = IORING_SETUP_SQPOLL, .fixed_file = true, .fixed_buf = true},
};
#define NRINGS ((int) (sizeof(rings) / sizeof(rings[0])))

static void
RingSetup(Ring *r)
{
	struct io_uring_params p;
	int			rc;

	memset(&p, 0, sizeof(p));
	p.flags = r->flags | IORING_SETUP_CQSIZE;
	p.cq_entries = 4 * MAX_BATCH;
	p.sq_thread_idle = 50;
	rc = io_uring_queue_init_params(2 * MAX_BATCH, &r->ring, &p);
	if (rc < 0)
	{
		snprintf(r->why, sizeof(r->why), "io_uring_setup: %s", strerror(-rc));
		return;
	}
	if (r->fixed_file && (rc = io_uring_register_files(&r->ring, &fd, 1)) < 0)
	{
		snprintf(r->why, sizeof(r->why), "register_files: %s", strerror(-rc));
		return;
	}
	if (r->fixed_buf)
	{
		struct iovec iov = {batch_buf, (size_t) MAX_BATCH * REC};

		if ((rc = io_uring_register_buffers(&r->ring, &iov, 1)) < 0)
		{
			snprintf(r->why, sizeof(r->why), "register_buffers: %s", strerror(-rc));
			return;
		}
	}
	r->ok = true;
}

static void
RingPrep(Ring *r, int first, int n)
{
	int			k;

	for (k = 0; k < n; k++)
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
		int			target = r->fixed_file ? 0 : fd;
		char	   *dest = batch_buf + (size_t) k * REC;

		if (r->fixed_buf)
			io_uring_prep_read_fixed(sqe, target, dest, REC, (uint64_t) Offset(first + k), 0);
		else
			io_uring_prep_read(sqe, target, dest, REC, (uint64_t) Offset(first + k));
		if (r->fixed_file)
			sqe->flags |= IOSQE_FIXED_FILE;
		sqe->user_data = (uint64_t) k;
	}
}

static void
RingReap(Ring *r, int n)
{
	int			got = 0;

	while (got < n)
	{
		struct io_uring_cqe *cqe;
		unsigned	head;
		int			seen = 0;

		if (io_uring_wait_cqe(&r->ring, &cqe) < 0)
		{
			fprintf(stderr, "io_uring_wait_cqe failed\n");
			exit(1);
		}
		io_uring_for_each_cqe(&r->ring, head, cqe)
		{
			if (cqe->res != REC)
				bad++;
			seen++;
		}
		io_uring_cq_advance(&r->ring, (unsigned) seen);
		got += seen;
	}
}

static Ring *current_ring;

static double
PassRing(int bsize)
{
	Ring	   *r = current_ring;
	double		t0 = BenchNow();
	int			i;

	for (i = 0; i < NREC; i += bsize)
	{
		int			n = NREC - i < bsize ? NREC - i : bsize;

		RingPrep(r, i, n);
		if (io_uring_submit_and_wait(&r->ring, (unsigned) n) < 0)
		{
			fprintf(stderr, "io_uring_submit_and_wait failed\n");
			exit(1);
		}
		RingReap(r, n);
		CheckBatch(i, n);
	}
	return BenchNow() - t0;
}

/* Reads complete when a no-wait submit returns, out of all. */
static long
RingInline(Ring *r, int bsize)
{
	long		done = 0;
	int			i;

	for (i = 0; i < NREC; i += bsize)
	{
		int			n = NREC - i < bsize ? NREC - i : bsize;

		RingPrep(r, i, n);
		io_uring_submit(&r->ring);
		done += io_uring_cq_ready(&r->ring);
		RingReap(r, n);
	}
	return done;
}

/* ---- two threads ---- */

static _Atomic int go;			/* bumped per batch; the helper waits on it */
static _Atomic int helped;		/* set to 'go' when the helper's half is read */
static _Atomic bool quit;
static int	split_first;
static int	split_n;

static void
FutexWait(_Atomic int *addr, int old)
{
	int			spin;

	for (spin = 0; spin < 2000; spin++)
		if (atomic_load(addr) != old)
			return;
	while (atomic_load(addr) == old)
		syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, old, NULL, NULL, 0);
}

static void
FutexWake(_Atomic int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *
Helper(void *arg)
{
	int			seen = 0;
	int			k;

	(void) arg;
	for (;;)
	{
		FutexWait(&go, seen);
		seen = atomic_load(&go);
		if (atomic_load(&quit))
			return NULL;
		for (k = 0; k < split_n / 2; k++)
			if (pread(fd, batch_buf + (size_t) k * REC, REC, Offset(split_first + k)) != REC)
				bad++;
		atomic_store(&helped, seen);
		FutexWake(&helped);
	}
}

static double
PassSplit(int bsize)
{
	double		t0 = BenchNow();
	int			i;
	int			k;

	for (i = 0; i < NREC; i += bsize)
	{
		int			n = NREC - i < bsize ? NREC - i : bsize;
		int			before = atomic_load(&helped);

		split_first = i;
		split_n = n;
		atomic_fetch_add(&go, 1);
		FutexWake(&go);
		for (k = n / 2; k < n; k++)
			if (pread(fd, batch_buf + (size_t) k * REC, REC, Offset(i + k)) != REC)
				bad++;
		FutexWait(&helped, before);
		CheckBatch(i, n);
	}
	return BenchNow() - t0;
}

/* ---- measuring ---- */

typedef struct Case
{
	const char *name;
	double		(*pass) (int bsize);
	Ring	   *ring;
	double		best[NSIZES];
	double		ratio[NSIZES][MAX_REPS];
} Case;

static int
CompareDouble(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "build";
	int			reps = argc > 2 ? atoi(argv[2]) : 11;
	Case		cases[32];
	int			ncases = 0;
	uint64_t	seed = 42;
	pthread_t	helper;
	int			i;
	int			c;
	int			s;
	int			r;

	if (reps < 1 || reps > MAX_REPS)
		reps = 11;
	BenchShuffle(order, NREC, seed);
	loop_buf = aligned_alloc(4096, 8192);
	batch_buf = aligned_alloc(4096, (size_t) MAX_BATCH * REC);
	if (loop_buf == NULL || batch_buf == NULL || MakeFile(dir) != 0)
		return 1;
	memset(batch_buf, 0, (size_t) MAX_BATCH * REC);
	map = mmap(NULL, (size_t) NREC * REC, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
	{
		fprintf(stderr, "mmap failed: %s\n", strerror(errno));
		return 1;
	}
	PassLoop(0);				/* everything in the page cache */
	if (pthread_create(&helper, NULL, Helper, NULL) != 0)
		return 1;

	cases[ncases++] = (Case) {.name = "pread loop (itself)", .pass = PassLoop};
	cases[ncases++] = (Case) {.name = "preadv2 RWF_NOWAIT", .pass = PassNowait};
	for (i = 0; i < NRINGS; i++)
	{
		RingSetup(&rings[i]);
		if (rings[i].ok)
			cases[ncases++] = (Case) {.name = rings[i].name, .pass = PassRing, .ring = &rings[i]};
		else
			printf("%s: not available (%s)\n", rings[i].name, rings[i].why);
	}
	cases[ncases++] = (Case) {.name = "2 threads, split batch", .pass = PassSplit};
	cases[ncases++] = (Case) {.name = "mmap memcpy (no read)", .pass = PassMmap};

	/* interleaved: every rep runs every case, each between two loop passes */
	for (c = 0; c < ncases; c++)
		for (s = 0; s < NSIZES; s++)
			cases[c].best[s] = 1e9;
	for (r = 0; r < reps; r++)
		for (s = 0; s < NSIZES; s++)
			for (c = 0; c < ncases; c++)
			{
				double		before;
				double		t;
				double		after;

				current_ring = cases[c].ring;
				before = PassLoop(0);
				t = cases[c].pass(batch_sizes[s]);
				after = PassLoop(0);
				if (t < cases[c].best[s])
					cases[c].best[s] = t;
				cases[c].ratio[s][r] = (before + after) / 2 / t;
			}

	printf("%d records of %d bytes in the page cache, %d cores online, best of %d passes\n",
		   NREC, REC, (int) sysconf(_SC_NPROCESSORS_ONLN), reps);
	printf("ratio = the pread loop's time / the case's time, paired per pass: median (min..max)\n\n");
	printf("%-24s %9s %9s   %-22s %-22s\n", "", "us/rec", "us/rec", "ratio", "ratio");
	printf("%-24s %9s %9s   %-22s %-22s\n", "batch", "64", "256", "64", "256");
	for (c = 0; c < ncases; c++)
	{
		printf("%-24s", cases[c].name);
		for (s = 0; s < NSIZES; s++)
			printf(" %9.3f", cases[c].best[s] / NREC * 1e6);
		printf("  ");
		for (s = 0; s < NSIZES; s++)
		{
			double	   *v = cases[c].ratio[s];
			char		cell[32];

			qsort(v, (size_t) reps, sizeof(double), CompareDouble);
			snprintf(cell, sizeof(cell), "%.2fx (%.2f..%.2f)", v[reps / 2], v[0], v[reps - 1]);
			printf(" %-22s", cell);
		}
		printf("\n");
	}
	printf("\nreads complete when a no-wait io_uring_submit returned:\n");
	for (i = 0; i < NRINGS; i++)
		if (rings[i].ok)
			printf("  %-24s batch 64: %5ld/%d   batch 256: %5ld/%d\n", rings[i].name,
				   RingInline(&rings[i], 64), NREC, RingInline(&rings[i], 256), NREC);

	atomic_store(&quit, true);
	atomic_fetch_add(&go, 1);
	FutexWake(&go);
	pthread_join(helper, NULL);
	for (i = 0; i < NRINGS; i++)
		if (rings[i].ok)
			io_uring_queue_exit(&rings[i].ring);
	munmap(map, (size_t) NREC * REC);
	close(fd);
	if (bad != 0)
		printf("WARNING: %ld reads returned wrong bytes\n", bad);
	return bad != 0;
}
