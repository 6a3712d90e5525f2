/*
 * commit.c
 *	  Durable, exclusive creation of immutable files, and the commit of a
 *	  manifest as a new dataset version.
 *
 * The rule this file enforces: a published file is never overwritten.  A
 * version exists once _versions/<name>.manifest exists, so committing a
 * version means creating that name atomically and failing with EEXIST if
 * another writer (LanceDB or another backend) got there first.  We write the
 * bytes to a temp file in the same directory (its name does not end in
 * "manifest", so readers listing _versions/ skip it), fsync it, then link()
 * it to the final name -- link fails with EEXIST instead of replacing, which
 * rename() would do silently.  Where hard links are not supported we fall
 * back to renameat2(RENAME_NOREPLACE), which has the same semantics.  The
 * directory is fsynced afterwards so the new name survives a crash.
 * (Fact sheet 3.5: this is what lance 8 itself does on a local filesystem.)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE			/* renameat2, RENAME_NOREPLACE */
#endif
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"

#define HINT_FILE "latest_version_hint.json"

int
LancePathJoin(char *buffer, size_t size, const char *dir, const char *name, LanceError *error)
{
	int			n = snprintf(buffer, size, "%s/%s", dir, name);

	if (n < 0 || (size_t) n >= size)
		return LanceErrorSet(error, ENAMETOOLONG, "path too long: %s/%s", dir, name);
	return 0;
}

int
LanceFileReadAll(const char *path, const LanceAllocator *a, uint8_t **bytes, size_t *len,
				 LanceError *error)
{
	struct stat st;
	uint8_t    *buf;
	size_t		done = 0;
	int			fd;
	int			rc;

	*bytes = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		rc = errno;
		return LanceErrorSet(error, rc, "could not open \"%s\": %s", path, strerror(rc));
	}
	if (fstat(fd, &st) != 0)
	{
		rc = errno;
		close(fd);
		return LanceErrorSet(error, rc, "could not stat \"%s\": %s", path, strerror(rc));
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		return LanceErrorSet(error, EINVAL, "expected a regular file but \"%s\" is not one", path);
	}
	buf = LanceAlloc(a, (size_t) st.st_size);
	if (buf == NULL)
	{
		close(fd);
		return LanceErrorSet(error, ENOMEM, "out of memory reading \"%s\"", path);
	}
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, (size_t) st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			rc = n < 0 ? errno : EIO;
			close(fd);
			LanceFree(a, buf, (size_t) st.st_size);
			return LanceErrorSet(error, rc, "could not read \"%s\": %s", path,
							n < 0 ? strerror(rc) : "file shrank while reading");
		}
		done += (size_t) n;
	}
	close(fd);
	*bytes = buf;
	*len = done;
	return 0;
}

static int
write_all(int fd, const uint8_t *bytes, size_t len)
{
	while (len > 0)
	{
		ssize_t		n = write(fd, bytes, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		bytes += n;
		len -= (size_t) n;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int			rc = 0;

	if (fd < 0)
		return errno;
	if (fsync(fd) != 0)
		rc = errno;
	close(fd);
	return rc;
}

/* A temp name unique across processes and threads; never ends in "manifest". */
static int
temp_name(char *buffer, size_t size, const char *dir, const char *name, LanceError *error)
{
	static atomic_uint counter;
	struct timespec ts;
	int			n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buffer, size, "%s/.%s.%ld.%u.%ld.tmp", dir, name, (long) getpid(),
				 atomic_fetch_add(&counter, 1), (long) ts.tv_nsec);
	if (n < 0 || (size_t) n >= size)
		return LanceErrorSet(error, ENAMETOOLONG, "path too long: %s/%s", dir, name);
	return 0;
}

int
LanceFileCreateAtomic(const char *dir, const char *name, const uint8_t *bytes, size_t len,
					  LanceError *error)
{
	char		tmp[4096];
	char		final[4096];
	int			fd;
	int			rc;

	if ((rc = temp_name(tmp, sizeof(tmp), dir, name, error)) != 0 ||
		(rc = LancePathJoin(final, sizeof(final), dir, name, error)) != 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		rc = errno;
		return LanceErrorSet(error, rc, "could not create \"%s\": %s", tmp, strerror(rc));
	}
	rc = write_all(fd, bytes, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = errno;
	if (close(fd) != 0 && rc == 0)
		rc = errno;
	if (rc != 0)
	{
		unlink(tmp);
		return LanceErrorSet(error, rc, "could not write \"%s\": %s", tmp, strerror(rc));
	}

	if (link(tmp, final) != 0)
	{
		rc = errno;
		if (rc == EPERM || rc == ENOTSUP || rc == EOPNOTSUPP || rc == EMLINK || rc == ENOSYS)
		{
			/* no hard links here: an exclusive rename does the same */
			rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0 ? 0 : errno;
			if (rc == 0)
				goto published;
		}
		unlink(tmp);
		if (rc == EEXIST)
			return LanceErrorSet(error, EEXIST, "\"%s\" exists already (another writer committed first)",
							final);
		return LanceErrorSet(error, rc, "could not publish \"%s\": %s", final, strerror(rc));
	}
	unlink(tmp);
published:
	rc = fsync_dir(dir);
	if (rc != 0)
		return LanceErrorSet(error, rc, "could not fsync directory \"%s\": %s", dir, strerror(rc));
	return 0;
}

static int
make_dir(const char *path, LanceError *error)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
	{
		int			rc = errno;

		return LanceErrorSet(error, rc, "could not create directory \"%s\": %s", path, strerror(rc));
	}
	return 0;
}

/*
 * latest_version_hint.json is only a hint (readers scan _versions/ anyway),
 * so it may be replaced with rename(); failures are ignored.
 */
static void
write_hint(const char *versions_dir, uint64_t version)
{
	char		tmp[4096];
	char		final[4096];
	char		text[64];
	int			n;
	int			fd;

	if (temp_name(tmp, sizeof(tmp), versions_dir, HINT_FILE, NULL) != 0 ||
		LancePathJoin(final, sizeof(final), versions_dir, HINT_FILE, NULL) != 0)
		return;
	n = snprintf(text, sizeof(text), "{\"version\":%" PRIu64 "}", version);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write_all(fd, (const uint8_t *) text, (size_t) n) != 0 || fsync(fd) != 0)
	{
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, final) != 0)
		unlink(tmp);
}

int
LanceManifestCommit(const char *dataset_dir, const LanceManifest *manifest,
					LanceVersionNaming naming, LanceError *error)
{
	char		versions_dir[4096];
	char		name[64];
	uint8_t    *bytes;
	size_t		len;
	int			rc;

	if (manifest->version == 0)
		return LanceErrorSet(error, EINVAL, "expected a manifest version >= 1 but found 0");
	if (naming == LANCE_NAMING_NONE)
		naming = LANCE_NAMING_V2;
	if ((rc = make_dir(dataset_dir, error)) != 0 ||
		(rc = LancePathJoin(versions_dir, sizeof(versions_dir), dataset_dir, "_versions",
							error)) != 0 ||
		(rc = make_dir(versions_dir, error)) != 0 ||
		(rc = LanceVersionFormatName(naming, manifest->version, name, sizeof(name), error)) != 0)
		return rc;
	rc = LanceManifestEncode(manifest, &bytes, &len, error);
	if (rc != 0)
		return rc;
	rc = LanceFileCreateAtomic(versions_dir, name, bytes, len, error);
	LanceBytesFree(manifest->allocator, bytes, len);
	if (rc == 0)
		write_hint(versions_dir, manifest->version);
	return rc;
}
