/*
 * manifest.c
 *	  The manifest file of a dataset version: decode it into a LanceManifest
 *	  and encode a LanceManifest back into a complete manifest file.
 *
 * A manifest file is (fact sheet 3.3):
 *	  [u32 len | IndexSection]     optional, at Manifest.index_section
 *	  [u32 len | Transaction]      optional, at Manifest.transaction_section
 *	  u32 len | Manifest           starts at manifest_pos
 *	  i64 manifest_pos | u16 0 | u16 2 | "LANC"     the 16-byte tail
 * and the Manifest message must end exactly where the tail starts.
 *
 * The model (LanceManifest in lance_dataset.h) names the fields this library
 * uses.  Everything else -- table config, base paths, the version sequences
 * of stable row ids, fields of newer Lance versions -- is kept as serialized
 * protobuf bytes ('extra') and merged back in on encoding, so rewriting a
 * manifest written by LanceDB loses nothing but what we replace on purpose.
 * The index section and the inline transaction are kept as raw bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lance/dataset_internal.h"
#include "lance/lance_dataset.h"
#include "lance/proto/table.pb-c.h"

#define TAIL_SIZE 16
#define MANIFEST_MAJOR 0
#define MANIFEST_MINOR 2

/* ---------------------------------------------------------------------------
 * Freeing
 * ------------------------------------------------------------------------- */

static void
free_kv(const LanceAllocator *a, LanceKeyValue *kv, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
	{
		LanceStrfree(a, kv[i].key);
		LanceFree(a, kv[i].value, kv[i].value_len);
	}
	LanceFree(a, kv, sizeof(LanceKeyValue) * (size_t) n);
}

static void
free_field(const LanceAllocator *a, LanceManifestField *f)
{
	LanceStrfree(a, f->name);
	LanceStrfree(a, f->logical_type);
	LanceStrfree(a, f->extension_name);
	free_kv(a, f->metadata, f->num_metadata);
	memset(f, 0, sizeof(*f));
}

static void
free_data_file(const LanceAllocator *a, LanceDataFile *df)
{
	LanceStrfree(a, df->path);
	LanceFree(a, df->fields, sizeof(int32_t) * (size_t) df->num_fields);
	LanceFree(a, df->column_indices, sizeof(int32_t) * (size_t) df->num_column_indices);
	memset(df, 0, sizeof(*df));
}

void
LanceFragmentReset(LanceFragment *fragment, const LanceAllocator *a)
{
	for (int32_t i = 0; i < fragment->num_files; i++)
		free_data_file(a, &fragment->files[i]);
	LanceFree(a, fragment->files, sizeof(LanceDataFile) * (size_t) fragment->num_files);
	LanceFree(a, fragment->row_ids, fragment->row_ids_len);
	LanceFree(a, fragment->extra, fragment->extra_len);
	memset(fragment, 0, sizeof(*fragment));
}

void
LanceManifestInit(LanceManifest *manifest, const LanceAllocator *allocator)
{
	memset(manifest, 0, sizeof(*manifest));
	manifest->allocator = allocator;
}

void
LanceManifestReset(LanceManifest *m)
{
	const LanceAllocator *a = m->allocator;

	for (int32_t i = 0; i < m->num_fields; i++)
		free_field(a, &m->fields[i]);
	LanceFree(a, m->fields, sizeof(LanceManifestField) * (size_t) m->num_fields);
	free_kv(a, m->schema_metadata, m->num_schema_metadata);
	for (int32_t i = 0; i < m->num_fragments; i++)
		LanceFragmentReset(&m->fragments[i], a);
	LanceFree(a, m->fragments, sizeof(LanceFragment) * (size_t) m->num_fragments);
	LanceStrfree(a, m->transaction_file);
	LanceStrfree(a, m->writer_library);
	LanceStrfree(a, m->writer_version);
	LanceStrfree(a, m->data_format);
	LanceStrfree(a, m->data_format_version);
	LanceFree(a, m->index_section, m->index_section_len);
	LanceFree(a, m->transaction, m->transaction_len);
	LanceFree(a, m->extra, m->extra_len);
	LanceManifestInit(m, a);
}

void
LanceBytesFree(const LanceAllocator *allocator, uint8_t *bytes, size_t len)
{
	LanceFree(allocator, bytes, len);
}

uint64_t
LanceFragmentLiveRows(const LanceFragment *fragment)
{
	uint64_t	deleted = fragment->has_deletion_file ?
		fragment->deletion_file.num_deleted_rows : 0;

	return deleted > fragment->physical_rows ? 0 : fragment->physical_rows - deleted;
}

int
LanceManifestCheckReadable(const LanceManifest *manifest, LanceError *error)
{
	if (manifest->reader_feature_flags >= LANCE_FLAG_UNKNOWN_MIN)
		return LanceErrorSet(error, ENOTSUP,
						"dataset version %llu needs reader features 0x%llx; this library knows only flags below %d",
						(unsigned long long) manifest->version,
						(unsigned long long) manifest->reader_feature_flags,
						LANCE_FLAG_UNKNOWN_MIN);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Deep copies (model -> model)
 * ------------------------------------------------------------------------- */

static int
copy_bytes(const LanceAllocator *a, uint8_t **dst, size_t *dst_len, const uint8_t *src,
		   size_t len)
{
	*dst = NULL;
	*dst_len = 0;
	if (src == NULL)
		return 0;
	*dst = LanceMemdup(a, src, len);
	if (*dst == NULL)
		return ENOMEM;
	*dst_len = len;
	return 0;
}

static int
copy_kv(const LanceAllocator *a, LanceKeyValue **dst, int32_t *dst_n, const LanceKeyValue *src,
		int32_t n)
{
	*dst = NULL;
	*dst_n = 0;
	if (n == 0)
		return 0;
	*dst = LanceAllocZero(a, sizeof(LanceKeyValue) * (size_t) n);
	if (*dst == NULL)
		return ENOMEM;
	*dst_n = n;
	for (int32_t i = 0; i < n; i++)
	{
		(*dst)[i].key = LanceStrdupOrEmpty(a, src[i].key);
		if ((*dst)[i].key == NULL ||
			copy_bytes(a, &(*dst)[i].value, &(*dst)[i].value_len, src[i].value,
					   src[i].value_len) != 0)
			return ENOMEM;
	}
	return 0;
}

static int
copy_field(const LanceAllocator *a, LanceManifestField *dst, const LanceManifestField *src)
{
	*dst = *src;
	dst->name = LanceStrdupOrEmpty(a, src->name);
	dst->logical_type = LanceStrdupOrEmpty(a, src->logical_type);
	dst->extension_name = LanceStrdupOrEmpty(a, src->extension_name);
	dst->metadata = NULL;
	dst->num_metadata = 0;
	if (dst->name == NULL || dst->logical_type == NULL || dst->extension_name == NULL)
		return ENOMEM;
	return copy_kv(a, &dst->metadata, &dst->num_metadata, src->metadata, src->num_metadata);
}

static int
copy_i32(const LanceAllocator *a, int32_t **dst, const int32_t *src, int32_t n)
{
	*dst = NULL;
	if (n == 0)
		return 0;
	*dst = LanceMemdup(a, src, sizeof(int32_t) * (size_t) n);
	return *dst == NULL ? ENOMEM : 0;
}

int
LanceFragmentCopy(LanceFragment *dst, const LanceFragment *src, const LanceAllocator *a,
				  LanceError *error)
{
	int			rc = 0;

	*dst = *src;
	dst->files = NULL;
	dst->num_files = 0;
	dst->row_ids = NULL;
	dst->row_ids_len = 0;
	dst->extra = NULL;
	dst->extra_len = 0;
	if (src->num_files > 0)
	{
		dst->files = LanceAllocZero(a, sizeof(LanceDataFile) * (size_t) src->num_files);
		if (dst->files == NULL)
			rc = ENOMEM;
		else
			dst->num_files = src->num_files;
	}
	for (int32_t i = 0; rc == 0 && i < src->num_files; i++)
	{
		LanceDataFile *d = &dst->files[i];
		const LanceDataFile *s = &src->files[i];

		*d = *s;
		d->fields = NULL;
		d->column_indices = NULL;
		d->path = LanceStrdupOrEmpty(a, s->path);
		if (d->path == NULL || copy_i32(a, &d->fields, s->fields, s->num_fields) != 0 ||
			copy_i32(a, &d->column_indices, s->column_indices, s->num_column_indices) != 0)
			rc = ENOMEM;
	}
	if (rc == 0)
		rc = copy_bytes(a, &dst->row_ids, &dst->row_ids_len, src->row_ids, src->row_ids_len);
	if (rc == 0)
		rc = copy_bytes(a, &dst->extra, &dst->extra_len, src->extra, src->extra_len);
	if (rc != 0)
	{
		LanceFragmentReset(dst, a);
		return LanceErrorSet(error, rc, "out of memory copying fragment %llu",
						(unsigned long long) src->id);
	}
	return 0;
}

/* Grow an array of 'elem' bytes by one slot, zeroed; NULL on failure. */
static void *
grow_one(const LanceAllocator *a, void **array, int32_t *n, size_t elem)
{
	uint8_t    *p;

	if (*n == INT32_MAX)
		return NULL;
	p = LanceRealloc(a, *array, elem * (size_t) *n, elem * (size_t) (*n + 1));
	if (p == NULL)
		return NULL;
	*array = p;
	memset(p + elem * (size_t) *n, 0, elem);
	return p + elem * (size_t) (*n)++;
}

int
LanceManifestAddFragment(LanceManifest *m, const LanceFragment *fragment, LanceError *error)
{
	LanceFragment tmp;
	LanceFragment *slot;
	int			rc;

	rc = LanceFragmentCopy(&tmp, fragment, m->allocator, error);
	if (rc != 0)
		return rc;
	slot = grow_one(m->allocator, (void **) &m->fragments, &m->num_fragments,
					sizeof(LanceFragment));
	if (slot == NULL)
	{
		LanceFragmentReset(&tmp, m->allocator);
		return LanceErrorSet(error, ENOMEM, "out of memory adding a fragment");
	}
	*slot = tmp;
	return 0;
}

int
LanceManifestAddField(LanceManifest *m, const LanceManifestField *field, LanceError *error)
{
	LanceManifestField tmp;
	LanceManifestField *slot;

	if (copy_field(m->allocator, &tmp, field) != 0)
	{
		free_field(m->allocator, &tmp);
		return LanceErrorSet(error, ENOMEM, "out of memory adding field \"%s\"", field->name);
	}
	slot = grow_one(m->allocator, (void **) &m->fields, &m->num_fields,
					sizeof(LanceManifestField));
	if (slot == NULL)
	{
		free_field(m->allocator, &tmp);
		return LanceErrorSet(error, ENOMEM, "out of memory adding field \"%s\"", field->name);
	}
	*slot = tmp;
	return 0;
}

int
LanceManifestCopy(LanceManifest *dst, const LanceManifest *src, LanceError *error)
{
	const LanceAllocator *a = dst->allocator;
	int			rc = 0;

	dst->version = src->version;
	dst->timestamp_seconds = src->timestamp_seconds;
	dst->timestamp_nanos = src->timestamp_nanos;
	dst->reader_feature_flags = src->reader_feature_flags;
	dst->writer_feature_flags = src->writer_feature_flags;
	dst->has_max_fragment_id = src->has_max_fragment_id;
	dst->max_fragment_id = src->max_fragment_id;
	dst->next_row_id = src->next_row_id;
	for (int32_t i = 0; rc == 0 && i < src->num_fields; i++)
		rc = LanceManifestAddField(dst, &src->fields[i], error);
	for (int32_t i = 0; rc == 0 && i < src->num_fragments; i++)
		rc = LanceManifestAddFragment(dst, &src->fragments[i], error);
	if (rc == 0)
		rc = copy_kv(a, &dst->schema_metadata, &dst->num_schema_metadata,
					 src->schema_metadata, src->num_schema_metadata);
	if (rc == 0 && src->transaction_file != NULL &&
		(dst->transaction_file = LanceStrdupOrEmpty(a, src->transaction_file)) == NULL)
		rc = ENOMEM;
	if (rc == 0 && src->writer_library != NULL &&
		(dst->writer_library = LanceStrdupOrEmpty(a, src->writer_library)) == NULL)
		rc = ENOMEM;
	if (rc == 0 && src->writer_version != NULL &&
		(dst->writer_version = LanceStrdupOrEmpty(a, src->writer_version)) == NULL)
		rc = ENOMEM;
	if (rc == 0 && src->data_format != NULL &&
		(dst->data_format = LanceStrdupOrEmpty(a, src->data_format)) == NULL)
		rc = ENOMEM;
	if (rc == 0 && src->data_format_version != NULL &&
		(dst->data_format_version = LanceStrdupOrEmpty(a, src->data_format_version)) == NULL)
		rc = ENOMEM;
	if (rc == 0)
		rc = copy_bytes(a, &dst->index_section, &dst->index_section_len,
						src->index_section, src->index_section_len);
	if (rc == 0)
		rc = copy_bytes(a, &dst->transaction, &dst->transaction_len,
						src->transaction, src->transaction_len);
	if (rc == 0)
		rc = copy_bytes(a, &dst->extra, &dst->extra_len, src->extra, src->extra_len);
	if (rc != 0)
	{
		LanceManifestReset(dst);
		return rc == ENOMEM ? LanceErrorSet(error, ENOMEM, "out of memory copying a manifest") : rc;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Decoding (protobuf -> model)
 * ------------------------------------------------------------------------- */

/*
 * Pack 'msg' (whose modelled fields the caller has cleared) into 'extra';
 * an empty result leaves extra NULL.
 */
static int
pack_extra(const LanceAllocator *a, const ProtobufCMessage *msg, uint8_t **extra,
		   size_t *extra_len)
{
	size_t		n = protobuf_c_message_get_packed_size(msg);

	*extra = NULL;
	*extra_len = 0;
	if (n == 0)
		return 0;
	*extra = LanceAlloc(a, n);
	if (*extra == NULL)
		return ENOMEM;
	*extra_len = protobuf_c_message_pack(msg, *extra);
	return 0;
}

/* Copy one map entry into a zeroed LanceKeyValue. */
static int
set_kv(const LanceAllocator *a, LanceKeyValue *kv, const char *key, const uint8_t *data,
	   size_t len)
{
	kv->key = LanceStrdupOrEmpty(a, key);
	if (kv->key == NULL)
		return ENOMEM;
	return copy_bytes(a, &kv->value, &kv->value_len, data != NULL ? data : (const uint8_t *) "",
					  len);
}

static int
alloc_kv(const LanceAllocator *a, LanceKeyValue **dst, int32_t *dst_n, size_t n)
{
	*dst = NULL;
	*dst_n = 0;
	if (n == 0)
		return 0;
	if (n > INT32_MAX)
		return ENOMEM;
	*dst = LanceAllocZero(a, sizeof(LanceKeyValue) * n);
	if (*dst == NULL)
		return ENOMEM;
	*dst_n = (int32_t) n;
	return 0;
}

static int
decode_field(const LanceAllocator *a, LanceManifestField *f, const Lance__File__Field *pb)
{
	int			rc;

	f->name = LanceStrdupOrEmpty(a, pb->name);
	f->logical_type = LanceStrdupOrEmpty(a, pb->logical_type);
	f->extension_name = LanceStrdupOrEmpty(a, pb->extension_name);
	if (f->name == NULL || f->logical_type == NULL || f->extension_name == NULL)
		return ENOMEM;
	f->id = pb->id;
	f->parent_id = pb->parent_id;
	f->nullable = pb->nullable;
	f->encoding = (int32_t) pb->encoding;
	f->unenforced_primary_key = pb->unenforced_primary_key;
	rc = alloc_kv(a, &f->metadata, &f->num_metadata, pb->n_metadata);
	for (size_t i = 0; rc == 0 && i < pb->n_metadata; i++)
		rc = set_kv(a, &f->metadata[i], pb->metadata[i]->key, pb->metadata[i]->value.data,
					pb->metadata[i]->value.len);
	return rc;
}

static int
decode_fragment(const LanceAllocator *a, LanceFragment *f, Lance__Table__DataFragment *pb,
				LanceError *error)
{
	Lance__Table__DataFragment rest;

	f->id = pb->id;
	f->physical_rows = pb->physical_rows;
	if (pb->n_files > INT32_MAX)
		return LanceErrorSet(error, EINVAL, "fragment %llu has too many data files",
						(unsigned long long) pb->id);
	if (pb->n_files > 0)
	{
		f->files = LanceAllocZero(a, sizeof(LanceDataFile) * pb->n_files);
		if (f->files == NULL)
			return ENOMEM;
		f->num_files = (int32_t) pb->n_files;
	}
	for (size_t i = 0; i < pb->n_files; i++)
	{
		const Lance__Table__DataFile *s = pb->files[i];
		LanceDataFile *d = &f->files[i];

		if (s->n_fields > INT32_MAX || s->n_column_indices > INT32_MAX)
			return LanceErrorSet(error, EINVAL, "data file with too many fields");
		/* each count is set once its array exists, so Reset frees the right size */
		d->path = LanceStrdupOrEmpty(a, s->path);
		if (d->path == NULL || copy_i32(a, &d->fields, s->fields, (int32_t) s->n_fields) != 0)
			return ENOMEM;
		d->num_fields = (int32_t) s->n_fields;
		if (copy_i32(a, &d->column_indices, s->column_indices, (int32_t) s->n_column_indices) != 0)
			return ENOMEM;
		d->num_column_indices = (int32_t) s->n_column_indices;
		d->major_version = s->file_major_version;
		d->minor_version = s->file_minor_version;
		d->size_bytes = s->file_size_bytes;
		d->has_base_id = s->has_base_id_case == LANCE__TABLE__DATA_FILE__HAS_BASE_ID_BASE_ID;
		d->base_id = d->has_base_id ? s->base_id : 0;
	}
	if (pb->deletion_file != NULL)
	{
		const Lance__Table__DeletionFile *s = pb->deletion_file;

		if (s->file_type != LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__ARROW_ARRAY &&
			s->file_type != LANCE__TABLE__DELETION_FILE__DELETION_FILE_TYPE__BITMAP)
			return LanceErrorSet(error, EINVAL,
							"expected deletion file type 0 or 1 but found %d in fragment %llu",
							(int) s->file_type, (unsigned long long) pb->id);
		f->has_deletion_file = true;
		f->deletion_file.type = (LanceDeletionFileType) s->file_type;
		f->deletion_file.read_version = s->read_version;
		f->deletion_file.id = s->id;
		f->deletion_file.num_deleted_rows = s->num_deleted_rows;
		f->deletion_file.has_base_id =
			s->has_base_id_case == LANCE__TABLE__DELETION_FILE__HAS_BASE_ID_BASE_ID;
		f->deletion_file.base_id = f->deletion_file.has_base_id ? s->base_id : 0;
	}
	if (pb->row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS)
	{
		if (copy_bytes(a, &f->row_ids, &f->row_ids_len,
					   pb->inline_row_ids.data != NULL ? pb->inline_row_ids.data : (const uint8_t *) "",
					   pb->inline_row_ids.len) != 0)
			return ENOMEM;
	}
	f->has_external_row_ids =
		pb->row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_EXTERNAL_ROW_IDS;

	/* everything else goes to 'extra' (external row ids included) */
	rest = *pb;
	rest.id = 0;
	rest.n_files = 0;
	rest.files = NULL;
	rest.deletion_file = NULL;
	rest.physical_rows = 0;
	if (rest.row_id_sequence_case == LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS)
		rest.row_id_sequence_case = LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE__NOT_SET;
	return pack_extra(a, &rest.base, &f->extra, &f->extra_len);
}

/* Bounds-checked "u32 len | bytes" section at 'pos', ending by 'limit'. */
static int
read_section(const LanceAllocator *a, const uint8_t *buf, uint64_t limit, uint64_t pos,
			 const char *what, uint8_t **out, size_t *out_len, LanceError *error)
{
	uint32_t	n;

	if (pos > limit || limit - pos < 4)
		return LanceErrorSet(error, EINVAL,
						"expected the %s section inside the manifest file but found offset %llu (limit %llu)",
						what, (unsigned long long) pos, (unsigned long long) limit);
	n = LanceLoadU32(buf + pos);
	if (n > limit - pos - 4)
		return LanceErrorSet(error, EINVAL,
						"expected a %s section of at most %llu bytes but found length %u",
						what, (unsigned long long) (limit - pos - 4), n);
	if (copy_bytes(a, out, out_len, buf + pos + 4, n) != 0)
		return LanceErrorSet(error, ENOMEM, "out of memory reading the %s section", what);
	return 0;
}

static int
decode_manifest(LanceManifest *m, Lance__Table__Manifest *pb, const uint8_t *buf,
				uint64_t manifest_pos, LanceError *error)
{
	const LanceAllocator *a = m->allocator;
	Lance__Table__Manifest rest;
	int			rc = 0;

	if (pb->n_fields > INT32_MAX || pb->n_fragments > INT32_MAX)
		return LanceErrorSet(error, EINVAL, "manifest has too many fields or fragments");
	if (pb->n_fields > 0)
	{
		m->fields = LanceAllocZero(a, sizeof(LanceManifestField) * pb->n_fields);
		if (m->fields == NULL)
			return ENOMEM;
		m->num_fields = (int32_t) pb->n_fields;
	}
	for (size_t i = 0; rc == 0 && i < pb->n_fields; i++)
		rc = decode_field(a, &m->fields[i], pb->fields[i]);
	if (rc == 0 && pb->n_fragments > 0)
	{
		m->fragments = LanceAllocZero(a, sizeof(LanceFragment) * pb->n_fragments);
		if (m->fragments == NULL)
			return ENOMEM;
		m->num_fragments = (int32_t) pb->n_fragments;
	}
	for (size_t i = 0; rc == 0 && i < pb->n_fragments; i++)
		rc = decode_fragment(a, &m->fragments[i], pb->fragments[i], error);
	if (rc == 0)
		rc = alloc_kv(a, &m->schema_metadata, &m->num_schema_metadata, pb->n_schema_metadata);
	for (size_t i = 0; rc == 0 && i < pb->n_schema_metadata; i++)
		rc = set_kv(a, &m->schema_metadata[i], pb->schema_metadata[i]->key,
					pb->schema_metadata[i]->value.data, pb->schema_metadata[i]->value.len);
	if (rc != 0)
		return rc;

	m->version = pb->version;
	if (pb->timestamp != NULL)
	{
		m->timestamp_seconds = pb->timestamp->seconds;
		m->timestamp_nanos = pb->timestamp->nanos;
	}
	m->reader_feature_flags = pb->reader_feature_flags;
	m->writer_feature_flags = pb->writer_feature_flags;
	m->has_max_fragment_id =
		pb->has_max_fragment_id_case == LANCE__TABLE__MANIFEST__HAS_MAX_FRAGMENT_ID_MAX_FRAGMENT_ID;
	m->max_fragment_id = m->has_max_fragment_id ? pb->max_fragment_id : 0;
	m->next_row_id = pb->next_row_id;
	m->transaction_file = LanceStrdupOrEmpty(a, pb->transaction_file);
	m->writer_library = LanceStrdupOrEmpty(a, pb->writer_version ? pb->writer_version->library : "");
	m->writer_version = LanceStrdupOrEmpty(a, pb->writer_version ? pb->writer_version->version : "");
	m->data_format = LanceStrdupOrEmpty(a, pb->data_format ? pb->data_format->file_format : "");
	m->data_format_version = LanceStrdupOrEmpty(a, pb->data_format ? pb->data_format->version : "");
	if (m->transaction_file == NULL || m->writer_library == NULL || m->writer_version == NULL ||
		m->data_format == NULL || m->data_format_version == NULL)
		return ENOMEM;

	if (pb->has_index_section_case == LANCE__TABLE__MANIFEST__HAS_INDEX_SECTION_INDEX_SECTION)
	{
		rc = read_section(a, buf, manifest_pos, pb->index_section, "index",
						  &m->index_section, &m->index_section_len, error);
		if (rc != 0)
			return rc;
	}
	if (pb->has_transaction_section_case ==
		LANCE__TABLE__MANIFEST__HAS_TRANSACTION_SECTION_TRANSACTION_SECTION)
	{
		rc = read_section(a, buf, manifest_pos, pb->transaction_section, "transaction",
						  &m->transaction, &m->transaction_len, error);
		if (rc != 0)
			return rc;
	}

	rest = *pb;
	rest.n_fields = 0;
	rest.fields = NULL;
	rest.n_fragments = 0;
	rest.fragments = NULL;
	rest.version = 0;
	rest.n_schema_metadata = 0;
	rest.schema_metadata = NULL;
	rest.timestamp = NULL;
	rest.reader_feature_flags = 0;
	rest.writer_feature_flags = 0;
	rest.has_max_fragment_id_case = LANCE__TABLE__MANIFEST__HAS_MAX_FRAGMENT_ID__NOT_SET;
	rest.transaction_file = (char *) protobuf_c_empty_string;
	rest.writer_version = NULL;
	rest.next_row_id = 0;
	rest.data_format = NULL;
	rest.has_index_section_case = LANCE__TABLE__MANIFEST__HAS_INDEX_SECTION__NOT_SET;
	rest.has_transaction_section_case = LANCE__TABLE__MANIFEST__HAS_TRANSACTION_SECTION__NOT_SET;
	return pack_extra(a, &rest.base, &m->extra, &m->extra_len);
}

int
LanceManifestDecode(const uint8_t *buf, size_t len, LanceManifest *m, LanceError *error)
{
	LancePbAllocator pa;
	Lance__Table__Manifest *pb;
	int64_t		pos;
	uint32_t	mlen;
	int			rc;

	if (len < TAIL_SIZE + 4)
		return LanceErrorSet(error, EINVAL,
						"expected a manifest file of at least %d bytes but found %zu",
						TAIL_SIZE + 4, len);
	if (memcmp(buf + len - 4, "LANC", 4) != 0)
		return LanceErrorSet(error, EINVAL, "expected magic \"LANC\" at the end of the manifest file");
	if (LanceLoadU16(buf + len - 8) != MANIFEST_MAJOR)
		return LanceErrorSet(error, ENOTSUP,
						"expected manifest format major version %d but found %u",
						MANIFEST_MAJOR, LanceLoadU16(buf + len - 8));
	pos = (int64_t) LanceLoadU64(buf + len - TAIL_SIZE);
	if (pos < 0 || (uint64_t) pos > len - TAIL_SIZE - 4)
		return LanceErrorSet(error, EINVAL,
						"expected a manifest position below %zu but found %lld",
						len - TAIL_SIZE - 4, (long long) pos);
	mlen = LanceLoadU32(buf + pos);
	if ((uint64_t) mlen != len - TAIL_SIZE - (uint64_t) pos - 4)
		return LanceErrorSet(error, EINVAL,
						"expected the manifest message to end at the tail (%zu bytes) but its length is %u",
						len - TAIL_SIZE - (size_t) pos - 4, mlen);
	LancePbAllocatorInit(&pa, m->allocator);
	pb = lance__table__manifest__unpack(&pa.pb, mlen, buf + pos + 4);
	if (pb == NULL)
		return LancePbUnpackError(&pa, error, "a manifest",
								  "the Manifest protobuf message is corrupt");
	rc = decode_manifest(m, pb, buf, (uint64_t) pos, error);
	lance__table__manifest__free_unpacked(pb, &pa.pb);
	if (rc != 0)
	{
		if (rc == ENOMEM)
			LanceErrorSet(error, ENOMEM, "out of memory decoding a manifest");
		LanceManifestReset(m);
	}
	return rc;
}

/* ---------------------------------------------------------------------------
 * Encoding (model -> protobuf)
 *
 * The protobuf structs point into the model (strings, arrays) and into
 * temporary arrays kept in an EncodeState; nothing is copied twice.  The
 * Manifest and each DataFragment start from their unpacked 'extra' bytes,
 * so unmodelled fields are carried over; their modelled fields are restored
 * to the unpacked defaults before free_unpacked.
 * ------------------------------------------------------------------------- */

typedef struct EncodeState
{
	const LanceAllocator *a;
	LancePbAllocator pa;
	Lance__Table__Manifest *msg;
	Lance__Table__Manifest saved_msg;
	Lance__File__Field *fields;
	Lance__File__Field **field_ptrs;
	Lance__File__Field__MetadataEntry *fmeta;
	Lance__File__Field__MetadataEntry **fmeta_ptrs;
	size_t		n_fmeta;
	Lance__Table__Manifest__SchemaMetadataEntry *smeta;
	Lance__Table__Manifest__SchemaMetadataEntry **smeta_ptrs;
	Lance__Table__DataFragment **frags;
	Lance__Table__DataFragment *saved_frags;
	Lance__Table__DataFile *files;
	Lance__Table__DataFile **file_ptrs;
	size_t		n_files;
	Lance__Table__DeletionFile *dels;
	Lance__Wire__Timestamp ts;
	Lance__Table__Manifest__WriterVersion wv;
	Lance__Table__Manifest__DataStorageFormat df;
} EncodeState;

static void
encode_state_free(EncodeState *st, const LanceManifest *m)
{
	const LanceAllocator *a = st->a;
	size_t		nf = (size_t) m->num_fields;
	size_t		nfr = (size_t) m->num_fragments;

	if (st->frags != NULL)
	{
		for (size_t i = 0; i < nfr; i++)
		{
			if (st->frags[i] == NULL)
				continue;
			*st->frags[i] = st->saved_frags[i];
			lance__table__data_fragment__free_unpacked(st->frags[i], &st->pa.pb);
		}
	}
	if (st->msg != NULL)
	{
		*st->msg = st->saved_msg;
		lance__table__manifest__free_unpacked(st->msg, &st->pa.pb);
	}
	LanceFree(a, st->frags, sizeof(void *) * nfr);
	LanceFree(a, st->saved_frags, sizeof(Lance__Table__DataFragment) * nfr);
	LanceFree(a, st->fields, sizeof(Lance__File__Field) * nf);
	LanceFree(a, st->field_ptrs, sizeof(void *) * nf);
	LanceFree(a, st->fmeta, sizeof(Lance__File__Field__MetadataEntry) * st->n_fmeta);
	LanceFree(a, st->fmeta_ptrs, sizeof(void *) * st->n_fmeta);
	LanceFree(a, st->smeta, sizeof(*st->smeta) * (size_t) m->num_schema_metadata);
	LanceFree(a, st->smeta_ptrs, sizeof(void *) * (size_t) m->num_schema_metadata);
	LanceFree(a, st->files, sizeof(Lance__Table__DataFile) * st->n_files);
	LanceFree(a, st->file_ptrs, sizeof(void *) * st->n_files);
	LanceFree(a, st->dels, sizeof(Lance__Table__DeletionFile) * nfr);
}

static const char *
str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static int
build_fields(EncodeState *st, const LanceManifest *m)
{
	const LanceAllocator *a = st->a;
	size_t		nf = (size_t) m->num_fields;
	size_t		k = 0;

	for (size_t i = 0; i < nf; i++)
		st->n_fmeta += (size_t) m->fields[i].num_metadata;
	st->fields = LanceAllocZero(a, sizeof(Lance__File__Field) * nf);
	st->field_ptrs = LanceAllocZero(a, sizeof(void *) * nf);
	st->fmeta = LanceAllocZero(a, sizeof(Lance__File__Field__MetadataEntry) * st->n_fmeta);
	st->fmeta_ptrs = LanceAllocZero(a, sizeof(void *) * st->n_fmeta);
	if (!st->fields || !st->field_ptrs || !st->fmeta || !st->fmeta_ptrs)
		return ENOMEM;
	for (size_t i = 0; i < nf; i++)
	{
		const LanceManifestField *f = &m->fields[i];
		Lance__File__Field *pf = &st->fields[i];

		lance__file__field__init(pf);
		pf->name = (char *) str_or_empty(f->name);
		pf->id = f->id;
		pf->parent_id = f->parent_id;
		pf->logical_type = (char *) str_or_empty(f->logical_type);
		pf->nullable = f->nullable;
		pf->encoding = (Lance__File__Field__Encoding) f->encoding;
		pf->extension_name = (char *) str_or_empty(f->extension_name);
		pf->unenforced_primary_key = f->unenforced_primary_key;
		pf->n_metadata = (size_t) f->num_metadata;
		pf->metadata = st->fmeta_ptrs + k;
		for (int32_t j = 0; j < f->num_metadata; j++, k++)
		{
			lance__file__field__metadata_entry__init(&st->fmeta[k]);
			st->fmeta[k].key = (char *) str_or_empty(f->metadata[j].key);
			st->fmeta[k].value.data = f->metadata[j].value;
			st->fmeta[k].value.len = f->metadata[j].value_len;
			st->fmeta_ptrs[k] = &st->fmeta[k];
		}
		st->field_ptrs[i] = pf;
	}
	return 0;
}

static int
build_fragments(EncodeState *st, const LanceManifest *m, LanceError *error)
{
	const LanceAllocator *a = st->a;
	size_t		nfr = (size_t) m->num_fragments;
	size_t		k = 0;

	for (size_t i = 0; i < nfr; i++)
		st->n_files += (size_t) m->fragments[i].num_files;
	st->frags = LanceAllocZero(a, sizeof(void *) * nfr);
	st->saved_frags = LanceAllocZero(a, sizeof(Lance__Table__DataFragment) * nfr);
	st->files = LanceAllocZero(a, sizeof(Lance__Table__DataFile) * st->n_files);
	st->file_ptrs = LanceAllocZero(a, sizeof(void *) * st->n_files);
	st->dels = LanceAllocZero(a, sizeof(Lance__Table__DeletionFile) * nfr);
	if (!st->frags || !st->saved_frags || !st->files || !st->file_ptrs || !st->dels)
		return ENOMEM;
	for (size_t i = 0; i < nfr; i++)
	{
		const LanceFragment *f = &m->fragments[i];
		Lance__Table__DataFragment *pf;

		pf = lance__table__data_fragment__unpack(&st->pa.pb, f->extra_len,
												 f->extra != NULL ? f->extra : (const uint8_t *) "");
		if (pf == NULL)
			return LancePbUnpackError(&st->pa, error, "a fragment",
									  "the extra bytes of fragment %llu are corrupt",
									  (unsigned long long) f->id);
		st->frags[i] = pf;
		st->saved_frags[i] = *pf;
		pf->id = f->id;
		pf->physical_rows = f->physical_rows;
		pf->n_files = (size_t) f->num_files;
		pf->files = st->file_ptrs + k;
		for (int32_t j = 0; j < f->num_files; j++, k++)
		{
			const LanceDataFile *d = &f->files[j];
			Lance__Table__DataFile *pd = &st->files[k];

			lance__table__data_file__init(pd);
			pd->path = (char *) str_or_empty(d->path);
			pd->n_fields = (size_t) d->num_fields;
			pd->fields = d->fields;
			pd->n_column_indices = (size_t) d->num_column_indices;
			pd->column_indices = d->column_indices;
			pd->file_major_version = d->major_version;
			pd->file_minor_version = d->minor_version;
			pd->file_size_bytes = d->size_bytes;
			if (d->has_base_id)
			{
				pd->has_base_id_case = LANCE__TABLE__DATA_FILE__HAS_BASE_ID_BASE_ID;
				pd->base_id = d->base_id;
			}
			st->file_ptrs[k] = pd;
		}
		if (f->has_deletion_file)
		{
			Lance__Table__DeletionFile *pd = &st->dels[i];

			lance__table__deletion_file__init(pd);
			pd->file_type = (Lance__Table__DeletionFile__DeletionFileType) f->deletion_file.type;
			pd->read_version = f->deletion_file.read_version;
			pd->id = f->deletion_file.id;
			pd->num_deleted_rows = f->deletion_file.num_deleted_rows;
			if (f->deletion_file.has_base_id)
			{
				pd->has_base_id_case = LANCE__TABLE__DELETION_FILE__HAS_BASE_ID_BASE_ID;
				pd->base_id = f->deletion_file.base_id;
			}
			pf->deletion_file = pd;
		}
		if (f->row_ids != NULL)
		{
			pf->row_id_sequence_case = LANCE__TABLE__DATA_FRAGMENT__ROW_ID_SEQUENCE_INLINE_ROW_IDS;
			pf->inline_row_ids.data = f->row_ids;
			pf->inline_row_ids.len = f->row_ids_len;
		}
	}
	return 0;
}

int
LanceManifestEncode(const LanceManifest *m, uint8_t **bytes, size_t *len, LanceError *error)
{
	EncodeState st;
	uint64_t	pos = 0;
	uint64_t	index_pos = 0;
	uint64_t	txn_pos = 0;
	size_t		mlen;
	size_t		total;
	uint8_t    *out;
	int			rc;

	*bytes = NULL;
	*len = 0;
	memset(&st, 0, sizeof(st));
	st.a = m->allocator;
	LancePbAllocatorInit(&st.pa, m->allocator);

	if ((m->index_section != NULL && m->index_section_len > UINT32_MAX) ||
		(m->transaction != NULL && m->transaction_len > UINT32_MAX))
		return LanceErrorSet(error, EINVAL, "manifest section larger than 4 GiB");
	if (m->index_section != NULL)
	{
		index_pos = pos;
		pos += 4 + m->index_section_len;
	}
	if (m->transaction != NULL)
	{
		txn_pos = pos;
		pos += 4 + m->transaction_len;
	}

	st.msg = lance__table__manifest__unpack(&st.pa.pb, m->extra_len,
											m->extra != NULL ? m->extra : (const uint8_t *) "");
	if (st.msg == NULL)
		return LancePbUnpackError(&st.pa, error, "a manifest",
								  "the extra bytes of the manifest are corrupt");
	st.saved_msg = *st.msg;

	rc = build_fields(&st, m);
	if (rc == 0)
		rc = build_fragments(&st, m, error);
	if (rc == 0 && m->num_schema_metadata > 0)
	{
		st.smeta = LanceAllocZero(st.a, sizeof(*st.smeta) * (size_t) m->num_schema_metadata);
		st.smeta_ptrs = LanceAllocZero(st.a, sizeof(void *) * (size_t) m->num_schema_metadata);
		if (st.smeta == NULL || st.smeta_ptrs == NULL)
			rc = ENOMEM;
		for (int32_t i = 0; rc == 0 && i < m->num_schema_metadata; i++)
		{
			lance__table__manifest__schema_metadata_entry__init(&st.smeta[i]);
			st.smeta[i].key = (char *) str_or_empty(m->schema_metadata[i].key);
			st.smeta[i].value.data = m->schema_metadata[i].value;
			st.smeta[i].value.len = m->schema_metadata[i].value_len;
			st.smeta_ptrs[i] = &st.smeta[i];
		}
	}
	if (rc != 0)
	{
		encode_state_free(&st, m);
		return rc == ENOMEM ? LanceErrorSet(error, ENOMEM, "out of memory encoding a manifest") : rc;
	}

	st.msg->n_fields = (size_t) m->num_fields;
	st.msg->fields = st.field_ptrs;
	st.msg->n_fragments = (size_t) m->num_fragments;
	st.msg->fragments = st.frags;
	st.msg->version = m->version;
	st.msg->n_schema_metadata = (size_t) m->num_schema_metadata;
	st.msg->schema_metadata = st.smeta_ptrs;
	lance__wire__timestamp__init(&st.ts);
	st.ts.seconds = m->timestamp_seconds;
	st.ts.nanos = m->timestamp_nanos;
	st.msg->timestamp = &st.ts;
	st.msg->reader_feature_flags = m->reader_feature_flags;
	st.msg->writer_feature_flags = m->writer_feature_flags;
	if (m->has_max_fragment_id)
	{
		st.msg->has_max_fragment_id_case = LANCE__TABLE__MANIFEST__HAS_MAX_FRAGMENT_ID_MAX_FRAGMENT_ID;
		st.msg->max_fragment_id = m->max_fragment_id;
	}
	st.msg->transaction_file = (char *) str_or_empty(m->transaction_file);
	lance__table__manifest__writer_version__init(&st.wv);
	st.wv.library = (char *) str_or_empty(m->writer_library);
	st.wv.version = (char *) str_or_empty(m->writer_version);
	st.msg->writer_version = &st.wv;
	st.msg->next_row_id = m->next_row_id;
	if (m->data_format != NULL && m->data_format[0] != '\0')
	{
		lance__table__manifest__data_storage_format__init(&st.df);
		st.df.file_format = (char *) m->data_format;
		st.df.version = (char *) str_or_empty(m->data_format_version);
		st.msg->data_format = &st.df;
	}
	if (m->index_section != NULL)
	{
		st.msg->has_index_section_case = LANCE__TABLE__MANIFEST__HAS_INDEX_SECTION_INDEX_SECTION;
		st.msg->index_section = index_pos;
	}
	if (m->transaction != NULL)
	{
		st.msg->has_transaction_section_case =
			LANCE__TABLE__MANIFEST__HAS_TRANSACTION_SECTION_TRANSACTION_SECTION;
		st.msg->transaction_section = txn_pos;
	}

	mlen = lance__table__manifest__get_packed_size(st.msg);
	if (mlen > UINT32_MAX)
	{
		encode_state_free(&st, m);
		return LanceErrorSet(error, EINVAL, "manifest message larger than 4 GiB");
	}
	total = (size_t) pos + 4 + mlen + TAIL_SIZE;
	out = LanceAlloc(st.a, total);
	if (out == NULL)
	{
		encode_state_free(&st, m);
		return LanceErrorSet(error, ENOMEM, "out of memory encoding a manifest");
	}
	if (m->index_section != NULL)
	{
		LanceStoreU32(out + index_pos, (uint32_t) m->index_section_len);
		memcpy(out + index_pos + 4, m->index_section, m->index_section_len);
	}
	if (m->transaction != NULL)
	{
		LanceStoreU32(out + txn_pos, (uint32_t) m->transaction_len);
		memcpy(out + txn_pos + 4, m->transaction, m->transaction_len);
	}
	LanceStoreU32(out + pos, (uint32_t) mlen);
	lance__table__manifest__pack(st.msg, out + pos + 4);
	LanceStoreU64(out + pos + 4 + mlen, pos);
	LanceStoreU16(out + pos + 4 + mlen + 8, MANIFEST_MAJOR);
	LanceStoreU16(out + pos + 4 + mlen + 10, MANIFEST_MINOR);
	memcpy(out + pos + 4 + mlen + 12, "LANC", 4);
	encode_state_free(&st, m);
	*bytes = out;
	*len = total;
	return 0;
}
