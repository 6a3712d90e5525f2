/*
 * lance_dataset.h
 *	  Public interface of the dataset (table) level of the Lance library:
 *	  manifests, the _versions/ directory, atomic commits, deletion files,
 *	  stable row id sequences and datasets.
 *
 * A Lance dataset is a directory:
 *	  data/<name>.lance                       data files (lance_file.h)
 *	  _versions/<version>.manifest            one manifest per version
 *	  _deletions/<frag>-<read_version>-<id>.{arrow,bin}
 *	  _transactions/<read_version>-<uuid>.txn
 * The byte-level facts are in the format fact sheet
 * (the Lance format fact sheet (shared/reference/lance-format.md), section 3); the conventions
 * (error codes, allocators, Init/Reset) are those of lance.h.
 *
 * Every object below owns its memory, taken from the allocator given to its
 * Init/Decode/Open function (NULL: malloc), and gives it back in Reset.
 */
#ifndef LANCE_LANCE_DATASET_H
#define LANCE_LANCE_DATASET_H

#include "lance/lance.h"

#ifdef __cplusplus
extern "C"
{
#endif

/* ---------------------------------------------------------------------------
 * Manifest model
 * ------------------------------------------------------------------------- */

/*
 * One schema field exactly as a manifest stores it (lance.file.Field).  The
 * logical type stays a string, so manifests with types this library cannot
 * decode can still be read, listed and rewritten.
 */
typedef struct LanceManifestField
{
	char	   *name;
	int32_t		id;
	int32_t		parent_id;		/* -1 at the top level */
	char	   *logical_type;	/* "int64", "fixed_size_list:float:128", ... */
	bool		nullable;
	int32_t		encoding;		/* the deprecated v1 hint (PLAIN=1, VAR_BINARY=2) */
	char	   *extension_name; /* "" if none */
	LanceKeyValue *metadata;
	int32_t		num_metadata;
	bool		unenforced_primary_key;
} LanceManifestField;

typedef struct LanceDataFile
{
	char	   *path;			/* relative to <dataset>/data/ */
	int32_t    *fields;			/* field ids, parents included */
	int32_t    *column_indices; /* same length; -1 = no column */
	int32_t		num_fields;
	int32_t		num_column_indices;
	uint32_t	major_version;	/* 2.0 files: 2/0; 2.1: 2/1; legacy: 0/x */
	uint32_t	minor_version;
	uint64_t	size_bytes;		/* 0 = unknown */
	bool		has_base_id;
	uint32_t	base_id;
} LanceDataFile;

typedef enum LanceDeletionFileType
{
	LANCE_DELETION_ARROW = 0,	/* Arrow IPC file, column row_id: uint32 */
	LANCE_DELETION_BITMAP = 1	/* portable 32-bit RoaringBitmap */
} LanceDeletionFileType;

/* A fragment's reference to its deletion file. */
typedef struct LanceDeletionFileRef
{
	LanceDeletionFileType type;
	uint64_t	read_version;
	uint64_t	id;
	uint64_t	num_deleted_rows;
	bool		has_base_id;
	uint32_t	base_id;
} LanceDeletionFileRef;

typedef struct LanceFragment
{
	uint64_t	id;
	LanceDataFile *files;
	int32_t		num_files;
	bool		has_deletion_file;
	LanceDeletionFileRef deletion_file;
	uint64_t	physical_rows;	/* rows in the files, deleted ones included */
	/* stable row ids: a serialized RowIdSequence, or NULL (see rowids) */
	uint8_t    *row_ids;
	size_t		row_ids_len;
	bool		has_external_row_ids;	/* row ids in a separate file (unsupported) */
	/*
	 * The serialized protobuf bytes of every DataFragment field this model
	 * does not name (created/updated-at version sequences, fields of newer
	 * Lance versions).  Encoding appends them, so they survive a rewrite.
	 */
	uint8_t    *extra;
	size_t		extra_len;
} LanceFragment;

typedef struct LanceManifest
{
	LanceManifestField *fields; /* the dataset schema, pre-order */
	int32_t		num_fields;
	LanceKeyValue *schema_metadata;
	int32_t		num_schema_metadata;
	LanceFragment *fragments;
	int32_t		num_fragments;
	uint64_t	version;
	int64_t		timestamp_seconds;	/* commit time, UTC */
	int32_t		timestamp_nanos;
	uint64_t	reader_feature_flags;
	uint64_t	writer_feature_flags;
	bool		has_max_fragment_id;
	uint32_t	max_fragment_id;
	char	   *transaction_file;	/* "" if none */
	char	   *writer_library;
	char	   *writer_version;
	uint64_t	next_row_id;
	char	   *data_format;	/* "lance" */
	char	   *data_format_version;	/* "2.0", "2.1"; "" if not recorded */
	/* The IndexSection message (without its length prefix), or NULL. */
	uint8_t    *index_section;
	size_t		index_section_len;
	/* The inline Transaction message (without its length prefix), or NULL. */
	uint8_t    *transaction;
	size_t		transaction_len;
	/* Serialized Manifest fields this model does not name (config, ...). */
	uint8_t    *extra;
	size_t		extra_len;
	const LanceAllocator *allocator;
} LanceManifest;

/* Feature flags (fact sheet 3.7). */
#define LANCE_FLAG_DELETION_FILES	1
#define LANCE_FLAG_STABLE_ROW_IDS	2
#define LANCE_FLAG_USE_V2_FORMAT	4
#define LANCE_FLAG_TABLE_CONFIG		8
#define LANCE_FLAG_BASE_PATHS		16
#define LANCE_FLAG_NO_TRANSACTION	32
/* Lance refuses datasets with any reader flag at or above this. */
#define LANCE_FLAG_UNKNOWN_MIN		64

/* An empty manifest allocating from 'allocator'. */
extern void LanceManifestInit(LanceManifest *manifest, const LanceAllocator *allocator);

/* Free everything; the manifest is empty (and reusable) afterwards. */
extern void LanceManifestReset(LanceManifest *manifest);

/* Deep copy into an initialised, empty 'target'. */
extern int	LanceManifestCopy(LanceManifest *target, const LanceManifest *source,
							  LanceError *error);

/*
 * Decode a whole manifest file (sections, Manifest message, 16-byte tail)
 * into an initialised, empty 'manifest'.  EINVAL for corrupt bytes.  The
 * reader feature flags are not checked here (see LanceManifestCheckReadable).
 */
extern int	LanceManifestDecode(const uint8_t *bytes, size_t len, LanceManifest *manifest,
								LanceError *error);

/*
 * Encode the manifest as a complete manifest file: the index section and
 * the transaction (if the manifest carries them), the Manifest message and
 * the tail.  *bytes is allocated from the manifest's allocator; free it
 * with LanceBytesFree.
 */
extern int	LanceManifestEncode(const LanceManifest *manifest, uint8_t **bytes, size_t *len,
								LanceError *error);

extern void LanceBytesFree(const LanceAllocator *allocator, uint8_t *bytes, size_t len);

/* ENOTSUP if the reader flags contain a flag this library does not know. */
extern int	LanceManifestCheckReadable(const LanceManifest *manifest, LanceError *error);

/* Rows not deleted: physical_rows - num_deleted_rows (0 if inconsistent). */
extern uint64_t LanceFragmentLiveRows(const LanceFragment *fragment);

/* Append a deep copy of 'fragment' to the manifest. */
extern int	LanceManifestAddFragment(LanceManifest *manifest, const LanceFragment *fragment,
									 LanceError *error);

/* Append a deep copy of 'field'. */
extern int	LanceManifestAddField(LanceManifest *manifest, const LanceManifestField *field,
								  LanceError *error);

/* Free what a fragment owns (allocated from 'allocator'); zeroes it. */
extern void LanceFragmentReset(LanceFragment *fragment, const LanceAllocator *allocator);

/* Deep copy of a fragment, allocated from 'allocator'. */
extern int	LanceFragmentCopy(LanceFragment *target, const LanceFragment *source,
							  const LanceAllocator *allocator, LanceError *error);

/* ---------------------------------------------------------------------------
 * Versions: the _versions/ directory
 * ------------------------------------------------------------------------- */

typedef enum LanceVersionNaming
{
	LANCE_NAMING_NONE = 0,		/* no manifest yet */
	LANCE_NAMING_V1 = 1,		/* _versions/<version>.manifest */
	LANCE_NAMING_V2 = 2			/* _versions/<2^64-1-version, 20 digits>.manifest */
} LanceVersionNaming;

typedef struct LanceVersionList
{
	uint64_t   *versions;		/* ascending */
	int32_t		count;
	LanceVersionNaming naming;
	const LanceAllocator *allocator;
} LanceVersionList;

/*
 * Parse a file name in _versions/.  0 with *version and *naming set for a
 * committed manifest name; ENOENT for anything else (temp files, detached
 * "d<n>.manifest", the hint file).
 */
extern int	LanceVersionParseName(const char *name, uint64_t *version,
								  LanceVersionNaming *naming);

/* The file name (no directory) of 'version' under 'naming'. */
extern int	LanceVersionFormatName(LanceVersionNaming naming, uint64_t version,
								   char *buffer, size_t buffer_size, LanceError *error);

/*
 * List the committed versions of the dataset at 'dataset_dir'.  A missing
 * _versions/ gives an empty list; both naming schemes in one directory is
 * EINVAL.
 */
extern int	LanceVersionListRead(const char *dataset_dir, LanceVersionList *list,
								 const LanceAllocator *allocator, LanceError *error);
extern void LanceVersionListReset(LanceVersionList *list);

/* Read and decode the manifest of 'version' (0 = latest).  ENOENT if none. */
extern int	LanceManifestRead(const char *dataset_dir, uint64_t version, LanceManifest *manifest,
							  LanceError *error);

/* ---------------------------------------------------------------------------
 * Commits
 * ------------------------------------------------------------------------- */

/*
 * Atomically create 'dir'/'name' with exactly 'bytes': write a temp file in
 * 'dir', fsync it, link() it to the final name (renameat2 RENAME_NOREPLACE
 * where link is not supported), unlink the temp, fsync the directory.
 * EEXIST if the name exists already; an existing file is never replaced.
 */
extern int	LanceFileCreateAtomic(const char *dir, const char *name, const uint8_t *bytes,
								  size_t len, LanceError *error);

/*
 * Commit 'manifest' as version manifest->version of the dataset at
 * 'dataset_dir', named by 'naming' (LANCE_NAMING_NONE: V2).  Creates
 * _versions/ if needed.  EEXIST if another writer committed that version
 * first.  Afterwards updates _versions/latest_version_hint.json (best effort).
 */
extern int	LanceManifestCommit(const char *dataset_dir, const LanceManifest *manifest,
								LanceVersionNaming naming, LanceError *error);

/* ---------------------------------------------------------------------------
 * Deletion files
 * ------------------------------------------------------------------------- */

/* The deleted row offsets of one fragment: sorted, without duplicates. */
typedef struct LanceDeletionVector
{
	uint32_t   *rows;
	int64_t		count;
	const LanceAllocator *allocator;
} LanceDeletionVector;

extern void LanceDeletionVectorInit(LanceDeletionVector *vector, const LanceAllocator *allocator);
extern void LanceDeletionVectorReset(LanceDeletionVector *vector);

/* True if row offset 'row' is deleted (binary search). */
extern bool LanceDeletionVectorContains(const LanceDeletionVector *vector, uint32_t row);

/* Add rows (any order, duplicates allowed); the vector stays sorted. */
extern int	LanceDeletionVectorAdd(LanceDeletionVector *vector, const uint32_t *rows, int64_t count,
								   LanceError *error);

/* Decode a .arrow (Arrow IPC file, uncompressed or ZSTD) deletion file. */
extern int	LanceDeletionDecodeArrow(const uint8_t *bytes, size_t len, LanceDeletionVector *vector,
									 LanceError *error);

/* Decode a .bin (portable RoaringBitmap) deletion file. */
extern int	LanceDeletionDecodeBitmap(const uint8_t *bytes, size_t len, LanceDeletionVector *vector,
									  LanceError *error);

/* Encode as a portable RoaringBitmap (.bin), allocated from the vector's allocator. */
extern int	LanceDeletionEncodeBitmap(const LanceDeletionVector *vector, uint8_t **bytes,
									  size_t *len, LanceError *error);

/* "_deletions/<fragment>-<read_version>-<id>.<arrow|bin>" */
extern int	LanceDeletionFormatPath(uint64_t fragment_id, const LanceDeletionFileRef *ref,
									char *buffer, size_t buffer_size, LanceError *error);

/* Read the deletion file of 'fragment' (none: an empty vector). */
extern int	LanceDeletionRead(const char *dataset_dir, const LanceFragment *fragment,
							  LanceDeletionVector *vector, LanceError *error);

/* ---------------------------------------------------------------------------
 * Stable row ids (RowIdSequence)
 * ------------------------------------------------------------------------- */

/* The row ids of a fragment's rows, in row offset order. */
typedef struct LanceRowIds
{
	uint64_t   *ids;
	int64_t		count;
	const LanceAllocator *allocator;
} LanceRowIds;

extern void LanceRowIdsInit(LanceRowIds *ids, const LanceAllocator *allocator);
extern void LanceRowIdsReset(LanceRowIds *ids);

/*
 * Decode a serialized RowIdSequence (every segment kind: range, range with
 * holes, range with bitmap, sorted array, array), appending to 'ids'.
 */
extern int	LanceRowIdsDecode(const uint8_t *bytes, size_t len, LanceRowIds *ids,
							  LanceError *error);

/*
 * Encode ids as a RowIdSequence: one Range segment if they are contiguous
 * and ascending, otherwise a sorted array or an array with the narrowest
 * offsets.  Allocated from ids->allocator.
 */
extern int	LanceRowIdsEncode(const LanceRowIds *ids, uint8_t **bytes, size_t *len,
							  LanceError *error);

/* A RowIdSequence of one Range segment [start, end). */
extern int	LanceRowIdsEncodeRange(uint64_t start, uint64_t end, const LanceAllocator *allocator,
								   uint8_t **bytes, size_t *len, LanceError *error);

/* ---------------------------------------------------------------------------
 * Datasets
 * ------------------------------------------------------------------------- */

/* What we write as Manifest.writer_version (lance's own name triggers its bug workarounds). */
#define LANCE_WRITER_LIBRARY "lancedb-postgres"
#define LANCE_WRITER_VERSION "0.1.0"

/*
 * An open dataset: one version's manifest.  Opening never modifies the
 * directory.  The struct is public for reading; change it only through the
 * functions below.
 */
typedef struct LanceDataset
{
	char	   *path;			/* the dataset directory */
	LanceManifest manifest;		/* of the opened version */
	LanceVersionNaming naming;	/* the scheme _versions/ uses */
	uint64_t	latest_version; /* newest version when opened */
	const LanceAllocator *allocator;
} LanceDataset;

/*
 * Open the dataset at 'path' at 'version' (0 = latest).  ENOENT if there is
 * no such dataset or version; ENOTSUP if the version needs reader features
 * this library lacks (flags >= 64), files in other base paths, or external
 * row id files; EINVAL if the manifest is corrupt or inconsistent (a data
 * file whose field and column lists differ in length, stable row ids missing
 * on a fragment).
 */
extern int	LanceDatasetOpen(LanceDataset *ds, const char *path, uint64_t version,
							 const LanceAllocator *allocator, LanceError *error);
extern void LanceDatasetClose(LanceDataset *ds);

/* Live rows of the opened version (deleted rows not counted). */
extern uint64_t LanceDatasetCountRows(const LanceDataset *ds);

/* The fragment with this id, or NULL. */
extern const LanceFragment *LanceDatasetFindFragment(const LanceDataset *ds, uint64_t fragment_id);

/* "<dataset>/data/<file path>" */
extern int	LanceDatasetDataFilePath(const LanceDataset *ds, const LanceDataFile *file,
									 char *buffer, size_t buffer_size, LanceError *error);

/*
 * The schema of a manifest as a LanceSchema (initialised, empty 'schema').
 * ENOTSUP names the first logical type the library cannot represent.
 */
extern int	LanceManifestGetSchema(const LanceManifest *manifest, LanceSchema *schema,
								   LanceError *error);

/* Replace the manifest's fields and schema metadata with 'schema', as lance 8 writes them. */
extern int	LanceManifestSetSchema(LanceManifest *manifest, const LanceSchema *schema,
								   LanceError *error);

/*
 * Create a new dataset at 'path' (version 1, V2 naming) with 'schema' and
 * the given fragments, whose data files are already written and durable
 * under <path>/data/.  Fragment ids are assigned 0, 1, ... in order (the ids
 * passed in are ignored); deletion files and row ids in them are not
 * allowed.  'data_format_version' is "2.0" or "2.1".  With 'stable_row_ids'
 * every fragment gets a Range of row ids and reader/writer flag 2.  EEXIST
 * if the dataset exists already.
 */
extern int	LanceDatasetCreate(const char *path, const LanceSchema *schema,
							   const LanceFragment *fragments, int32_t num_fragments,
							   const char *data_format_version, bool stable_row_ids,
							   const LanceAllocator *allocator, LanceError *error);

/*
 * Commit version latest+1 = the opened version plus 'fragments' (ids
 * assigned after max_fragment_id; row ids assigned if the dataset uses
 * stable row ids).  'ds' must be open at its latest version.  EEXIST if
 * another writer committed first: reopen and retry.  On success 'ds' is
 * the new version.
 */
extern int	LanceDatasetAppend(LanceDataset *ds, const LanceFragment *fragments,
							   int32_t num_fragments, LanceError *error);

/*
 * Commit version latest+1 with 'rows' (row offsets, any order) of fragment
 * 'fragment_id' deleted in addition to those deleted already: a new .bin
 * deletion file replaces the fragment's old one, and a fragment with every
 * row deleted is removed.  Feature flag 1 is set while any fragment has a
 * deletion file.  EEXIST as for append; ENOENT for an unknown fragment;
 * EINVAL for a row offset >= physical_rows.
 */
extern int	LanceDatasetDelete(LanceDataset *ds, uint64_t fragment_id, const uint32_t *rows,
							   int64_t num_rows, LanceError *error);

#ifdef __cplusplus
}
#endif

#endif							/* LANCE_LANCE_DATASET_H */
