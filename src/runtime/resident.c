/*
 * resident.c
 *	  The resident-page fast path: at submit, a positioned read of a regular
 *	  file whose pages are all in the page cache is served by a memcpy from a
 *	  read-only mapping of the file, in the caller's thread, with no read
 *	  system call; every other read takes the ordinary path (io_uring or the
 *	  pread pool).  See "Resident pages" in README.
 *
 * Why: a page-cache read(2) pays the page-cache lookup and a kernel copy on
 * top of the call itself, and that bounds every read-based path near 1.2x a
 * plain pread loop (bench/warm_ceiling.c); a copy from a mapping whose page
 * table entries are present costs the copy alone.
 *
 * The rule this file keeps: it never faults in a page that is not in the
 * page cache on purpose.  mincore(2) on the pages of a read says whether
 * each one is resident, lately (a sweep's look less than resident_ttl_ms
 * ago) or right now; only when all are is the read copied.  A waiting
 * backend must never sleep on the disk in a page fault, which it cannot be
 * interrupted from.  What remains is the race between that look and the
 * copy (README).
 *
 * Mappings are cached per runtime, keyed by (st_dev, st_ino, st_size) from
 * fstat at every submit, never by fd number, which the caller may reuse for
 * another file.  A cached mapping holds a reference to its inode, so the
 * inode number cannot be given to another file while the entry exists: a
 * key match is the same file.  The size in the key keeps every copy inside
 * the file as it was when the entry was made (a file that grew gets a new
 * entry; copying past the end of a mapped file would raise SIGBUS).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime_internal.h"

/*
 * Entries made in this process, by any runtime: a view's (slot, generation)
 * names one entry, and never one of a later runtime at the same address.
 */
static uint64_t map_generations;

static bool
KeyEquals(const RuntimeMapping *m, const struct stat *st)
{
	return m->used && m->dev == st->st_dev && m->ino == st->st_ino && m->size == st->st_size;
}

typedef struct RegionArrays
{
	uint64_t   *bits;
	uint64_t   *seen;
	uint64_t	n;
} RegionArrays;

/* The region arrays of a file of 'size' bytes, or none (NULLs) */
static RegionArrays
RegionsAlloc(Runtime *rt, uint64_t size)
{
	RegionArrays r = {NULL, NULL, 0};
	uint64_t	region = RUNTIME_REGION_PAGES * (uint64_t) rt->page_size;

	if (rt->config.resident_ttl_ms == 0 || size > RUNTIME_REGION_MAX_BYTES)
		return r;
	r.n = (size + region - 1) / region;
	r.bits = calloc(r.n, sizeof(uint64_t));
	r.seen = calloc(r.n, sizeof(uint64_t));
	if (r.bits == NULL || r.seen == NULL)
	{
		free(r.bits);
		free(r.seen);
		r.bits = r.seen = NULL;
		r.n = 0;
	}
	return r;
}

static void
RegionsFree(RegionArrays *r)
{
	free(r->bits);
	free(r->seen);
}

/*
 * Pins and returns the mapping of fd's file, making it if needed, or NULL
 * when the file is not to be read this way: not a regular file, empty,
 * not owned by us, or not mappable.  Takes Runtime.mu briefly;
 * mmap and munmap run without it.
 */
static RuntimeMapping *
MapPin(Runtime *rt, int fd)
{
	struct stat st;
	RuntimeMapping *m = NULL;
	RuntimeMapping *victim = NULL;
	char	   *base;
	char	   *old = NULL;
	size_t		old_len = 0;
	RegionArrays regions = {NULL, NULL, 0};
	RegionArrays old_regions = {NULL, NULL, 0};
	int			i;

	/*
	 * Owner only: for a file mapping, mincore reports page-cache residency
	 * only to a process that owns the file or could open it for writing, and
	 * claims every page resident to anyone else, which would send us into
	 * page faults on the disk.
	 */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
		st.st_uid != rt->euid ||
		(uint64_t) st.st_size > SIZE_MAX / 2)
		return NULL;

	pthread_mutex_lock(&rt->mu);
	for (i = 0; i < RUNTIME_MAP_SLOTS && m == NULL; i++)
		if (KeyEquals(&rt->maps[i], &st))
			m = &rt->maps[i];
	if (m != NULL)
	{
		m->stamp = ++rt->map_clock;
		if (m->base != NULL)
			m->pins++;
		else
			m = NULL;
		pthread_mutex_unlock(&rt->mu);
		return m;
	}
	pthread_mutex_unlock(&rt->mu);

	base = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		base = NULL;
	else
	{
		/*
		 * MADV_RANDOM: a fault in the race of README reads only the folio it
		 * needs, no read-around.  MADV_DONTFORK: a fork child does not even
		 * map it (the child never touches the inherited runtime anyway).
		 */
		(void) madvise(base, (size_t) st.st_size, MADV_RANDOM);
		(void) madvise(base, (size_t) st.st_size, MADV_DONTFORK);
		regions = RegionsAlloc(rt, (uint64_t) st.st_size);
	}

	pthread_mutex_lock(&rt->mu);
	/* another thread may have made the entry meanwhile */
	for (i = 0; i < RUNTIME_MAP_SLOTS && m == NULL; i++)
		if (KeyEquals(&rt->maps[i], &st))
			m = &rt->maps[i];
	if (m == NULL)
	{
		/* the same file at an older size, else a free slot, else the LRU */
		for (i = 0; i < RUNTIME_MAP_SLOTS; i++)
		{
			RuntimeMapping *s = &rt->maps[i];

			if (s->used && s->pins > 0)
				continue;
			if (s->used && s->dev == st.st_dev && s->ino == st.st_ino)
			{
				victim = s;
				break;
			}
			if (victim == NULL || (victim->used && (!s->used || s->stamp < victim->stamp)))
				victim = s;
		}
		if (victim != NULL)
		{
			if (victim->used && victim->base != NULL)
			{
				old = victim->base;
				old_len = (size_t) victim->size;
				rt->nmaps--;
			}
			old_regions.bits = victim->region_bits;
			old_regions.seen = victim->region_seen;
			victim->used = true;
			victim->generation = __atomic_add_fetch(&map_generations, 1, __ATOMIC_RELAXED);
			victim->dev = st.st_dev;
			victim->ino = st.st_ino;
			victim->size = st.st_size;
			victim->base = base;
			victim->pins = 0;
			victim->page_cost16 = 70 * 16;	/* as if no page table entries */
			victim->submits = 0;
			victim->skip = 0;
			victim->backoff = 0;
			victim->region_bits = regions.bits;
			victim->region_seen = regions.seen;
			victim->nregions = regions.n;
			victim->sweep_next = 0;
			victim->sweep_begun = 0;
			victim->sweep_due = 0;
			victim->sweeping = 0;
			if (base != NULL)
				rt->nmaps++;
			base = NULL;		/* the entry owns it now */
			regions.bits = regions.seen = NULL;
			m = victim;
		}
	}
	if (m != NULL)
	{
		m->stamp = ++rt->map_clock;
		if (m->base != NULL)
			m->pins++;
		else
			m = NULL;
	}
	pthread_mutex_unlock(&rt->mu);

	/* ours, when another thread won or every slot was pinned */
	if (base != NULL)
		munmap(base, (size_t) st.st_size);
	if (old != NULL)
		munmap(old, old_len);
	RegionsFree(&regions);
	RegionsFree(&old_regions);
	return m;
}

/*
 * mincore costs a system call (~1 us here) plus a little per page looked
 * at: a few ns where the mapping has page table entries, ~70 ns where it has
 * none (resident but not yet touched through this mapping, or evicted),
 * which is a page-cache lookup each.  One call per read would eat the gain,
 * one call over the whole file would cost the file's size.  So the reads of
 * a submit are sorted by page and neighbours share a call when the gap
 * between them is at most G pages, G = (cost of a call) / (cost per page),
 * both learned from the calls' own timing: large where page table entries
 * are present, small where not.  A run of small G never makes the large
 * calls that could show it has become cheap, so every EXPLORE_EVERY-th
 * submit on a mapping merges with EXPLORE_GAP.  A mapping where a submit
 * spent longer in mincore than its copies saved (a cold file, or reads too
 * sparse) is skipped for the next 1, 2, 4 ... BACKOFF_MAX submits, so such
 * reads pay for mincore only now and then.
 */
#define CHUNK 256				/* reads sorted and merged at a time */
#define VEC_PAGES 8192			/* pages per mincore call at most */
#define EXPLORE_EVERY 32
#define EXPLORE_GAP 1024
#define BACKOFF_MAX 64
#define MIN_GAP 4

typedef struct Cand
{
	uint64_t	p0;				/* first page */
	uint64_t	p1;				/* past the last page */
	size_t		n;				/* bytes to copy (clamped at EOF) */
	int			idx;			/* in the batch */
	int			file;			/* in the submit's file table */
	bool		resident;		/* mincore said so of all its pages */
	bool		seen;			/* a sweep said so, lately (SeenResident) */
} Cand;

static int
CandCmp(const void *a, const void *b)
{
	const Cand *x = a;
	const Cand *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->p0 < y->p0 ? -1 : x->p0 > y->p0;
}

static uint64_t
NowNs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* What one mincore call of 'pages' pages taking 'ns' teaches. */
static void
Learn(Runtime *rt, RuntimeMapping *m, uint64_t pages, uint64_t ns)
{
	uint64_t	call = LOAD(&rt->mincore_call_ns);

	if (ns > 1000000)
		return;					/* preempted, surely: no lesson */
	if (pages <= 4)
		STORE(&rt->mincore_call_ns, (uint32_t) ((7 * call + ns) / 8));
	else if (pages >= 64)
	{
		uint64_t	per16 = ns > call ? (ns - call) * 16 / pages : 0;
		uint64_t	old = LOAD(&m->page_cost16);

		if (per16 < 8)
			per16 = 8;			/* 0.5 ns */
		STORE(&m->page_cost16, (uint32_t) ((3 * old + per16) / 4));
	}
}

/* The pages of 'm' that one mincore call looks at for the price of the call */
static uint64_t
PagesPerCall(Runtime *rt, RuntimeMapping *m)
{
	return (uint64_t) LOAD(&rt->mincore_call_ns) * 16 / (LOAD(&m->page_cost16) + 1);
}

/* The gap in pages up to which reads of 'm' share a mincore call. */
static uint64_t
Gap(Runtime *rt, RuntimeMapping *m)
{
	uint32_t	n = LOAD(&m->submits);
	uint64_t	gap;

	STORE(&m->submits, n + 1);
	if (n % EXPLORE_EVERY == 0)
		return EXPLORE_GAP;
	gap = PagesPerCall(rt, m);
	return gap < MIN_GAP ? MIN_GAP : gap > VEC_PAGES ? VEC_PAGES : gap;
}

/*
 * Resident regions.  Most reads of a hot file find every page resident,
 * and asking mincore read by read then costs more than the copies (seven
 * calls for the 33 vectors a lance_ivf query re-ranks).  So each submit also
 * takes one step of a sweep over the file: one mincore call over the next
 * regions of RUNTIME_REGION_PAGES pages, as many as SWEEP_CALLS calls' worth
 * of pages (cheap per page where the mapping has page table entries, so a
 * file of 200 MB takes a few steps; dear where it has none, so more steps).
 * A step records which pages were resident and when it saw them.  A read
 * whose pages the last step over their regions saw resident, less than
 * config.resident_ttl_ms ago, is copied without mincore; any other read
 * asks mincore as before.  A pass over the whole file begins at most every
 * half TTL (so regions in use stay fresh), and never sooner after its start
 * than the last pass took, so sweeping costs at most about SWEEP_CALLS
 * mincore calls on half the submits.
 *
 * What it gives up: a page evicted after the sweep saw it is read by a page
 * fault, uninterruptibly, as in the race of README, but for up to a TTL
 * instead of microseconds.  Reclaim must unmap a page this process maps
 * before it can drop it, and picks pages not used lately: a page evicted
 * within a TTL is one not read for a while, and its fault costs one disk
 * read.
 */
#define SWEEP_CALLS 8
#define SWEEP_MIN_PAGES RUNTIME_REGION_PAGES

static uint64_t
TtlNs(const Runtime *rt)
{
	return (uint64_t) rt->config.resident_ttl_ms * 1000000;
}

/*
 * Whether the last sweep step over pages [p0, p1) of 'm', less than a TTL
 * before 'now', saw them all resident.  The step writes a region's time
 * 0, then its bits, then the new time: a time that is fresh and the same
 * before and after reading the bits vouches for them.
 */
static bool
SeenResident(Runtime *rt, const RuntimeMapping *m, uint64_t p0, uint64_t p1, uint64_t now)
{
	uint64_t	ttl = TtlNs(rt);
	uint64_t	r;

	if (m->region_bits == NULL || p1 <= p0)
		return false;
	for (r = p0 / RUNTIME_REGION_PAGES; r <= (p1 - 1) / RUNTIME_REGION_PAGES; r++)
	{
		uint64_t	first = r * RUNTIME_REGION_PAGES;
		uint64_t	a = p0 > first ? p0 - first : 0;
		uint64_t	b = p1 - first < RUNTIME_REGION_PAGES ? p1 - first : RUNTIME_REGION_PAGES;
		uint64_t	want = (b - a == 64 ? ~(uint64_t) 0 : ((uint64_t) 1 << (b - a)) - 1) << a;
		uint64_t	seen = __atomic_load_n(&m->region_seen[r], __ATOMIC_ACQUIRE);
		uint64_t	bits;

		if (seen == 0 || now - seen >= ttl)
			return false;
		bits = __atomic_load_n(&m->region_bits[r], __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if ((bits & want) != want ||
			__atomic_load_n(&m->region_seen[r], __ATOMIC_RELAXED) != seen)
			return false;
	}
	return true;
}

/* One step of the sweep of 'm', if one is due; 'vec' holds VEC_PAGES. */
static void
SweepStep(Runtime *rt, RuntimeMapping *m, unsigned char *vec)
{
	uint64_t	ttl = TtlNs(rt);
	uint64_t	ps = rt->page_size;
	uint64_t	total = ((uint64_t) m->size + ps - 1) / ps;
	uint64_t	now;
	uint64_t	from;
	uint64_t	pages;
	uint64_t	dt;
	uint64_t	r;

	if (m->region_bits == NULL)
		return;
	now = NowNs();
	if (now < LOAD(&m->sweep_due) ||
		__atomic_exchange_n(&m->sweeping, 1, __ATOMIC_ACQUIRE) != 0)
		return;					/* not yet, or another thread's submit steps it */
	if (m->sweep_next == 0)
		m->sweep_begun = now;
	from = m->sweep_next * RUNTIME_REGION_PAGES;
	pages = PagesPerCall(rt, m) * SWEEP_CALLS;
	pages = pages < SWEEP_MIN_PAGES ? SWEEP_MIN_PAGES : pages > VEC_PAGES ? VEC_PAGES : pages;
	pages -= pages % RUNTIME_REGION_PAGES;
	if (pages > total - from)
		pages = total - from;
	if (mincore(m->base + from * ps, (size_t) (pages * ps), vec) != 0)
		memset(vec, 0, (size_t) pages);	/* cannot happen; seen absent */
	dt = NowNs() - now;
	Learn(rt, m, pages, dt);
	for (r = m->sweep_next; r * RUNTIME_REGION_PAGES < from + pages; r++)
	{
		uint64_t	bits = 0;
		uint64_t	p;

		for (p = 0; p < RUNTIME_REGION_PAGES && r * RUNTIME_REGION_PAGES + p < from + pages; p++)
			bits |= (uint64_t) (vec[r * RUNTIME_REGION_PAGES + p - from] & 1) << p;
		__atomic_store_n(&m->region_seen[r], 0, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&m->region_bits[r], bits, __ATOMIC_RELAXED);
		__atomic_store_n(&m->region_seen[r], now, __ATOMIC_RELEASE);
	}
	m->sweep_next = r;
	if (r >= m->nregions)
	{
		/* the pass is over: the next one in half a TTL, or as long as this one took */
		uint64_t	took = now + dt - m->sweep_begun;

		m->sweep_next = 0;
		STORE(&m->sweep_due, m->sweep_begun + (took > ttl / 2 ? 2 * took : ttl / 2));
	}
	__atomic_store_n(&m->sweeping, 0, __ATOMIC_RELEASE);
}

/*
 * Tries reads [first, last) of 'batch' (ADDED, not yet visible to any other
 * thread) and copies those whose pages are all resident; they get
 * rq_resident and rq_done set, and the caller completes them.  With
 * 'seen_only', only reads a sweep saw resident (SeenResident) are tried.
 * Returns how many of the reads copied were such.  Called by
 * RuntimeBatchSubmit without Runtime.mu.
 */
int
RuntimeResidentServe(Runtime *rt, RuntimeBatch *b, int first, int last, bool seen_only)
{
	int			fds[RUNTIME_MAP_SUBMIT_FILES];
	RuntimeMapping *maps[RUNTIME_MAP_SUBMIT_FILES];
	bool		skip[RUNTIME_MAP_SUBMIT_FILES];
	uint64_t	gaps[RUNTIME_MAP_SUBMIT_FILES];
	int			tried[RUNTIME_MAP_SUBMIT_FILES];
	int			hits[RUNTIME_MAP_SUBMIT_FILES];
	uint64_t	spent[RUNTIME_MAP_SUBMIT_FILES];	/* ns in mincore */
	Cand		cand[CHUNK];
	unsigned char vec[VEC_PAGES];
	int			nfiles = 0;
	int			cur = -1;		/* index in fds of the previous read's fd */
	uint64_t	ps = rt->page_size;
	uint64_t	now = NowNs();
	int			nseen = 0;
	int			i = first;
	int			f;

	while (i < last)
	{
		int			nc = 0;
		int			j;

		/* the next CHUNK reads: which may be tried, and their pages */
		for (; i < last && nc < CHUNK; i++)
		{
			RuntimeRequest *req = &b->b_reqs[i];
			RuntimeMapping *m;
			uint64_t	off = (uint64_t) req->rq_offset;
			size_t		n;

			if (req->rq_offset < 0 || req->rq_length > RUNTIME_MAP_MAX_READ)
				continue;
			if (cur < 0 || fds[cur] != req->rq_fd)
			{
				for (cur = 0; cur < nfiles && fds[cur] != req->rq_fd; cur++)
					;
				if (cur == nfiles)
				{
					if (nfiles == RUNTIME_MAP_SUBMIT_FILES)
					{
						cur = -1;
						continue;
					}
					fds[nfiles] = req->rq_fd;
					m = maps[nfiles] = MapPin(rt, req->rq_fd);
					skip[nfiles] = false;
					tried[nfiles] = hits[nfiles] = 0;
					spent[nfiles] = 0;
					if (m != NULL && LOAD(&m->skip) > 0)
					{
						STORE(&m->skip, LOAD(&m->skip) - 1);
						skip[nfiles] = true;
					}
					/* a submit that asks no mincore neither uses nor counts a gap */
					if (m != NULL && !skip[nfiles] && !seen_only)
						gaps[nfiles] = Gap(rt, m);
					nfiles++;
				}
			}
			m = maps[cur];
			/* at or past the end: the ordinary path says 0 bytes */
			if (m == NULL || skip[cur] || req->rq_offset >= m->size)
				continue;
			n = req->rq_length;
			if (off + n > (uint64_t) m->size)
				n = (size_t) ((uint64_t) m->size - off);	/* a short read at EOF */
			cand[nc].p0 = off / ps;
			cand[nc].p1 = (off + n + ps - 1) / ps;
			cand[nc].n = n;
			cand[nc].idx = i;
			cand[nc].file = cur;
			cand[nc].seen = SeenResident(rt, m, cand[nc].p0, cand[nc].p1, now);
			cand[nc].resident = cand[nc].seen;
			if (seen_only && !cand[nc].seen)
				continue;
			nc++;
		}
		if (nc > 1)
			qsort(cand, (size_t) nc, sizeof(Cand), CandCmp);

		/* neighbours share a mincore call; then copy what is resident */
		for (j = 0; j < nc;)
		{
			int			fi = cand[j].file;
			RuntimeMapping *m = maps[fi];
			uint64_t	s = cand[j].p0;
			uint64_t	e = cand[j].p1;
			uint64_t	t0;
			uint64_t	dt;
			int			k;
			int			q;

			if (cand[j].seen)
			{
				j++;
				continue;
			}
			for (k = j + 1; k < nc && cand[k].file == fi; k++)
			{
				uint64_t	e2 = cand[k].p1 > e ? cand[k].p1 : e;

				if (cand[k].p0 > e + gaps[fi] || e2 - s > VEC_PAGES)
					break;
				e = e2;
			}
			t0 = NowNs();
			if (mincore(m->base + s * ps, (size_t) ((e - s) * ps), vec) != 0)
			{
				j = k;
				continue;
			}
			dt = NowNs() - t0;
			spent[fi] += dt;
			Learn(rt, m, e - s, dt);
			for (q = j; q < k; q++)
			{
				uint64_t	p;

				if (cand[q].seen)
					continue;
				tried[fi]++;
				for (p = cand[q].p0; p < cand[q].p1 && (vec[p - s] & 1); p++)
					;
				/* some page is not resident: not here */
				cand[q].resident = p == cand[q].p1;
			}
			j = k;
		}

		/*
		 * Reads scattered over a large file each start with a TLB miss and a
		 * cache miss, which a copy meets one after the other.  Touching the
		 * first line of every page of every read first lets the memory
		 * system fetch them all at once: 34 reads of 3 kB at random from the
		 * page cache took 21 us instead of 29 (a 188 MB file).
		 */
		for (j = 0; j < nc; j++)
			if (cand[j].resident)
			{
				const char *src = maps[cand[j].file]->base + b->b_reqs[cand[j].idx].rq_offset;

				__builtin_prefetch(src);
				for (uint64_t p = cand[j].p0 + 1; p < cand[j].p1; p++)
					__builtin_prefetch(maps[cand[j].file]->base + p * ps);
			}
		for (j = 0; j < nc; j++)
			if (cand[j].resident)
			{
				RuntimeRequest *req = &b->b_reqs[cand[j].idx];

				memcpy(req->rq_dest, maps[cand[j].file]->base + req->rq_offset, cand[j].n);
				req->rq_done = cand[j].n;
				req->rq_resident = true;
				hits[cand[j].file]++;
				nseen += cand[j].seen;
			}
	}

	for (f = 0; f < nfiles; f++)
		if (maps[f] != NULL && !skip[f])
			SweepStep(rt, maps[f], vec);

	/*
	 * Back off from a file where mincore cost more than the copies saved
	 * (a read system call each, about the price of a mincore call): a cold
	 * file, or reads too sparse over a file without page table entries.
	 */
	for (f = 0; f < nfiles; f++)
	{
		RuntimeMapping *m = maps[f];

		if (m == NULL || skip[f])
			continue;
		if (tried[f] >= 4 && spent[f] > (uint64_t) hits[f] * LOAD(&rt->mincore_call_ns))
		{
			uint32_t	next = LOAD(&m->backoff) == 0 ? 1 : 2 * LOAD(&m->backoff);

			if (next > BACKOFF_MAX)
				next = BACKOFF_MAX;
			STORE(&m->backoff, next);
			STORE(&m->skip, next);
		}
		else if (tried[f] >= 4)
			STORE(&m->backoff, 0);
	}
	for (f = 0; f < nfiles && maps[f] == NULL; f++)
		;
	if (f < nfiles)
	{
		pthread_mutex_lock(&rt->mu);
		for (f = 0; f < nfiles; f++)
			if (maps[f] != NULL)
				maps[f]->pins--;
		pthread_mutex_unlock(&rt->mu);
	}
	return nseen;
}

/*
 * Unmaps the cached mappings that no submit is copying from ('all': every
 * one, at RuntimeClose, when none can be).  Takes Runtime.mu briefly; the
 * munmap calls run without it.
 */
static void
Unmap(Runtime *rt, bool all)
{
	RuntimeMapping taken[RUNTIME_MAP_SLOTS];
	int			ntaken = 0;
	int			i;

	pthread_mutex_lock(&rt->mu);
	for (i = 0; i < RUNTIME_MAP_SLOTS; i++)
	{
		RuntimeMapping *m = &rt->maps[i];

		if (!m->used || (m->pins > 0 && !all))
			continue;
		if (m->base != NULL)
		{
			taken[ntaken++] = *m;
			rt->nmaps--;
		}
		memset(m, 0, sizeof(*m));
	}
	pthread_mutex_unlock(&rt->mu);
	for (i = 0; i < ntaken; i++)
	{
		RegionArrays r = {taken[i].region_bits, taken[i].region_seen, taken[i].nregions};

		munmap(taken[i].base, (size_t) taken[i].size);
		RegionsFree(&r);
	}
}

void
RuntimeResidentUnmapAll(Runtime *rt)
{
	Unmap(rt, true);
}

int
RuntimeUnmapFiles(Runtime *rt)
{
	if (rt == NULL)
		return EINVAL;
	if (!RuntimeIsOwn(rt))
		return EOWNERDEAD;
	Unmap(rt, false);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Views (runtime.h): the bytes of pages the sweep saw resident, in place
 * ------------------------------------------------------------------------- */

void
RuntimeViewInit(RuntimeView *view)
{
	memset(view, 0, sizeof(*view));
	view->slot = -1;
}

int
RuntimeViewPin(Runtime *rt, int fd, RuntimeView *view, RuntimeError *error)
{
	RuntimeMapping *m = NULL;
	unsigned char vec[VEC_PAGES];

	if (rt == NULL || view == NULL || view->base != NULL)
		return RuntimeErrorSet(error, EINVAL, "expected a runtime and a view not pinned");
	if (!RuntimeIsOwn(rt))
		return RuntimeErrorSet(error, EOWNERDEAD,
							   "the runtime belongs to process %d, inherited through fork()",
							   rt->pid);
	view->rt = rt;
	view->shown = 0;
	if (!rt->config.mmap_resident)
		return 0;

	/* the entry pinned last time, if it is still there: no fstat */
	pthread_mutex_lock(&rt->mu);
	if (view->slot >= 0 && view->slot < RUNTIME_MAP_SLOTS)
	{
		RuntimeMapping *s = &rt->maps[view->slot];

		if (s->used && s->base != NULL && s->generation == view->generation)
		{
			s->pins++;
			s->stamp = ++rt->map_clock;
			m = s;
		}
	}
	pthread_mutex_unlock(&rt->mu);
	if (m == NULL)
	{
		m = MapPin(rt, fd);
		view->slot = m == NULL ? -1 : (int) (m - rt->maps);
		if (m == NULL)
			return 0;
		view->generation = m->generation;
	}
	view->base = m->base;
	view->size = (uint64_t) m->size;
	view->pinned_at = NowNs();
	SweepStep(rt, m, vec);
	return 0;
}

const void *
RuntimeViewBytes(RuntimeView *view, uint64_t offset, size_t length)
{
	uint64_t	ps;

	if (view->base == NULL || length == 0 || offset >= view->size ||
		length > view->size - offset)
		return NULL;
	ps = view->rt->page_size;
	if (!SeenResident(view->rt, &view->rt->maps[view->slot], offset / ps,
					  (offset + length + ps - 1) / ps, view->pinned_at))
		return NULL;
	view->shown++;
	return view->base + offset;
}

void
RuntimeViewUnpin(RuntimeView *view)
{
	Runtime    *rt = view->rt;

	if (view->base == NULL)
		return;
	pthread_mutex_lock(&rt->mu);
	rt->maps[view->slot].pins--;
	rt->viewed_reads += view->shown;
	pthread_mutex_unlock(&rt->mu);
	view->base = NULL;
	view->shown = 0;
}
