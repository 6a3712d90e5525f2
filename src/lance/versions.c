/*
 * versions.c
 *	  The _versions/ directory of a dataset: which versions exist, how their
 *	  manifest files are named, and reading the manifest of one of them.
 *
 * Two naming schemes exist (fact sheet 3.2):
 *	  V1  <version>.manifest                         (old tables)
 *	  V2  <2^64-1 - version, 20 digits>.manifest     (the default; newest sorts first)
 * A dataset keeps the scheme it has: LanceDB writes the next version of a V1
 * table as V1, so we do the same (the caller passes list.naming back to
 * LanceManifestCommit).  Everything else in the directory -- temp files of a
 * commit in progress, detached versions "d<n>.manifest", the version hint --
 * is not a committed version and is ignored.  A directory holding both
 * schemes is corrupt.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"

#define SUFFIX ".manifest"
#define SUFFIX_LEN 9
#define V2_DIGITS 20

/* Decimal digits only, no overflow; false otherwise. */
static bool
parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t	v = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		unsigned	d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned) (s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int
LanceVersionParseName(const char *name, uint64_t *version, LanceVersionNaming *naming)
{
	size_t		len = strlen(name);
	size_t		stem;
	uint64_t	v;

	if (len <= SUFFIX_LEN || strcmp(name + len - SUFFIX_LEN, SUFFIX) != 0)
		return ENOENT;
	stem = len - SUFFIX_LEN;
	if (!parse_u64(name, stem, &v))
		return ENOENT;
	if (stem == V2_DIGITS)
	{
		if (v == UINT64_MAX)
			return ENOENT;		/* would be version 0 */
		*version = UINT64_MAX - v;
		*naming = LANCE_NAMING_V2;
	}
	else
	{
		if (v == 0)
			return ENOENT;
		*version = v;
		*naming = LANCE_NAMING_V1;
	}
	return 0;
}

int
LanceVersionFormatName(LanceVersionNaming naming, uint64_t version, char *buffer,
					   size_t buffer_size, LanceError *error)
{
	int			n;

	if (version == 0)
		return LanceErrorSet(error, EINVAL, "expected a version >= 1 but found 0");
	if (naming == LANCE_NAMING_V1)
		n = snprintf(buffer, buffer_size, "%" PRIu64 SUFFIX, version);
	else if (naming == LANCE_NAMING_V2)
		n = snprintf(buffer, buffer_size, "%020" PRIu64 SUFFIX, UINT64_MAX - version);
	else
		return LanceErrorSet(error, EINVAL, "expected naming scheme V1 or V2 but found %d",
						(int) naming);
	if (n < 0 || (size_t) n >= buffer_size)
		return LanceErrorSet(error, ENAMETOOLONG, "buffer too small for a manifest name");
	return 0;
}

void
LanceVersionListReset(LanceVersionList *list)
{
	LanceFree(list->allocator, list->versions, sizeof(uint64_t) * (size_t) list->count);
	list->versions = NULL;
	list->count = 0;
	list->naming = LANCE_NAMING_NONE;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

int
LanceVersionListRead(const char *dataset_dir, LanceVersionList *list,
					 const LanceAllocator *allocator, LanceError *error)
{
	char		dir_path[4096];
	DIR		   *dir;
	struct dirent *de;
	int32_t		cap = 0;
	int			rc;

	memset(list, 0, sizeof(*list));
	list->allocator = allocator;
	rc = LancePathJoin(dir_path, sizeof(dir_path), dataset_dir, "_versions", error);
	if (rc != 0)
		return rc;
	dir = opendir(dir_path);
	if (dir == NULL)
	{
		rc = errno;
		if (rc == ENOENT)
			return 0;
		return LanceErrorSet(error, rc, "could not open \"%s\": %s", dir_path, strerror(rc));
	}
	while ((de = readdir(dir)) != NULL)
	{
		uint64_t	v;
		LanceVersionNaming naming;

		if (LanceVersionParseName(de->d_name, &v, &naming) != 0)
			continue;
		if (list->naming != LANCE_NAMING_NONE && list->naming != naming)
		{
			/* format before closedir: de points into the DIR */
			LanceErrorSet(error, EINVAL, "\"%s\" mixes V1 and V2 manifest names (found \"%s\")",
					 dir_path, de->d_name);
			closedir(dir);
			LanceFree(allocator, list->versions, sizeof(uint64_t) * (size_t) cap);
			memset(list, 0, sizeof(*list));
			list->allocator = allocator;
			return EINVAL;
		}
		list->naming = naming;
		if (list->count == cap)
		{
			int32_t		ncap = cap == 0 ? 16 : cap * 2;
			uint64_t   *p;

			p = LanceRealloc(allocator, list->versions, sizeof(uint64_t) * (size_t) cap,
						   sizeof(uint64_t) * (size_t) ncap);
			if (p == NULL)
			{
				closedir(dir);
				LanceFree(allocator, list->versions, sizeof(uint64_t) * (size_t) cap);
				memset(list, 0, sizeof(*list));
				list->allocator = allocator;
				return LanceErrorSet(error, ENOMEM, "out of memory listing versions");
			}
			list->versions = p;
			cap = ncap;
		}
		list->versions[list->count++] = v;
	}
	closedir(dir);
	/* shrink so Reset frees exactly what it was given */
	if (list->count > 0 && list->count < cap)
	{
		uint64_t   *p = LanceRealloc(allocator, list->versions, sizeof(uint64_t) * (size_t) cap,
								   sizeof(uint64_t) * (size_t) list->count);

		if (p == NULL)
		{
			LanceFree(allocator, list->versions, sizeof(uint64_t) * (size_t) cap);
			memset(list, 0, sizeof(*list));
			list->allocator = allocator;
			return LanceErrorSet(error, ENOMEM, "out of memory listing versions");
		}
		list->versions = p;
	}
	if (list->count > 1)
		qsort(list->versions, (size_t) list->count, sizeof(uint64_t), cmp_u64);
	return 0;
}

int
LanceManifestRead(const char *dataset_dir, uint64_t version, LanceManifest *manifest,
				  LanceError *error)
{
	LanceVersionList list;
	char		name[64];
	char		dir_path[4096];
	char		path[4096];
	LanceVersionNaming naming;
	uint8_t    *bytes;
	size_t		len;
	bool		found = false;
	int			rc;

	rc = LanceVersionListRead(dataset_dir, &list, manifest->allocator, error);
	if (rc != 0)
		return rc;
	if (list.count == 0)
	{
		LanceVersionListReset(&list);
		return LanceErrorSet(error, ENOENT, "\"%s\" is not a Lance dataset (no _versions/*.manifest)",
						dataset_dir);
	}
	if (version == 0)
	{
		version = list.versions[list.count - 1];
		found = true;
	}
	for (int32_t i = 0; !found && i < list.count; i++)
		found = list.versions[i] == version;
	naming = list.naming;
	LanceVersionListReset(&list);
	if (!found)
		return LanceErrorSet(error, ENOENT, "dataset \"%s\" has no version %" PRIu64, dataset_dir,
						version);
	if ((rc = LanceVersionFormatName(naming, version, name, sizeof(name), error)) != 0 ||
		(rc = LancePathJoin(dir_path, sizeof(dir_path), dataset_dir, "_versions", error)) != 0 ||
		(rc = LancePathJoin(path, sizeof(path), dir_path, name, error)) != 0)
		return rc;
	rc = LanceFileReadAll(path, manifest->allocator, &bytes, &len, error);
	if (rc != 0)
		return rc;
	rc = LanceManifestDecode(bytes, len, manifest, error);
	LanceFree(manifest->allocator, bytes, len);
	if (rc == 0 && manifest->version != version)
	{
		uint64_t	got = manifest->version;

		LanceManifestReset(manifest);
		return LanceErrorSet(error, EINVAL, "expected version %" PRIu64 " in \"%s\" but found %" PRIu64,
						version, path, got);
	}
	return rc;
}
