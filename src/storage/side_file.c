/*
 * side_file.c
 *	  Writing, listing, retiring, opening and prewarming the files of a
 *	  relation's side storage (the protocol is in side_storage.h).
 *
 * A file is written under a temporary name (PG_TEMP_FILE_PREFIX, which
 * pg_basebackup skips), fsynced and renamed durably to its final name; only
 * then are its bytes logged, read back in SIDE_WAL_CHUNK pieces, followed by
 * a DONE record and the catalog row.  Logging after the file is durable is
 * what makes a checkpoint (or the start of a base backup) harmless between
 * any two steps: WAL before the redo pointer describes a file that is
 * already complete on disk, and WAL after it rebuilds the file whole.
 *
 * Names are "<full xid>_<pid>_<n>.lance": garbage collection tells from the
 * name whether the creating transaction may still be running, and the pid
 * keeps parallel workers of one transaction apart.
 *
 * A file is written once, front to back, and read back once, for WAL; scans
 * read it later through the I/O runtime.  So a file that outgrows one
 * staging buffer (DIRECT_STAGE) is written and read back around the page
 * cache (O_DIRECT) where the file system allows it, in aligned blocks from
 * that buffer: an index build of hundreds of megabytes then does not first
 * fill as much page cache, and on a virtual machine fresh memory, not the
 * disk, is what makes such writes slow.  The last block is written whole and
 * the file truncated to its size.  A smaller file is written from the buffer
 * in one write, through the page cache, and read back from there.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "compat.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/io.h"
#include "storage/side_internal.h"
#include "storage/side_wal.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* Direct I/O: offsets, lengths and buffer addresses in multiples of this */
#define DIRECT_ALIGN 4096
/* Bytes staged before a direct write: a multiple of DIRECT_ALIGN */
#define DIRECT_STAGE (4 * 1024 * 1024)

struct SideFileWriter
{
	SideStorageId storage_id;
	char		name[SIDE_FILE_NAME_MAX];
	char	   *temp_path;
	char	   *path;
	int			fd;
	uint64		size;			/* bytes given to SideFileWrite */
	pg_crc32c	crc;
	char	   *stage;			/* DIRECT_STAGE bytes, aligned */
	void	   *stage_block;	/* the palloc'd block that holds them */
	size_t		staged;			/* the last 'staged' of 'size' bytes, not written yet */
	bool		direct;			/* O_DIRECT on since the first full stage */
};

static uint32 files_created;

/*
 * Turns direct I/O on (or off) for fd.  On only where the file system has
 * it with alignments that DIRECT_ALIGN satisfies: statx says which it needs
 * where the kernel tells (blocks larger than DIRECT_ALIGN need more), and
 * fcntl fails with EINVAL where there is none at all (tmpfs).  false: the
 * file stays buffered.
 */
static bool
SetDirect(int fd, bool on)
{
#if PG_O_DIRECT != 0 && !defined(PG_O_DIRECT_USE_F_NOCACHE)
	int			flags;

#ifdef STATX_DIOALIGN
	struct statx st;

	if (on && statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &st) == 0 &&
		(st.stx_mask & STATX_DIOALIGN) != 0 &&
		(st.stx_dio_offset_align == 0 || DIRECT_ALIGN % st.stx_dio_offset_align != 0 ||
		 st.stx_dio_mem_align == 0 || DIRECT_ALIGN % st.stx_dio_mem_align != 0))
		return false;
#endif
	flags = fcntl(fd, F_GETFL);
	return flags >= 0 &&
		fcntl(fd, F_SETFL, on ? flags | PG_O_DIRECT : flags & ~PG_O_DIRECT) == 0 && on;
#else
	(void) fd;
	(void) on;
	return false;
#endif
}

/* 'size' bytes aligned for direct I/O, in *block (palloc'd, for pfree) */
static char *
AlignedAlloc(size_t size, void **block)
{
	*block = palloc(size + DIRECT_ALIGN);
	return (char *) TYPEALIGN(DIRECT_ALIGN, *block);
}

static void
WriteStage(SideFileWriter *writer, size_t length)
{
	uint64		offset = writer->size - writer->staged;

	/*
	 * A direct write turned down after all (EINVAL: an alignment statx did
	 * not tell), or cut short: the stage and the rest of the file go through
	 * the page cache, where any other error is reported.
	 */
	if (writer->direct &&
		pg_pwrite(writer->fd, writer->stage, length, (off_t) offset) != (ssize_t) length)
		writer->direct = SetDirect(writer->fd, false);
	if (!writer->direct)
		SideFsPwrite(writer->fd, writer->stage, length, offset, writer->temp_path);
	writer->staged = 0;
}

SideFileWriter *
SideFileCreate(Relation rel)
{
	SideFileWriter *writer = palloc0(sizeof(SideFileWriter));
	FullTransactionId fxid = GetTopFullTransactionId();
	struct stat st;

	writer->storage_id = SideStorageGetId(rel);
	SideFsEnsureDir(MyDatabaseId, writer->storage_id);

	/*
	 * An xid that never reached WAL is handed out again after a crash, so a
	 * name can be taken by a crashed transaction's leftover: skip it.
	 */
	for (;;)
	{
		char	   *temp_name;

		snprintf(writer->name, sizeof(writer->name), UINT64_FORMAT "_%d_%u.lance",
				 U64FromFullTransactionId(fxid), MyProcPid, files_created++);
		temp_name = psprintf("%s%s", PG_TEMP_FILE_PREFIX, writer->name);
		writer->temp_path = SideStoragePath(MyDatabaseId, writer->storage_id, temp_name);
		writer->path = SideStoragePath(MyDatabaseId, writer->storage_id, writer->name);
		pfree(temp_name);
		if (stat(writer->path, &st) != 0)
		{
			writer->fd = OpenTransientFile(writer->temp_path,
										   O_WRONLY | O_CREAT | O_EXCL | PG_BINARY);
			if (writer->fd >= 0)
				break;
			if (errno != EEXIST)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not create file \"%s\": %m", writer->temp_path)));
		}
		pfree(writer->temp_path);
		pfree(writer->path);
	}
	INIT_CRC32C(writer->crc);
	writer->stage = AlignedAlloc(DIRECT_STAGE, &writer->stage_block);
	return writer;
}

void
SideFileWrite(SideFileWriter *writer, const void *data, size_t length)
{
	const char *bytes = data;

	COMP_CRC32C(writer->crc, data, length);
	while (length > 0)
	{
		size_t		n = Min(length, DIRECT_STAGE - writer->staged);

		memcpy(writer->stage + writer->staged, bytes, n);
		writer->staged += n;
		writer->size += n;
		bytes += n;
		length -= n;
		if (writer->staged == DIRECT_STAGE)
		{
			/* the stage starts at offset 0: aligned */
			if (writer->size == DIRECT_STAGE)
				writer->direct = SetDirect(writer->fd, true);
			WriteStage(writer, DIRECT_STAGE);
		}
	}
}

int
SideFileLanceSink(void *ctx, const void *data, size_t length)
{
	SideFileWrite((SideFileWriter *) ctx, data, length);
	return 0;
}

/*
 * Chunks read ahead of the one being logged: a build's file is read back
 * from the disk (it went around the page cache) while the WAL of the
 * chunks before it is inserted, instead of each read waiting its turn.
 */
#define READ_AHEAD 4

/* Starts reading the chunk at 'offset' through the I/O runtime */
static LanceIoBatch *
ReadChunk(int fd, uint64 offset, uint64 size)
{
	/*
	 * Whole blocks, so that a direct read stays aligned: the runtime reads
	 * a batch's first read into page-aligned memory (src/runtime/README).
	 * The last one asks past the end and comes back short.
	 */
	size_t		length = TYPEALIGN(DIRECT_ALIGN, Min((uint64) SIDE_WAL_CHUNK, size - offset));
	LanceIoBatch *batch = LanceIoBatchBegin(1, length);

	LanceIoBatchRead(batch, fd, (int64) offset, length);
	LanceIoBatchSubmit(batch);
	return batch;
}

/*
 * A file's chunks read through the I/O runtime in order, READ_AHEAD of them
 * in flight, so that the disk works while the caller uses the chunk at the
 * front.
 */
typedef struct ChunkReader
{
	int			fd;
	uint64		size;
	LanceIoBatch *ahead[READ_AHEAD];
	int			first;			/* ahead[first] holds the chunk at 'offset' */
	int			count;			/* chunks in flight */
	uint64		offset;			/* of the chunk at the front */
	uint64		next;			/* the next chunk to start reading */
} ChunkReader;

static void
ChunkReaderInit(ChunkReader *reader, int fd, uint64 size)
{
	memset(reader, 0, sizeof(ChunkReader));
	reader->fd = fd;
	reader->size = size;
}

/* Bytes the chunk at the front should have: the file's size caps the last */
static uint32
ChunkReaderWant(const ChunkReader *reader)
{
	return (uint32) Min((uint64) SIDE_WAL_CHUNK, reader->size - reader->offset);
}

/* The finished read of the chunk at the front (the reader is not at the end) */
static LanceIoBatch *
ChunkReaderWait(ChunkReader *reader)
{
	for (; reader->count < READ_AHEAD && reader->next < reader->size;
		 reader->count++, reader->next += SIDE_WAL_CHUNK)
		reader->ahead[(reader->first + reader->count) % READ_AHEAD] =
			ReadChunk(reader->fd, reader->next, reader->size);
	LanceIoBatchWaitAll(reader->ahead[reader->first]);
	return reader->ahead[reader->first];
}

/* Done with the chunk at the front: on to the next */
static void
ChunkReaderAdvance(ChunkReader *reader)
{
	reader->offset += ChunkReaderWant(reader);
	LanceIoBatchEnd(reader->ahead[reader->first]);
	reader->first = (reader->first + 1) % READ_AHEAD;
	reader->count--;
}

/* Drops the reads in flight; the next wait reads again from the front */
static void
ChunkReaderRestart(ChunkReader *reader)
{
	for (; reader->count > 0; reader->count--, reader->first = (reader->first + 1) % READ_AHEAD)
		LanceIoBatchEnd(reader->ahead[reader->first]);
	reader->next = reader->offset;
}

/* The chunk at the front, whole, or ERROR: the file lost bytes written to it */
static const void *
ChunkReaderData(ChunkReader *reader, LanceIoBatch *batch, const char *path)
{
	size_t		got;
	const void *data = LanceIoBatchData(batch, 0, &got);

	if (got < ChunkReaderWant(reader))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("file \"%s\" is shorter than the %llu bytes written to it",
						path, (unsigned long long) reader->size)));
	return data;
}

/*
 * Log the published file's bytes, read back chunk by chunk the way they were
 * written: around the page cache if they went around it (see the header
 * comment).
 */
static void
LogFileContents(SideFileWriter *writer)
{
	int			fd = OpenTransientFile(writer->path, O_RDONLY | PG_BINARY);
	ChunkReader reader;
	bool		direct;

	StaticAssertStmt(SIDE_WAL_CHUNK % DIRECT_ALIGN == 0, "chunks must keep reads aligned");
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", writer->path)));
	direct = writer->direct && SetDirect(fd, true);
	ChunkReaderInit(&reader, fd, writer->size);
	while (reader.offset < writer->size)
	{
		LanceIoBatch *batch = ChunkReaderWait(&reader);

		/* a direct read turned down after all: read through the page cache */
		if (direct && LanceIoBatchError(batch, 0) == EINVAL)
		{
			ChunkReaderRestart(&reader);
			direct = SetDirect(fd, false);
			continue;
		}
		SideWalLogWrite(MyDatabaseId, writer->storage_id, writer->name, reader.offset,
						ChunkReaderData(&reader, batch, writer->path),
						ChunkReaderWant(&reader));
		ChunkReaderAdvance(&reader);
		CHECK_FOR_INTERRUPTS();
	}
	CloseTransientFile(fd);
}

char *
SideFileFinish(SideFileWriter *writer)
{
	char	   *name = pstrdup(writer->name);

	FIN_CRC32C(writer->crc);
	if (!writer->direct)
		WriteStage(writer, writer->staged);
	else if (writer->staged > 0)
	{
		/* the last block whole, then the file cut to its size */
		size_t		whole = TYPEALIGN(DIRECT_ALIGN, writer->staged);

		memset(writer->stage + writer->staged, 0, whole - writer->staged);
		WriteStage(writer, whole);
		if (ftruncate(writer->fd, (off_t) writer->size) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not truncate file \"%s\": %m", writer->temp_path)));
	}
	if (pg_fsync(writer->fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", writer->temp_path)));
	if (CloseTransientFile(writer->fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", writer->temp_path)));
	writer->fd = -1;
	/* fsyncs the file and its directory: the file is durable under its name */
	durable_rename(writer->temp_path, writer->path, ERROR);
	SideCrashPointReached(SIDE_CRASH_AFTER_FILE);

	/* with wal_level minimal nothing replays the bytes: the file is durable */
	if (XLogIsNeeded())
		LogFileContents(writer);
	SideWalLogDone(MyDatabaseId, writer->storage_id, writer->name, writer->size, writer->crc);
	SideCrashPointReached(SIDE_CRASH_AFTER_WAL);

	SideCatalogInsertFile(writer->storage_id, writer->name, (int64) writer->size);
	SideCrashPointReached(SIDE_CRASH_AFTER_CATALOG);

	pfree(writer->stage_block);
	pfree(writer->temp_path);
	pfree(writer->path);
	pfree(writer);
	return name;
}

List *
SideFileList(Relation rel, Snapshot snapshot)
{
	return SideCatalogListFiles(SideStorageGetId(rel), snapshot);
}

void
SideFileRetire(Relation rel, const char *name)
{
	if (!SideCatalogRetireFile(SideStorageGetId(rel), name))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("side file \"%s\" of relation \"%s\" does not exist",
						name, RelationGetRelationName(rel))));
}

int
SideFileOpen(Relation rel, const char *name, off_t *size)
{
	char	   *path = SideStoragePath(MyDatabaseId, SideStorageGetId(rel), name);
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	struct stat st;

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open side file \"%s\" of relation \"%s\": %m",
						path, RelationGetRelationName(rel))));
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	*size = st.st_size;
	pfree(path);
	return fd;
}

/* Reads every file 'snapshot' sees into the page cache; returns their bytes */
static int64
PrewarmFiles(Relation rel, Snapshot snapshot)
{
	List	   *files = SideFileList(rel, snapshot);
	int64		total = 0;
	ListCell   *lc;

	foreach(lc, files)
	{
		SideFileEntry *entry = lfirst(lc);
		char	   *path = SideStoragePath(MyDatabaseId, SideStorageGetId(rel), entry->name);
		off_t		size;
		int			fd = SideFileOpen(rel, entry->name, &size);
		ChunkReader reader;

		/* the page cache keeps what is read: the bytes themselves are dropped */
		ChunkReaderInit(&reader, fd, (uint64) entry->size);
		while (reader.offset < reader.size)
		{
			(void) ChunkReaderData(&reader, ChunkReaderWait(&reader), path);
			ChunkReaderAdvance(&reader);
			CHECK_FOR_INTERRUPTS();
		}
		CloseTransientFile(fd);
		total += entry->size;
		pfree(path);
	}
	list_free_deep(files);
	return total;
}

int
SideFileCountOnDisk(Relation rel)
{
	char	   *path = SideStoragePath(MyDatabaseId, SideStorageGetId(rel), NULL);
	DIR		   *dir = AllocateDir(path);
	struct dirent *de;
	int			count = 0;

	if (dir == NULL && errno == ENOENT)
		return 0;
	while ((de = ReadDir(dir, path)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			count++;
	FreeDir(dir);
	pfree(path);
	return count;
}

/*
 * lancedb_prewarm(rel): what pg_prewarm(rel, 'read') does for a relation's
 * pages, for its side files.  A lance_ivf build writes its files around the
 * page cache (header comment), so a new index, like any after a reboot, is
 * read from the disk by its first queries; this reads it in ahead of them.
 * Like pg_prewarm it needs SELECT on the relation (on its table, for an
 * index).
 */
LANCEDB_FUNCTION(lancedb_prewarm);
Datum
lancedb_prewarm(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = relation_open(relid, AccessShareLock);
	Oid			checked = rel->rd_rel->relkind == RELKIND_INDEX ? rel->rd_index->indrelid : relid;
	AclResult	aclresult = pg_class_aclcheck(checked, GetUserId(), ACL_SELECT);
	int64		bytes;

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(checked)),
					   get_rel_name(checked));
	if (!SideCatalogHasStorage(relid, GetActiveSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" has no side storage", RelationGetRelationName(rel)),
				 errhint("Use pg_prewarm for the pages of a relation.")));
	bytes = PrewarmFiles(rel, GetActiveSnapshot());
	relation_close(rel, AccessShareLock);
	PG_RETURN_INT64(bytes);
}
