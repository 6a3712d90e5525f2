/*
 * bench_util.h
 *	  What the benchmarks share: a monotonic clock, a seeded generator, and
 *	  the file of numbered records that the read benchmarks (runtime.c,
 *	  warm_ceiling.c) read in one fixed random order.
 */
#ifndef LANCEDB_BENCH_UTIL_H
#define LANCEDB_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double
BenchNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* splitmix64: the same sequence for the same seed, every run */
static inline uint64_t
BenchNext(uint64_t *state)
{
	uint64_t	z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* order[0..n) = a permutation of 0..n-1 drawn from 'seed' (Fisher-Yates). */
static inline void
BenchShuffle(int *order, int n, uint64_t seed)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) (BenchNext(&seed) % (uint64_t) (i + 1));
		int			t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/*
 * An unlinked file DIR/NAME of 'nrec' records of 'rec' bytes, written and
 * fdatasynced (so that its pages can be dropped from the cache): record i
 * holds floats i, i+1, ... with its number i in its first four bytes.
 * Returns the fd, or -1 after printing why.
 */
static inline int
BenchRecordFile(const char *dir, const char *name, int nrec, int rec)
{
	char		path[4096];
	char	   *buf = malloc(rec);
	int			fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || buf == NULL)
	{
		fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	unlink(path);
	for (int i = 0; i < nrec; i++)
	{
		float	   *f = (float *) buf;

		for (int j = 0; j < rec / 4; j++)
			f[j] = (float) (i + j);
		memcpy(buf, &i, sizeof(i));
		if (pwrite(fd, buf, rec, (off_t) i * rec) != rec)
		{
			fprintf(stderr, "write failed: %s\n", strerror(errno));
			close(fd);
			free(buf);
			return -1;
		}
	}
	free(buf);
	fdatasync(fd);
	return fd;
}

#endif							/* LANCEDB_BENCH_UTIL_H */
