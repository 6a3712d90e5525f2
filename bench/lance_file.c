/*
 * lance_file.c
 *	  Benchmark of the Lance data file writer and reader on a Fashion-MNIST
 *	  sized table: 60,000 rows of (id int64, vec fixed_size_list<float,784>),
 *	  format 2.1.  Every figure is a ratio against plain read()/pread()/
 *	  write() of the same bytes measured in the same run:
 *	    write        LanceFileWriter vs write() of the raw bytes
 *	    full scan    ReadRange of the vector column in 4,096-row batches vs
 *	                 a sequential read() loop over the same number of bytes
 *	    random take  Take of 10,000 random rows (one call, unsorted) vs
 *	                 10,000 preads of one vector each at the same positions,
 *	                 each into its slot of a newly allocated result array
 *	                 (both deliver the same 31 MB of vectors in memory)
 *	  Files go to $TMPDIR (default /tmp), page cache warm (written first).
 *	  Goals: scan >= 80% of plain read, random take >= 50% of plain preads.
 */
#include "lance/lance_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROWS 60000
#define DIM 784
#define TAKE 10000
#define BATCH 4096
#define REPEAT 10

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
check(int rc, const LanceError *e, const char *what)
{
	if (rc != 0)
	{
		fprintf(stderr, "%s failed: %s\n", what, e->message);
		exit(1);
	}
}

static uint64_t rng = 88172645463325252ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char		lpath[512],
				rpath[512];
	size_t		vbytes = (size_t) ROWS * DIM * sizeof(float);
	float	   *vec = malloc(vbytes);
	int64_t    *ids = malloc(ROWS * sizeof(int64_t));
	uint64_t   *rows = malloc(TAKE * sizeof(uint64_t));
	LanceSchema schema;
	LanceField	f;
	LanceColumn cols[2],
				child;
	LanceError	e;
	LanceFileWriter *w;
	LanceFileReader *r;
	LanceFileIo io;
	uint64_t	fsize = 0;
	double		t,
				best_w = 1e9,
				best_pw = 1e9,
				best_s = 1e9,
				best_ps = 1e9,
				best_t = 1e9,
				best_pt = 1e9;
	int			fd;
	uint8_t    *buf = malloc(8 << 20);
	double		checksum = 0;

	snprintf(lpath, sizeof(lpath), "%s/bench_lance_file.lance", tmp);
	snprintf(rpath, sizeof(rpath), "%s/bench_lance_file.raw", tmp);
	for (size_t i = 0; i < (size_t) ROWS * DIM; i++)
		vec[i] = (float) (rnd() % 256) / 255.0f;
	for (int64_t i = 0; i < ROWS; i++)
		ids[i] = i;
	for (int i = 0; i < TAKE; i++)
		rows[i] = rnd() % ROWS;

	LanceSchemaInit(&schema, NULL);
	memset(&f, 0, sizeof(f));
	f.name = "id";
	f.parent_id = -1;
	f.type = LANCE_TYPE_INT64;
	LanceSchemaAddField(&schema, &f, NULL);
	f.name = "vec";
	f.id = 1;
	f.type = LANCE_TYPE_FIXED_SIZE_LIST;
	f.item_type = LANCE_TYPE_FLOAT32;
	f.list_size = DIM;
	LanceSchemaAddField(&schema, &f, NULL);
	memset(cols, 0, sizeof(cols));
	memset(&child, 0, sizeof(child));
	child.type = LANCE_TYPE_FLOAT32;
	child.length = (int64_t) ROWS * DIM;
	child.values = vec;
	cols[0].type = LANCE_TYPE_INT64;
	cols[0].length = ROWS;
	cols[0].values = ids;
	cols[1].type = LANCE_TYPE_FIXED_SIZE_LIST;
	cols[1].length = ROWS;
	cols[1].child = &child;
	cols[1].list_size = DIM;

	for (int rep = 0; rep < REPEAT; rep++)
	{
		/* write: Lance, in batches of BATCH rows */
		t = now();
		check(LanceFileWriterOpenPath(&w, lpath, &schema, NULL, &e), &e, "open writer");
		for (int64_t start = 0; start < ROWS; start += BATCH)
		{
			LanceColumn b[2] = {cols[0], cols[1]};
			int64_t		n = ROWS - start < BATCH ? ROWS - start : BATCH;

			b[0].offset = b[1].offset = start;
			b[0].length = b[1].length = n;
			check(LanceFileWriterWrite(w, b, 2, &e), &e, "write");
		}
		check(LanceFileWriterFinish(w, &fsize, &e), &e, "finish");
		LanceFileWriterClose(w);
		t = now() - t;
		best_w = t < best_w ? t : best_w;

		/* write: plain */
		t = now();
		fd = open(rpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		for (size_t off = 0; off < vbytes; off += 8 << 20)
		{
			size_t		n = vbytes - off < (8u << 20) ? vbytes - off : (8u << 20);

			if (write(fd, (uint8_t *) vec + off, n) != (ssize_t) n)
				return 1;
		}
		if (write(fd, ids, ROWS * 8) != ROWS * 8)
			return 1;
		close(fd);
		t = now() - t;
		best_pw = t < best_pw ? t : best_pw;

		/* full scan: Lance */
		fd = open(lpath, O_RDONLY);
		check(LanceFileIoInitFd(&io, fd, &e), &e, "io");
		check(LanceFileReaderOpen(&r, &io, NULL, &e), &e, "open reader");
		t = now();
		for (uint64_t start = 0; start < ROWS; start += BATCH)
		{
			LanceArray	a;
			uint64_t	n = ROWS - start < BATCH ? ROWS - start : BATCH;

			LanceArrayInit(&a, NULL);
			check(LanceFileReaderReadRange(r, 1, start, n, &a, &e), &e, "scan");
			checksum += ((const float *) a.column.child->values)[n * DIM - 1];
			LanceArrayReset(&a);
		}
		t = now() - t;
		best_s = t < best_s ? t : best_s;

		/* random take: Lance */
		t = now();
		{
			LanceArray	a;

			LanceArrayInit(&a, NULL);
			check(LanceFileReaderTake(r, 1, rows, TAKE, &a, &e), &e, "take");
			checksum += ((const float *) a.column.child->values)[5];
			LanceArrayReset(&a);
		}
		t = now() - t;
		best_t = t < best_t ? t : best_t;
		LanceFileReaderClose(r);
		close(fd);

		/* full scan: plain read() of the same number of bytes */
		fd = open(rpath, O_RDONLY);
		t = now();
		for (size_t off = 0; off < vbytes;)
		{
			size_t		want = vbytes - off < (8u << 20) ? vbytes - off : (8u << 20);
			ssize_t		n = read(fd, buf, want);

			if (n <= 0)
				return 1;
			checksum += buf[n - 1];
			off += (size_t) n;
		}
		t = now() - t;
		best_ps = t < best_ps ? t : best_ps;

		/* random: 10,000 preads, each vector into its slot of a new result array */
		t = now();
		{
			float	   *result = malloc((size_t) TAKE * DIM * sizeof(float));

			for (int i = 0; i < TAKE; i++)
				if (pread(fd, result + (size_t) i * DIM, DIM * sizeof(float),
						  (off_t) (rows[i] * DIM * sizeof(float))) != (ssize_t) (DIM * sizeof(float)))
					return 1;
			checksum += result[3];
			free(result);
		}
		t = now() - t;
		best_pt = t < best_pt ? t : best_pt;
		close(fd);
	}

	printf("Lance data file benchmark: %d x %d float32 vectors + int64 ids, format 2.1 "
		   "(%.1f MB file), best of %d, page cache warm\n",
		   ROWS, DIM, fsize / 1e6, REPEAT);
	printf("%-34s %12s %12s %8s\n", "operation", "lance", "plain I/O", "ratio");
	printf("%-34s %9.0f MB/s %9.0f MB/s %7.0f%%\n", "write (vs write())",
		   vbytes / 1e6 / best_w, vbytes / 1e6 / best_pw, 100 * best_pw / best_w);
	printf("%-34s %9.0f MB/s %9.0f MB/s %7.0f%%   (goal >= 80%%)\n", "full scan of vec (vs read())",
		   vbytes / 1e6 / best_s, vbytes / 1e6 / best_ps, 100 * best_ps / best_s);
	printf("%-34s %9.0f op/s %9.0f op/s %7.0f%%   (goal >= 50%%)\n", "10,000 random vectors (vs pread)",
		   TAKE / best_t, TAKE / best_pt, 100 * best_pt / best_t);
	printf("(checksum %g)\n", checksum);
	unlink(lpath);
	unlink(rpath);
	LanceSchemaReset(&schema);
	free(vec);
	free(ids);
	free(rows);
	free(buf);
	return 0;
}
