/*
 * dataset.c
 *	  Datasets: open a version, count rows, convert the schema, and the write
 *	  path (create, append fragments, delete rows), each a new manifest
 *	  committed with LanceManifestCommit.
 *
 * Rules this file enforces (fact sheet 3):
 *	- Reader feature flags >= 64 are refused (ENOTSUP), as lance does.
 *	- Every new version is the previous manifest plus a change; fields of
 *	  the old manifest we do not model (config, index section, ...) carry
 *	  over, so appending to or deleting from a LanceDB-written table keeps
 *	  its indices and settings.
 *	- Feature flags: 1 (deletion files) exactly while some fragment has a
 *	  deletion file, in both reader and writer flags; 2 (stable row ids)
 *	  from creation on, with every fragment carrying its row ids; other
 *	  flags are kept as they were.
 *	- Version numbers increase by one; the naming scheme the dataset has is
 *	  kept; a lost race is EEXIST and the caller retries from a fresh open.
 *	- A fragment whose rows are all deleted is removed, not kept empty.
 * We write no transaction file: readers do not need one (fact sheet 3.5).
 */
#include <inttypes.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"
#include "lance/schema_proto.h"

int
LanceDatasetOpen(LanceDataset *ds, const char *path, uint64_t version,
				 const LanceAllocator *allocator, LanceError *error)
{
	LanceVersionList list;
	int			rc;

	memset(ds, 0, sizeof(*ds));
	ds->allocator = allocator;
	LanceManifestInit(&ds->manifest, allocator);
	rc = LanceVersionListRead(path, &list, allocator, error);
	if (rc != 0)
		return rc;
	ds->naming = list.naming;
	ds->latest_version = list.count > 0 ? list.versions[list.count - 1] : 0;
	LanceVersionListReset(&list);
	ds->path = LanceStrdupOrEmpty(allocator, path);
	if (ds->path == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory opening a dataset");
	rc = LanceManifestRead(path, version, &ds->manifest, error);
	if (rc == 0)
		rc = LanceManifestCheckReadable(&ds->manifest, error);
	for (int32_t i = 0; rc == 0 && i < ds->manifest.num_fragments; i++)
	{
		const LanceFragment *f = &ds->manifest.fragments[i];

		if (f->has_external_row_ids)
			rc = LanceErrorSet(error, ENOTSUP, "fragment %" PRIu64 " keeps its row ids in a separate file",
						  f->id);
		else if ((ds->manifest.reader_feature_flags & LANCE_FLAG_STABLE_ROW_IDS) &&
				 f->row_ids == NULL)
			rc = LanceErrorSet(error, EINVAL,
						  "the dataset uses stable row ids but fragment %" PRIu64 " has none", f->id);
		for (int32_t j = 0; rc == 0 && j < f->num_files; j++)
		{
			const LanceDataFile *d = &f->files[j];

			if (d->has_base_id)
				rc = LanceErrorSet(error, ENOTSUP, "data file \"%s\" lives in another base path", d->path);
			else if (d->num_column_indices != 0 && d->num_column_indices != d->num_fields)
				rc = LanceErrorSet(error, EINVAL,
							  "expected %d column indices in data file \"%s\" but found %d",
							  d->num_fields, d->path, d->num_column_indices);
		}
	}
	if (rc != 0)
		LanceDatasetClose(ds);
	return rc;
}

void
LanceDatasetClose(LanceDataset *ds)
{
	LanceManifestReset(&ds->manifest);
	LanceStrfree(ds->allocator, ds->path);
	ds->path = NULL;
}

uint64_t
LanceDatasetCountRows(const LanceDataset *ds)
{
	uint64_t	n = 0;

	for (int32_t i = 0; i < ds->manifest.num_fragments; i++)
		n += LanceFragmentLiveRows(&ds->manifest.fragments[i]);
	return n;
}

const LanceFragment *
LanceDatasetFindFragment(const LanceDataset *ds, uint64_t fragment_id)
{
	for (int32_t i = 0; i < ds->manifest.num_fragments; i++)
		if (ds->manifest.fragments[i].id == fragment_id)
			return &ds->manifest.fragments[i];
	return NULL;
}

int
LanceDatasetDataFilePath(const LanceDataset *ds, const LanceDataFile *file, char *buffer,
						 size_t buffer_size, LanceError *error)
{
	int			n = snprintf(buffer, buffer_size, "%s/data/%s", ds->path, file->path);

	if (n < 0 || (size_t) n >= buffer_size)
		return LanceErrorSet(error, ENAMETOOLONG, "path too long: %s/data/%s", ds->path, file->path);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Schema conversion
 * ------------------------------------------------------------------------- */

int
LanceManifestGetSchema(const LanceManifest *m, LanceSchema *schema, LanceError *error)
{
	Lance__File__Field *pf;
	Lance__File__Field **pp;
	size_t		n = (size_t) m->num_fields;
	int			rc;

	pf = LanceAllocZero(NULL, sizeof(*pf) * n);
	pp = LanceAllocZero(NULL, sizeof(*pp) * n);
	if (pf == NULL || pp == NULL)
	{
		free(pf);
		free(pp);
		return LanceErrorSet(error, ENOMEM, "out of memory converting a schema");
	}
	for (size_t i = 0; i < n; i++)
	{
		lance__file__field__init(&pf[i]);
		pf[i].name = m->fields[i].name;
		pf[i].id = m->fields[i].id;
		pf[i].parent_id = m->fields[i].parent_id;
		pf[i].logical_type = m->fields[i].logical_type;
		pf[i].nullable = m->fields[i].nullable;
		pp[i] = &pf[i];
	}
	rc = LanceSchemaFromProtoFields(schema, pp, n, error);
	free(pf);
	free(pp);
	for (int32_t i = 0; rc == 0 && i < m->num_schema_metadata; i++)
		rc = LanceSchemaAddMetadata(schema, m->schema_metadata[i].key, m->schema_metadata[i].value,
									m->schema_metadata[i].value_len, error);
	if (rc == 0)
		rc = LanceSchemaValidate(schema, error);
	return rc;
}

int
LanceManifestSetSchema(LanceManifest *m, const LanceSchema *schema, LanceError *error)
{
	const LanceAllocator *a = m->allocator;
	Lance__File__Schema *proto;
	int			rc;

	rc = LanceSchemaToProto(schema, &proto, error);
	if (rc != 0)
		return rc;
	for (int32_t i = 0; i < m->num_fields; i++)
	{
		LanceManifestField *f = &m->fields[i];

		LanceStrfree(a, f->name);
		LanceStrfree(a, f->logical_type);
		LanceStrfree(a, f->extension_name);
		for (int32_t j = 0; j < f->num_metadata; j++)
		{
			LanceStrfree(a, f->metadata[j].key);
			LanceFree(a, f->metadata[j].value, f->metadata[j].value_len);
		}
		LanceFree(a, f->metadata, sizeof(LanceKeyValue) * (size_t) f->num_metadata);
	}
	LanceFree(a, m->fields, sizeof(LanceManifestField) * (size_t) m->num_fields);
	m->fields = NULL;
	m->num_fields = 0;
	for (int32_t j = 0; j < m->num_schema_metadata; j++)
	{
		LanceStrfree(a, m->schema_metadata[j].key);
		LanceFree(a, m->schema_metadata[j].value, m->schema_metadata[j].value_len);
	}
	LanceFree(a, m->schema_metadata, sizeof(LanceKeyValue) * (size_t) m->num_schema_metadata);
	m->schema_metadata = NULL;
	m->num_schema_metadata = 0;

	for (size_t i = 0; rc == 0 && i < proto->n_fields; i++)
	{
		const Lance__File__Field *pf = proto->fields[i];
		LanceManifestField f = {0};

		f.name = pf->name;
		f.id = pf->id;
		f.parent_id = pf->parent_id;
		f.logical_type = pf->logical_type;
		f.nullable = pf->nullable;
		f.encoding = (int32_t) pf->encoding;
		f.extension_name = pf->extension_name;
		f.unenforced_primary_key = pf->unenforced_primary_key;
		rc = LanceManifestAddField(m, &f, error);
	}
	if (rc == 0 && schema->num_metadata > 0)
	{
		m->schema_metadata = LanceAllocZero(a, sizeof(LanceKeyValue) * (size_t) schema->num_metadata);
		if (m->schema_metadata == NULL)
			rc = LanceErrorSet(error, ENOMEM, "out of memory setting a schema");
		else
			m->num_schema_metadata = schema->num_metadata;
		for (int32_t j = 0; rc == 0 && j < schema->num_metadata; j++)
		{
			LanceKeyValue *kv = &m->schema_metadata[j];

			kv->key = LanceStrdupOrEmpty(a, schema->metadata[j].key);
			kv->value = LanceMemdup(a, schema->metadata[j].value, schema->metadata[j].value_len);
			kv->value_len = schema->metadata[j].value_len;
			if (kv->key == NULL || kv->value == NULL)
				rc = LanceErrorSet(error, ENOMEM, "out of memory setting a schema");
		}
	}
	LanceSchemaProtoFree(proto);
	return rc;
}

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------- */

static int
set_string(const LanceAllocator *a, char **dst, const char *value)
{
	LanceStrfree(a, *dst);
	*dst = LanceStrdupOrEmpty(a, value);
	return *dst == NULL ? ENOMEM : 0;
}

/* Stamp a manifest being committed: time, writer, flags. */
static int
stamp(LanceManifest *m, LanceError *error)
{
	struct timespec ts;
	bool		deletions = false;

	clock_gettime(CLOCK_REALTIME, &ts);
	m->timestamp_seconds = ts.tv_sec;
	m->timestamp_nanos = (int32_t) ts.tv_nsec;
	for (int32_t i = 0; i < m->num_fragments; i++)
		deletions |= m->fragments[i].has_deletion_file;
	m->reader_feature_flags &= ~(uint64_t) LANCE_FLAG_DELETION_FILES;
	m->writer_feature_flags &= ~(uint64_t) LANCE_FLAG_DELETION_FILES;
	if (deletions)
	{
		m->reader_feature_flags |= LANCE_FLAG_DELETION_FILES;
		m->writer_feature_flags |= LANCE_FLAG_DELETION_FILES;
	}
	/* the old manifest's transaction describes the old commit, not ours */
	LanceFree(m->allocator, m->transaction, m->transaction_len);
	m->transaction = NULL;
	m->transaction_len = 0;
	if (set_string(m->allocator, &m->transaction_file, "") != 0 ||
		set_string(m->allocator, &m->writer_library, LANCE_WRITER_LIBRARY) != 0 ||
		set_string(m->allocator, &m->writer_version, LANCE_WRITER_VERSION) != 0)
		return LanceErrorSet(error, ENOMEM, "out of memory preparing a manifest");
	return 0;
}

/*
 * Append copies of 'fragments' to 'm' with fresh ids and, if the manifest
 * uses stable row ids, fresh row id ranges.
 */
static int
add_new_fragments(LanceManifest *m, const LanceFragment *fragments, int32_t n, LanceError *error)
{
	bool		row_ids = (m->reader_feature_flags & LANCE_FLAG_STABLE_ROW_IDS) != 0;
	int			rc;

	for (int32_t i = 0; i < n; i++)
	{
		LanceFragment f = fragments[i];
		uint32_t	id = m->has_max_fragment_id ? m->max_fragment_id + 1 : 0;

		if (m->has_max_fragment_id && m->max_fragment_id == UINT32_MAX)
			return LanceErrorSet(error, EINVAL, "no fragment ids left");
		if (f.has_deletion_file || f.row_ids != NULL || f.has_external_row_ids)
			return LanceErrorSet(error, EINVAL,
							"a new fragment must not carry a deletion file or row ids");
		if (f.num_files == 0)
			return LanceErrorSet(error, EINVAL, "a new fragment needs at least one data file");
		f.id = id;
		f.extra = NULL;
		f.extra_len = 0;
		if (row_ids)
		{
			rc = LanceRowIdsEncodeRange(m->next_row_id, m->next_row_id + f.physical_rows,
										m->allocator, &f.row_ids, &f.row_ids_len, error);
			if (rc != 0)
				return rc;
		}
		rc = LanceManifestAddFragment(m, &f, error);
		if (row_ids)
			LanceFree(m->allocator, f.row_ids, f.row_ids_len);
		if (rc != 0)
			return rc;
		if (row_ids)
			m->next_row_id += f.physical_rows;
		m->has_max_fragment_id = true;
		m->max_fragment_id = id;
	}
	return 0;
}

int
LanceDatasetCreate(const char *path, const LanceSchema *schema, const LanceFragment *fragments,
				   int32_t num_fragments, const char *data_format_version, bool stable_row_ids,
				   const LanceAllocator *allocator, LanceError *error)
{
	LanceManifest m;
	LanceVersionList list;
	int			rc;

	if (strcmp(data_format_version, "2.0") != 0 && strcmp(data_format_version, "2.1") != 0)
		return LanceErrorSet(error, EINVAL, "expected data format version 2.0 or 2.1 but found \"%s\"",
						data_format_version);
	rc = LanceVersionListRead(path, &list, allocator, error);
	if (rc != 0)
		return rc;
	if (list.count > 0)
	{
		LanceVersionListReset(&list);
		return LanceErrorSet(error, EEXIST, "a dataset exists already at \"%s\"", path);
	}
	LanceVersionListReset(&list);

	LanceManifestInit(&m, allocator);
	m.version = 1;
	if (stable_row_ids)
	{
		m.reader_feature_flags = LANCE_FLAG_STABLE_ROW_IDS;
		m.writer_feature_flags = LANCE_FLAG_STABLE_ROW_IDS;
	}
	rc = LanceManifestSetSchema(&m, schema, error);
	if (rc == 0 && (set_string(allocator, &m.data_format, "lance") != 0 ||
					set_string(allocator, &m.data_format_version, data_format_version) != 0))
		rc = LanceErrorSet(error, ENOMEM, "out of memory creating a dataset");
	if (rc == 0)
		rc = add_new_fragments(&m, fragments, num_fragments, error);
	if (rc == 0)
		rc = stamp(&m, error);
	if (rc == 0)
		rc = LanceManifestCommit(path, &m, LANCE_NAMING_V2, error);
	LanceManifestReset(&m);
	return rc;
}

/* Commit 'next' (prepared from ds->manifest) and make it ds's manifest. */
static int
commit_next(LanceDataset *ds, LanceManifest *next, LanceError *error)
{
	int			rc;

	next->version = ds->manifest.version + 1;
	rc = stamp(next, error);
	if (rc == 0)
		rc = LanceManifestCommit(ds->path, next, ds->naming, error);
	if (rc != 0)
	{
		LanceManifestReset(next);
		return rc;
	}
	LanceManifestReset(&ds->manifest);
	ds->manifest = *next;
	ds->latest_version = next->version;
	return 0;
}

static int
check_latest(const LanceDataset *ds, LanceError *error)
{
	if (ds->manifest.version != ds->latest_version)
		return LanceErrorSet(error, EINVAL,
						"expected the dataset open at its latest version %" PRIu64 " but it is at %" PRIu64,
						ds->latest_version, ds->manifest.version);
	return 0;
}

int
LanceDatasetAppend(LanceDataset *ds, const LanceFragment *fragments, int32_t num_fragments,
				   LanceError *error)
{
	LanceManifest next;
	int			rc;

	if ((rc = check_latest(ds, error)) != 0)
		return rc;
	LanceManifestInit(&next, ds->allocator);
	rc = LanceManifestCopy(&next, &ds->manifest, error);
	if (rc == 0)
		rc = add_new_fragments(&next, fragments, num_fragments, error);
	if (rc != 0)
	{
		LanceManifestReset(&next);
		return rc;
	}
	return commit_next(ds, &next, error);
}

int
LanceDatasetDelete(LanceDataset *ds, uint64_t fragment_id, const uint32_t *rows,
				   int64_t num_rows, LanceError *error)
{
	LanceManifest next;
	LanceDeletionVector v;
	LanceFragment *frag = NULL;
	int32_t		index = -1;
	int			rc;

	if ((rc = check_latest(ds, error)) != 0)
		return rc;
	for (int32_t i = 0; i < ds->manifest.num_fragments; i++)
		if (ds->manifest.fragments[i].id == fragment_id)
			index = i;
	if (index < 0)
		return LanceErrorSet(error, ENOENT, "dataset version %" PRIu64 " has no fragment %" PRIu64,
						ds->manifest.version, fragment_id);
	for (int64_t i = 0; i < num_rows; i++)
		if (rows[i] >= ds->manifest.fragments[index].physical_rows)
			return LanceErrorSet(error, EINVAL,
							"expected row offsets below %" PRIu64 " but found %u",
							ds->manifest.fragments[index].physical_rows, rows[i]);

	LanceDeletionVectorInit(&v, ds->allocator);
	rc = LanceDeletionRead(ds->path, &ds->manifest.fragments[index], &v, error);
	if (rc == 0)
		rc = LanceDeletionVectorAdd(&v, rows, num_rows, error);
	LanceManifestInit(&next, ds->allocator);
	if (rc == 0)
		rc = LanceManifestCopy(&next, &ds->manifest, error);
	if (rc != 0)
	{
		LanceDeletionVectorReset(&v);
		LanceManifestReset(&next);
		return rc;
	}
	frag = &next.fragments[index];
	if ((uint64_t) v.count == frag->physical_rows)
	{
		/* every row gone: drop the fragment (lance does the same) */
		LanceFragmentReset(frag, next.allocator);
		memmove(frag, frag + 1, sizeof(LanceFragment) * (size_t) (next.num_fragments - index - 1));
		/* shrink the array so Reset frees exactly what it holds */
		{
			LanceFragment *p = LanceRealloc(next.allocator, next.fragments,
										  sizeof(LanceFragment) * (size_t) next.num_fragments,
										  sizeof(LanceFragment) * (size_t) (next.num_fragments - 1));

			if (p == NULL)
				rc = LanceErrorSet(error, ENOMEM, "out of memory removing a fragment");
			else
				next.fragments = p;
		}
		next.num_fragments--;
	}
	else if (v.count > 0)
	{
		LanceDeletionFileRef ref;
		char		rel[128];
		char		dir[4096];
		uint8_t    *bytes;
		size_t		len;

		ref.type = LANCE_DELETION_BITMAP;
		ref.read_version = ds->manifest.version;
		ref.num_deleted_rows = (uint64_t) v.count;
		ref.has_base_id = false;
		ref.base_id = 0;
		if (getrandom(&ref.id, sizeof(ref.id), 0) != (ssize_t) sizeof(ref.id))
			ref.id = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
		rc = LanceDeletionEncodeBitmap(&v, &bytes, &len, error);
		if (rc == 0)
		{
			if ((rc = LancePathJoin(dir, sizeof(dir), ds->path, "_deletions", error)) == 0 &&
				mkdir(dir, 0755) != 0 && errno != EEXIST)
				rc = LanceErrorSet(error, errno, "could not create \"%s\": %s", dir, strerror(errno));
			if (rc == 0)
				rc = LanceDeletionFormatPath(fragment_id, &ref, rel, sizeof(rel), error);
			if (rc == 0)
				rc = LanceFileCreateAtomic(dir, strchr(rel, '/') + 1, bytes, len, error);
			LanceBytesFree(ds->allocator, bytes, len);
		}
		frag->has_deletion_file = true;
		frag->deletion_file = ref;
	}
	LanceDeletionVectorReset(&v);
	if (rc != 0)
	{
		LanceManifestReset(&next);
		return rc;
	}
	return commit_next(ds, &next, error);
}
