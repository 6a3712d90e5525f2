/*
 * test_runtime_resident.c
 *	  The resident-page fast path of the I/O runtime (src/runtime/resident.c),
 *	  with io_uring and with the pread pool: a batch mixing resident and
 *	  evicted ranges gives the file's bytes and copies exactly the resident
 *	  reads; short reads at EOF; the mapping cache never serves a file that
 *	  replaced another under the same fd number, nor a file at an old size;
 *	  submits below the threshold and the fast path turned off read as
 *	  before; reads the sweep saw resident, copied without mincore, in
 *	  small submits too, and only within resident_ttl_ms (0: never);
 *	  views of such pages in place (RuntimeView); RuntimeUnmapFiles; a
 *	  fork child with its own runtime; and threads submitting while
 *	  another unmaps (for ThreadSanitizer).
 *
 * Every read is checked against pread(2) of the same fd after the batch,
 * byte for byte.  Counts of reads served from a mapping are checked on the
 * first submit after RuntimeUnmapFiles: a later submit on the same mapping
 * may be skipped by the fast path's back-off, which depends on timing.
 * Eviction uses posix_fadvise(POSIX_FADV_DONTNEED), checked with mincore;
 * where it cannot evict (tmpfs) the mixed test is skipped.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "runtime_util.h"

#define CHUNK ((int64_t) 64 << 10)	/* resident / evicted stripes */
#define MAXN 256

static char other_path[300];	/* a second file, of the same size */

static RuntimeStats
Stats(Runtime *rt)
{
	RuntimeStats st;

	RuntimeGetStats(rt, &st);
	return st;
}

/*
 * Reads [offs[i], offs[i] + lens[i]) of fd through rt in one batch and
 * checks every result against pread of the same fd.  0, or the failed step.
 */
static int
BatchCheck(Runtime *rt, int fd, int n, const int64_t *offs, const size_t *lens)
{
	RuntimeBatch *b;
	char	   *want = malloc(1 << 20);
	size_t		bytes = 0;
	int			rc = 0;
	int			i;

	for (i = 0; i < n; i++)
		bytes += (lens[i] + RUNTIME_READ_ALIGN - 1) / RUNTIME_READ_ALIGN * RUNTIME_READ_ALIGN;
	if (want == NULL || RuntimeBatchOpen(rt, n, bytes, &b, NULL) != 0)
	{
		free(want);
		return 1;
	}
	for (i = 0; rc == 0 && i < n; i++)
		if (RuntimeBatchAddRead(b, fd, offs[i], lens[i], NULL, NULL) != 0)
			rc = 2;
	if (rc == 0 && RuntimeBatchSubmit(b, NULL) != 0)
		rc = 3;
	if (rc == 0 && RuntimeBatchWaitAll(b, 10000, NULL) != 0)
		rc = 4;
	for (i = 0; rc == 0 && i < n; i++)
	{
		RuntimeReadResult r;
		ssize_t		got = pread(fd, want, lens[i], offs[i]);

		if (RuntimeBatchResult(b, i, &r) != 0 || r.error != 0 || got < 0)
			rc = 5;
		else if (r.length != (size_t) got)
			rc = 6;
		else if (memcmp(r.data, want, r.length) != 0)
			rc = 7;
	}
	RuntimeBatchRelease(b);
	free(want);
	return rc;
}

/* Whether each page of fd's first DATA_SIZE bytes is resident (vec). */
static bool
Residency(int fd, unsigned char *vec)
{
	void	   *map = mmap(NULL, (size_t) DATA_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	bool		ok;

	if (map == MAP_FAILED)
		return false;
	ok = mincore(map, (size_t) DATA_SIZE, vec) == 0;
	munmap(map, (size_t) DATA_SIZE);
	return ok;
}

/*
 * Drops the odd CHUNK stripes of fd's file from the page cache and reads
 * the even ones in; true when mincore then shows exactly that ('vec' gets
 * the residency of every page).
 */
static bool
EvictOddStripes(Runtime *rt, int fd, unsigned char *vec)
{
	size_t		ps = (size_t) sysconf(_SC_PAGESIZE);
	int			warm = OpenData();
	int			bad = 0;
	int64_t		o;
	size_t		i;

	/* our own mappings would keep the pages from being dropped */
	RuntimeUnmapFiles(rt);
	posix_fadvise(warm, 0, 0, POSIX_FADV_RANDOM);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (o = 0; o < DATA_SIZE; o += 2 * CHUNK)
	{
		char	   *buf = malloc((size_t) CHUNK);

		if (pread(warm, buf, (size_t) CHUNK, o) != CHUNK)
			bad++;
		free(buf);
	}
	close(warm);
	if (!Residency(fd, vec))
		return false;
	for (i = 0; i < (size_t) DATA_SIZE / ps; i++)
		if ((vec[i] & 1) != (((int64_t) i * (int64_t) ps / CHUNK) % 2 == 0))
			bad++;
	return bad == 0;
}

static void
TestMixed(Runtime *rt, const char *m)
{
	size_t		ps = (size_t) sysconf(_SC_PAGESIZE);
	unsigned char *vec = malloc((size_t) DATA_SIZE / ps);
	int64_t		offs[MAXN];
	size_t		lens[MAXN];
	uint64_t	seed = 77;
	uint64_t	before;
	int			fd = OpenData();
	int			expect = 0;
	int			rc;
	int			i;

	if (!EvictOddStripes(rt, fd, vec))
	{
		tap_skip("the page cache would not drop the stripes here", "%s: mixed resident and evicted reads", m);
		close(fd);
		free(vec);
		return;
	}

	for (i = 0; i < MAXN; i++)
	{
		size_t		p;
		size_t		end;
		bool		all = true;

		offs[i] = (int64_t) (Rand(&seed) % (uint64_t) (DATA_SIZE - 20000));
		lens[i] = 1 + Rand(&seed) % 12000;
		end = (size_t) ((offs[i] + (int64_t) lens[i] + (int64_t) ps - 1) / (int64_t) ps);
		for (p = (size_t) offs[i] / ps; p < end; p++)
			all = all && (vec[p] & 1);
		expect += all;
	}
	before = Stats(rt).resident_reads;
	rc = BatchCheck(rt, fd, MAXN, offs, lens);
	tap_ok(rc == 0, "%s: %d reads over resident and evicted stripes give the file's bytes (step %d)",
		   m, MAXN, rc);
	tap_ok(Stats(rt).resident_reads - before == (uint64_t) expect && expect > 0 && expect < MAXN,
		   "%s: exactly the %d reads whose pages were all resident were copied from the mapping (%llu)",
		   m, expect, (unsigned long long) (Stats(rt).resident_reads - before));
	close(fd);
	free(vec);
}

static void
Warm(int fd)
{
	char	   *buf = malloc((size_t) DATA_SIZE);

	if (pread(fd, buf, (size_t) DATA_SIZE, 0) != DATA_SIZE)
		tap_diag("warming the data file failed");
	free(buf);
}

static void
TestEof(Runtime *rt, const char *m)
{
	int64_t		offs[10] = {DATA_SIZE - 100, DATA_SIZE, DATA_SIZE + 5000, DATA_SIZE - 1,
	0, 4096, 10000, 70000, 1 << 20, DATA_SIZE - 8192};
	size_t		lens[10] = {4000, 10, 10, 1, 100, 4096, 3136, 9000, 20000, 8192};
	int			fd = OpenData();
	uint64_t	before;
	int			rc;

	Warm(fd);
	RuntimeUnmapFiles(rt);
	before = Stats(rt).resident_reads;
	rc = BatchCheck(rt, fd, 10, offs, lens);
	tap_ok(rc == 0, "%s: reads across, at and past EOF are short or empty, as pread says (step %d)",
		   m, rc);
	/* the two at or past EOF take the ordinary path */
	tap_ok(Stats(rt).resident_reads - before == 8,
		   "%s: 8 of them (the one across EOF too) came from the mapping (%llu)", m,
		   (unsigned long long) (Stats(rt).resident_reads - before));
	close(fd);
}

static void
TestReplaced(Runtime *rt, const char *m)
{
	int64_t		offs[16];
	size_t		lens[16];
	int			fd = OpenData();
	int			other;
	int			num;
	uint64_t	before;
	int			rc1;
	int			rc2;
	int			i;

	for (i = 0; i < 16; i++)
	{
		offs[i] = (int64_t) i * 150000;
		lens[i] = 3136;
	}
	Warm(fd);
	RuntimeUnmapFiles(rt);
	before = Stats(rt).resident_reads;
	rc1 = BatchCheck(rt, fd, 16, offs, lens);
	num = fd;
	/* the same fd number, now another file of the same size */
	other = open(other_path, O_RDONLY | O_CLOEXEC);
	Warm(other);
	dup2(other, num);
	close(other);
	rc2 = BatchCheck(rt, num, 16, offs, lens);
	tap_ok(rc1 == 0 && rc2 == 0 && Stats(rt).resident_reads - before == 32,
		   "%s: fd %d reopened on another file of the same size: its own bytes, from its own mapping (steps %d %d, %llu resident)",
		   m, num, rc1, rc2, (unsigned long long) (Stats(rt).resident_reads - before));
	tap_ok(Stats(rt).mappings >= 2, "%s: both files are mapped (%d)", m, Stats(rt).mappings);
	close(num);
}

static void
TestGrown(Runtime *rt, const char *m)
{
	char		path[320];
	char	   *buf = malloc(1 << 20);
	int64_t		offs[8];
	size_t		lens[8];
	int			fd;
	int			rc1;
	int			rc2;
	int			maps;
	int			i;

	snprintf(path, sizeof(path), "%s/grown", test_dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	memset(buf, 'a', 1 << 20);
	if (pwrite(fd, buf, 1 << 20, 0) != 1 << 20)
		tap_diag("write failed");
	for (i = 0; i < 8; i++)
	{
		offs[i] = (int64_t) i * 140000;
		lens[i] = 100000;
	}
	rc1 = BatchCheck(rt, fd, 8, offs, lens);
	maps = Stats(rt).mappings;
	memset(buf, 'b', 1 << 20);
	if (pwrite(fd, buf, 1 << 20, 1 << 20) != 1 << 20)
		tap_diag("write failed");
	for (i = 0; i < 8; i++)
		offs[i] = (int64_t) i * 260000;
	rc2 = BatchCheck(rt, fd, 8, offs, lens);
	tap_ok(rc1 == 0 && rc2 == 0 && Stats(rt).mappings == maps,
		   "%s: a file that grew is read to its new end; its old mapping was replaced (steps %d %d)",
		   m, rc1, rc2);
	close(fd);
	unlink(path);
	free(buf);
}

static void
TestSmallAndOff(RuntimeMethod method, Runtime *rt, const char *m)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *off;
	int64_t		offs[64];
	size_t		lens[64];
	int			fd = OpenData();
	uint64_t	before;
	int			rc;
	int			i;

	for (i = 0; i < 64; i++)
	{
		offs[i] = (int64_t) i * 40000 + 17;
		lens[i] = 3136;
	}
	Warm(fd);
	RuntimeUnmapFiles(rt);
	before = Stats(rt).resident_reads;
	rc = BatchCheck(rt, fd, 4, offs, lens);
	tap_ok(rc == 0 && Stats(rt).resident_reads == before,
		   "%s: a submit of 4 reads, before any sweep, takes the ordinary path (step %d)", m, rc);

	c.mmap_resident = false;
	rc = RuntimeOpen(&c, &off, NULL);
	tap_ok(rc == 0, "%s: open with mmap_resident off", m);
	if (rc != 0)
	{
		close(fd);
		return;
	}
	rc = BatchCheck(off, fd, 64, offs, lens);
	tap_ok(rc == 0 && Stats(off).resident_reads == 0 && Stats(off).mappings == 0,
		   "%s: fast path off: 64 resident reads give the bytes, none from a mapping, nothing mapped (step %d)",
		   m, rc);
	tap_ok(RuntimeClose(off, 5000) == 0, "%s: close the runtime without the fast path", m);

	RuntimeUnmapFiles(rt);
	before = Stats(rt).resident_reads;
	rc = BatchCheck(rt, fd, 64, offs, lens);
	tap_ok(rc == 0 && Stats(rt).resident_reads - before == 64,
		   "%s: fast path on: the same 64 reads all come from the mapping (step %d)", m, rc);
	tap_ok(RuntimeUnmapFiles(rt) == 0 && Stats(rt).mappings == 0,
		   "%s: RuntimeUnmapFiles leaves nothing mapped", m);
	rc = BatchCheck(rt, fd, 64, offs, lens);
	tap_ok(rc == 0 && Stats(rt).mappings == 1,
		   "%s: the next submit maps the file again (step %d)", m, rc);
	close(fd);
}

/* A runtime like the suite's with resident_ttl_ms 'ttl', or NULL (a failed test) */
static Runtime *
OpenWithTtl(RuntimeMethod method, int ttl, const char *m)
{
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;

	c.resident_ttl_ms = ttl;
	if (RuntimeOpen(&c, &rt, NULL) == 0)
		return rt;
	tap_ok(false, "%s: open with resident_ttl_ms %d", m, ttl);
	return NULL;
}

/*
 * 'rounds' submits of 64 reads of 3 kB at offsets from 'seed', each within
 * an even stripe when 'even_only'; each submit takes a sweep step, and the
 * file of 768 pages takes 12 at most.  0, or the failed BatchCheck step.
 */
static int
Sweep(Runtime *rt, int fd, int rounds, bool even_only, uint64_t seed)
{
	int64_t		offs[64];
	size_t		lens[64];
	int			rc = 0;
	int			i;

	while (rc == 0 && rounds-- > 0)
	{
		for (i = 0; i < 64; i++)
		{
			offs[i] = (int64_t) (Rand(&seed) % (uint64_t) (DATA_SIZE - 4000));
			if (even_only)
				offs[i] = offs[i] / (2 * CHUNK) * (2 * CHUNK) + offs[i] % (CHUNK - 4000);
			lens[i] = 3136;
		}
		rc = BatchCheck(rt, fd, 64, offs, lens);
	}
	return rc;
}

/* TestSeen's and TestViews' reads of a vector each, in even stripes (EvictOddStripes) */
static const int64_t vector_offs[4] = {17, 700000, 1320000, DATA_SIZE - 2 * CHUNK + 1000};
static const size_t vector_lens[4] = {3136, 3136, 3136, 3136};

/*
 * Reads a sweep saw resident are copied without mincore, small submits'
 * too, within resident_ttl_ms of the sweep's look; resident_ttl_ms 0 never
 * does so; a page the sweep saw absent is not copied on its word.
 */
static void
TestSeen(RuntimeMethod method, const char *m)
{
	size_t		ps = (size_t) sysconf(_SC_PAGESIZE);
	unsigned char *vec = malloc((size_t) DATA_SIZE / ps);
	int64_t		odd[4];
	int			fd = OpenData();
	Runtime    *rt;
	uint64_t	res;
	uint64_t	seen;
	int			rc;
	int			i;

	Warm(fd);
	rt = OpenWithTtl(method, RUNTIME_MAX_RESIDENT_TTL_MS, m);
	if (rt == NULL)
	{
		close(fd);
		free(vec);
		return;
	}
	rc = BatchCheck(rt, fd, 4, vector_offs, vector_lens);
	tap_ok(rc == 0 && Stats(rt).resident_reads == 0 && Stats(rt).seen_reads == 0,
		   "%s: 4 reads before any sweep take the ordinary path (step %d)", m, rc);
	rc = Sweep(rt, fd, 16, false, 5);
	res = Stats(rt).resident_reads;
	seen = Stats(rt).seen_reads;
	tap_ok(rc == 0 && seen > 0 && seen <= res,
		   "%s: 16 submits of 64 reads: %llu of the %llu copied were seen resident by the sweep (step %d)",
		   m, (unsigned long long) seen, (unsigned long long) res, rc);
	rc = BatchCheck(rt, fd, 4, vector_offs, vector_lens);
	tap_ok(rc == 0 && Stats(rt).resident_reads - res == 4 && Stats(rt).seen_reads - seen == 4,
		   "%s: after a whole pass, 4 reads come from the mapping without mincore (step %d, %llu %llu)",
		   m, rc, (unsigned long long) (Stats(rt).resident_reads - res),
		   (unsigned long long) (Stats(rt).seen_reads - seen));
	res = Stats(rt).resident_reads;
	seen = Stats(rt).seen_reads;
	rc = Sweep(rt, fd, 1, false, 6);
	tap_ok(rc == 0 && Stats(rt).resident_reads - res == 64 && Stats(rt).seen_reads - seen == 64,
		   "%s: and so do 64 (step %d)", m, rc);

	/* a page the sweep saw absent: not copied on its word, though now resident */
	if (!EvictOddStripes(rt, fd, vec))
		tap_skip("the page cache would not drop the stripes here", "%s: pages seen absent", m);
	else
	{
		for (i = 0; i < 4; i++)
			odd[i] = vector_offs[i] / (2 * CHUNK) * (2 * CHUNK) + CHUNK + 100;
		rc = Sweep(rt, fd, 16, true, 7);
		res = Stats(rt).resident_reads;
		seen = Stats(rt).seen_reads;
		rc = rc != 0 ? rc : BatchCheck(rt, fd, 4, odd, vector_lens);
		rc = rc != 0 ? rc : BatchCheck(rt, fd, 4, odd, vector_lens);
		tap_ok(rc == 0 && Stats(rt).resident_reads == res,
			   "%s: 4 reads in stripes the sweep saw evicted take the ordinary path, twice (step %d)",
			   m, rc);
		rc = BatchCheck(rt, fd, 4, vector_offs, vector_lens);
		tap_ok(rc == 0 && Stats(rt).resident_reads - res == 4 && Stats(rt).seen_reads - seen == 4,
			   "%s: 4 reads in stripes it saw resident come from the mapping (step %d)", m, rc);
	}
	RuntimeClose(rt, 5000);

	/* seen too long ago */
	Warm(fd);
	rt = OpenWithTtl(method, 1, m);
	rc = rt == NULL ? -1 : Sweep(rt, fd, 16, false, 8);
	if (rt != NULL)
	{
		usleep(20000);
		res = Stats(rt).resident_reads;
		rc = rc != 0 ? rc : BatchCheck(rt, fd, 4, vector_offs, vector_lens);
		tap_ok(rc == 0 && Stats(rt).resident_reads == res,
			   "%s: resident_ttl_ms 1: 20 ms after the sweep, 4 reads take the ordinary path (step %d)",
			   m, rc);
		RuntimeClose(rt, 5000);
	}

	/* never */
	rt = OpenWithTtl(method, 0, m);
	rc = rt == NULL ? -1 : Sweep(rt, fd, 16, false, 9);
	if (rt != NULL)
	{
		res = Stats(rt).resident_reads;
		rc = rc != 0 ? rc : BatchCheck(rt, fd, 4, vector_offs, vector_lens);
		tap_ok(rc == 0 && Stats(rt).resident_reads == res && Stats(rt).seen_reads == 0 && res > 0,
			   "%s: resident_ttl_ms 0: nothing seen, 4 reads take the ordinary path (step %d)",
			   m, rc);
		RuntimeClose(rt, 5000);
	}
	close(fd);
	free(vec);
}

/*
 * Pins 'view' of fd in rt and looks at n ranges: how many it showed, each
 * checked against pread (a wrong byte counts as -1000).
 */
static int
ViewCheck(Runtime *rt, int fd, RuntimeView *view, int n, const int64_t *offs, const size_t *lens)
{
	char	   *want = malloc(1 << 20);
	int			shown = 0;
	int			i;

	if (RuntimeViewPin(rt, fd, view, NULL) != 0)
	{
		free(want);
		return -1;
	}
	for (i = 0; i < n; i++)
	{
		const void *p = RuntimeViewBytes(view, (uint64_t) offs[i], lens[i]);

		if (p == NULL)
			continue;
		if (pread(fd, want, lens[i], offs[i]) != (ssize_t) lens[i] ||
			memcmp(p, want, lens[i]) != 0)
			shown -= 1000;
		shown++;
	}
	RuntimeViewUnpin(view);
	free(want);
	return shown;
}

/*
 * Views show in place what the sweep saw resident within resident_ttl_ms,
 * nothing past the end, nothing unpinned; a pinned mapping outlives
 * RuntimeUnmapFiles; a view re-pins its entry without looking the file up
 * again and maps anew once the entry is gone.
 */
static void
TestViews(RuntimeMethod method, const char *m)
{
	size_t		ps = (size_t) sysconf(_SC_PAGESIZE);
	Runtime    *rt = OpenWithTtl(method, RUNTIME_MAX_RESIDENT_TTL_MS, m);
	int64_t		odd[4];
	int64_t		edge[3] = {DATA_SIZE - 100, DATA_SIZE, 4096};
	size_t		edge_lens[3] = {3136, 1, 0};
	char		want[3136];
	RuntimeView view;
	unsigned char *vec;
	uint64_t	generation;
	const void *p;
	int			shown;
	int			fd;
	int			i;

	if (rt == NULL)
		return;
	vec = malloc((size_t) DATA_SIZE / ps);
	fd = OpenData();
	RuntimeViewInit(&view);
	Warm(fd);
	shown = Sweep(rt, fd, 16, false, 11) != 0 ? -1 :
		ViewCheck(rt, fd, &view, 4, vector_offs, vector_lens);
	tap_ok(shown == 4 && Stats(rt).viewed_reads == 4,
		   "%s: after a sweep pass a view shows 4 ranges in place, each right (%d, %llu counted)",
		   m, shown, (unsigned long long) Stats(rt).viewed_reads);
	shown = ViewCheck(rt, fd, &view, 3, edge, edge_lens);
	tap_ok(shown == 0, "%s: nothing past the end, at the end, or of no length (%d)", m, shown);
	tap_ok(RuntimeViewBytes(&view, 17, 100) == NULL, "%s: nothing from a view not pinned", m);

	generation = view.generation;
	tap_ok(RuntimeViewPin(rt, fd, &view, NULL) == 0 && view.generation == generation &&
		   RuntimeViewPin(rt, fd, &view, NULL) == EINVAL,
		   "%s: a view pins its entry again (generation %llu), and not twice",
		   m, (unsigned long long) generation);
	RuntimeUnmapFiles(rt);
	p = RuntimeViewBytes(&view, (uint64_t) vector_offs[1], vector_lens[1]);
	tap_ok(p != NULL && pread(fd, want, vector_lens[1], vector_offs[1]) == (ssize_t) vector_lens[1] &&
		   memcmp(p, want, vector_lens[1]) == 0 && Stats(rt).mappings == 1,
		   "%s: a pinned mapping outlives RuntimeUnmapFiles, its bytes right", m);
	RuntimeViewUnpin(&view);
	RuntimeUnmapFiles(rt);
	tap_ok(Stats(rt).mappings == 0 && RuntimeViewPin(rt, fd, &view, NULL) == 0 &&
		   view.generation != generation && view.base != NULL,
		   "%s: once unpinned it goes, and the next pin maps the file anew", m);
	RuntimeViewUnpin(&view);

	/* a page the sweep saw absent is not shown, though resident again */
	if (!EvictOddStripes(rt, fd, vec))
		tap_skip("the page cache would not drop the stripes here", "%s: views of pages seen absent", m);
	else
	{
		for (i = 0; i < 4; i++)
			odd[i] = vector_offs[i] / (2 * CHUNK) * (2 * CHUNK) + CHUNK + 100;
		shown = Sweep(rt, fd, 16, true, 12) == 0 ? ViewCheck(rt, fd, &view, 4, odd, vector_lens) : -1;
		tap_ok(shown == 0, "%s: no range in stripes the sweep saw evicted is shown (%d)", m, shown);
		shown = ViewCheck(rt, fd, &view, 4, vector_offs, vector_lens);
		tap_ok(shown == 4, "%s: all 4 in stripes it saw resident are (%d)", m, shown);
	}
	RuntimeClose(rt, 5000);

	/* seen too long ago, never, and no mappings at all */
	RuntimeViewInit(&view);
	Warm(fd);
	rt = OpenWithTtl(method, 1, m);
	shown = rt == NULL || Sweep(rt, fd, 16, false, 13) != 0 ? -1 :
		(usleep(20000), ViewCheck(rt, fd, &view, 4, vector_offs, vector_lens));
	tap_ok(shown == 0, "%s: resident_ttl_ms 1: 20 ms after the sweep a view shows nothing (%d)",
		   m, shown);
	if (rt != NULL)
		RuntimeClose(rt, 5000);
	RuntimeViewInit(&view);
	rt = OpenWithTtl(method, 0, m);
	shown = rt == NULL || Sweep(rt, fd, 16, false, 14) != 0 ? -1 :
		ViewCheck(rt, fd, &view, 4, vector_offs, vector_lens);
	tap_ok(shown == 0 && view.slot >= 0,
		   "%s: resident_ttl_ms 0: the file is mapped, a view shows nothing (%d)", m, shown);
	if (rt != NULL)
		RuntimeClose(rt, 5000);
	{
		RuntimeConfig c = ConfigFor(method);

		c.mmap_resident = false;
		RuntimeViewInit(&view);
		rt = RuntimeOpen(&c, &rt, NULL) == 0 ? rt : NULL;
		shown = rt == NULL ? -1 : ViewCheck(rt, fd, &view, 4, vector_offs, vector_lens);
		tap_ok(shown == 0 && view.slot == -1 && (rt == NULL || Stats(rt).mappings == 0),
			   "%s: without mmap_resident a view maps nothing and shows nothing (%d)", m, shown);
		if (rt != NULL)
			RuntimeClose(rt, 5000);
	}
	close(fd);
	free(vec);
}

static void
TestFork(RuntimeMethod method, const char *m)
{
	pid_t		pid;
	int			rc;

	pid = fork();
	if (pid == 0)
	{
		RuntimeConfig c = ConfigFor(method);
		Runtime    *rt;
		int64_t		offs[32];
		size_t		lens[32];
		int			fd = OpenData();
		int			i;

		ChildHangDetector(20);
		for (i = 0; i < 32; i++)
		{
			offs[i] = (int64_t) i * 90000;
			lens[i] = 5000;
		}
		Warm(fd);
		if (RuntimeProcessGet(&c, &rt, NULL) != 0)
			_exit(2);
		if (Stats(rt).mappings != 0)
			_exit(3);
		if (BatchCheck(rt, fd, 32, offs, lens) != 0)
			_exit(4);
		if (Stats(rt).resident_reads != 32)
			_exit(5);
		if (RuntimeProcessClose(5000) != 0)
			_exit(6);
		_exit(0);
	}
	rc = WaitChild(pid, 30, "resident fork");
	tap_ok(rc == 0, "%s: a fork child (the parent has mappings) reads resident pages through its own runtime (status %d)",
		   m, rc);
}

typedef struct ThreadArg
{
	Runtime    *rt;
	int			seed;
	int			bad;
} ThreadArg;

static void *
Reader(void *p)
{
	ThreadArg  *a = p;
	uint64_t	seed = (uint64_t) a->seed;
	int64_t		offs[32];
	size_t		lens[32];
	int			fds[2] = {OpenData(), open(other_path, O_RDONLY | O_CLOEXEC)};
	int			round;
	int			i;

	for (round = 0; round < 40; round++)
	{
		for (i = 0; i < 32; i++)
		{
			offs[i] = (int64_t) (Rand(&seed) % (uint64_t) DATA_SIZE);
			lens[i] = 1 + Rand(&seed) % 8000;
		}
		if (BatchCheck(a->rt, fds[round % 2], 32, offs, lens) != 0)
			a->bad++;
	}
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

static void
TestThreads(Runtime *rt, const char *m)
{
	pthread_t	t[2];
	ThreadArg	args[2] = {{rt, 1, 0}, {rt, 2, 0}};
	int			unmaps = 0;
	int			i;

	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, Reader, &args[i]);
	for (i = 0; i < 200; i++)
	{
		RuntimeUnmapFiles(rt);
		unmaps++;
		usleep(500);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	tap_ok(args[0].bad == 0 && args[1].bad == 0,
		   "%s: two threads submitting over two files while a third unmaps %d times: every read right",
		   m, unmaps);
}

static void
Suite(RuntimeMethod method)
{
	const char *m = RuntimeMethodName(method);
	RuntimeConfig c = ConfigFor(method);
	Runtime    *rt;
	RuntimeStats st;

	hang_test = m;
	if (RuntimeOpen(&c, &rt, NULL) != 0)
	{
		tap_ok(false, "%s: open", m);
		return;
	}
	TestEof(rt, m);
	TestReplaced(rt, m);
	TestGrown(rt, m);
	TestSmallAndOff(method, rt, m);
	TestMixed(rt, m);
	TestSeen(method, m);
	TestViews(method, m);
	TestFork(method, m);
	TestThreads(rt, m);
	RuntimeGetStats(rt, &st);
	tap_ok(st.live_batches == 0 && st.in_flight == 0 && st.held_bytes == 0,
		   "%s: nothing is left held after the tests", m);
	tap_ok(RuntimeClose(rt, 5000) == 0, "%s: close unmaps and frees everything", m);
}

/* A second file of DATA_SIZE bytes, every byte the complement of the data's. */
static void
MakeOther(void)
{
	uint8_t    *buf = malloc((size_t) DATA_SIZE);
	int64_t		i;
	int			fd;

	snprintf(other_path, sizeof(other_path), "%s/other", test_dir);
	for (i = 0; i < DATA_SIZE; i++)
		buf[i] = (uint8_t) ~Pattern(i);
	fd = open(other_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, (size_t) DATA_SIZE) != DATA_SIZE || fsync(fd) != 0)
	{
		printf("Bail out! cannot write %s: %s\n", other_path, strerror(errno));
		exit(1);
	}
	close(fd);
	free(buf);
}

int
main(void)
{
	RuntimeConfig c = ConfigFor(RUNTIME_METHOD_IO_URING);
	RuntimeConfig d;
	Runtime    *probe;
	RuntimeError err;

	HangDetector(120);
	MakeTestFiles("test_runtime_resident");
	MakeOther();
	RuntimeConfigInit(&d);
	tap_ok(d.mmap_resident, "the fast path is on by default");
	d.resident_ttl_ms = RUNTIME_MAX_RESIDENT_TTL_MS + 1;
	tap_ok(RuntimeOpen(&d, &probe, &err) == EINVAL,
		   "a resident_ttl_ms above %d is refused: %s", RUNTIME_MAX_RESIDENT_TTL_MS, err.message);
	if (RuntimeOpen(&c, &probe, &err) == 0)
	{
		RuntimeClose(probe, 5000);
		Suite(RUNTIME_METHOD_IO_URING);
	}
	else
		tap_skip(err.message, "io_uring: the whole suite");
	Suite(RUNTIME_METHOD_PREAD);
	unlink(other_path);
	RemoveTestFiles();
	return tap_done();
}
