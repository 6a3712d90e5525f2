/*
 * side_fs.c
 *	  File-system operations on side storage, shared by the writer
 *	  (side_file.c), redo (side_wal.c) and garbage collection (side_gc.c):
 *	  paths, durable directory creation, writes and removals.
 *
 * Durability follows PostgreSQL's own rules: a new directory entry is made
 * durable by fsyncing its parent, and a failed fsync of data is raised at
 * data_sync_elevel (PANIC unless data_sync_retry), since the kernel may have
 * dropped the dirty pages.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/string.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/side_internal.h"

char *
SideStoragePath(Oid dboid, SideStorageId storage_id, const char *name)
{
	if (storage_id == InvalidSideStorageId)
		return psprintf("%s/%u", SIDE_STORAGE_DIR, dboid);
	if (name == NULL)
		return psprintf("%s/%u/" UINT64_FORMAT, SIDE_STORAGE_DIR, dboid, storage_id);
	return psprintf("%s/%u/" UINT64_FORMAT "/%s", SIDE_STORAGE_DIR, dboid, storage_id, name);
}

/* mkdir that tolerates an existing directory; true if it made one. */
static bool
MakeDirectory(const char *path)
{
	if (MakePGDirectory(path) == 0)
		return true;
	if (errno == EEXIST)
		return false;
	ereport(ERROR,
			(errcode_for_file_access(),
			 errmsg("could not create directory \"%s\": %m", path)));
	return false;
}

void
SideFsEnsureDir(Oid dboid, SideStorageId storage_id)
{
	char	   *db_dir = SideStoragePath(dboid, InvalidSideStorageId, NULL);
	char	   *storage_dir = SideStoragePath(dboid, storage_id, NULL);

	/* each new entry is durable once its parent is fsynced */
	if (MakeDirectory(SIDE_STORAGE_DIR))
		fsync_fname(".", true);
	if (MakeDirectory(db_dir))
		fsync_fname(SIDE_STORAGE_DIR, true);
	if (MakeDirectory(storage_dir))
		fsync_fname(db_dir, true);
	pfree(db_dir);
	pfree(storage_dir);
}

bool
SideFsNameIsValid(const char *name, size_t len)
{
	if (len == 0 || len >= SIDE_FILE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return false;
	return true;
}

bool
SideFsNameCreator(const char *name, FullTransactionId *creator)
{
	const char *p = name;
	uint64		fxid = 0;
	int			digits = 0;

	if (strncmp(p, PG_TEMP_FILE_PREFIX, strlen(PG_TEMP_FILE_PREFIX)) == 0)
		p += strlen(PG_TEMP_FILE_PREFIX);
	for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++)
		fxid = fxid * 10 + (uint64) (*p - '0');
	if (digits == 0 || *p != '_')
		return false;
	*creator = FullTransactionIdFromU64(fxid);
	return true;
}

void
SideFsPwrite(int fd, const void *data, size_t length, uint64 offset, const char *path)
{
	size_t		done = 0;

	while (done < length)
	{
		ssize_t		n = pg_pwrite(fd, (const char *) data + done, length - done,
								  (off_t) (offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			if (n == 0)
				errno = ENOSPC;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write file \"%s\": %m", path)));
		}
		done += n;
	}
}

void
SideFsWriteAt(const char *path, uint64 offset, const void *data, size_t length)
{
	int			fd = OpenTransientFile(path, O_WRONLY | O_CREAT | PG_BINARY);

	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	SideFsPwrite(fd, data, length, offset, path);
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", path)));
	CloseTransientFile(fd);
}

bool
SideFsChecksum(const char *path, uint64 *size, uint32 *crc)
{
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	char	   *buf;
	pg_crc32c	c;
	uint64		total = 0;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	}
	buf = palloc(BLCKSZ * 16);
	INIT_CRC32C(c);
	for (;;)
	{
		ssize_t		n = read(fd, buf, BLCKSZ * 16);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", path)));
		if (n == 0)
			break;
		COMP_CRC32C(c, buf, n);
		total += n;
	}
	FIN_CRC32C(c);
	CloseTransientFile(fd);
	pfree(buf);
	*size = total;
	*crc = c;
	return true;
}

void
SideFsUnlink(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove file \"%s\": %m", path)));
}

void
SideFsSyncDir(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		fsync_fname(path, true);
}

void
SideFsRemoveTree(const char *path)
{
	struct stat st;
	char	   *parent;
	char	   *slash;

	if (lstat(path, &st) != 0)
	{
		if (errno == ENOENT)
			return;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat directory \"%s\": %m", path)));
	}
	if (!rmtree(path, true))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove directory \"%s\"", path)));
	parent = pstrdup(path);
	slash = strrchr(parent, '/');
	if (slash != NULL)
	{
		*slash = '\0';
		SideFsSyncDir(parent);
	}
	pfree(parent);
}
