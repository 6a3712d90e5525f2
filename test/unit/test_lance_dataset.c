/*
 * test_lance_dataset.c
 *	  Unit tests of src/lance/dataset.c: opening LanceDB-written datasets at
 *	  their latest and older versions, live row counts, schema conversion,
 *	  and the write path on copies of them -- append, delete (deletion file,
 *	  flags, fragment removal), create (with and without stable row ids),
 *	  V1 naming kept, racing writers, reader flags >= 64 refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lance/lance_dataset.h"
#include "tap.h"

#define DATA_DIR "data/lance"

static char root[256];

static void
sh(const char *fmt, const char *a, const char *b)
{
	char		cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd) != 0)
		tap_diag("command failed: %s", cmd);
}

static void
test_open(void)
{
	static const struct
	{
		const char *dir;
		uint64_t	version;
		uint64_t	rows;
	}			cases[] = {
		{"plain.lance", 0, 5}, {"plain.lance", 1, 3}, {"plain.lance", 2, 5},
		{"deleted.lance", 0, 7}, {"deleted.lance", 1, 10}, {"rowids.lance", 0, 4},
		{"v1names.lance", 0, 2}, {"v20.lance", 0, 5}, {"bitmap.lance", 0, 1000},
	};
	LanceDataset ds;
	LanceError	err = {{0}};
	LanceSchema schema;
	int			rc;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		path[256];

		snprintf(path, sizeof(path), "%s/%s", DATA_DIR, cases[i].dir);
		rc = LanceDatasetOpen(&ds, path, cases[i].version, NULL, &err);
		tap_ok(rc == 0 && LanceDatasetCountRows(&ds) == cases[i].rows,
			   "%s at version %llu: %llu live rows (%s)", cases[i].dir,
			   (unsigned long long) cases[i].version, (unsigned long long) cases[i].rows, err.message);
		if (rc == 0)
			LanceDatasetClose(&ds);
	}
	rc = LanceDatasetOpen(&ds, DATA_DIR "/plain.lance", 9, NULL, &err);
	tap_ok(rc == ENOENT, "a version that does not exist: ENOENT (%s)", err.message);
	rc = LanceDatasetOpen(&ds, DATA_DIR "/nothing.lance", 0, NULL, &err);
	tap_ok(rc == ENOENT, "a directory that is not a dataset: ENOENT (%s)", err.message);

	rc = LanceDatasetOpen(&ds, DATA_DIR "/plain.lance", 0, NULL, &err);
	LanceSchemaInit(&schema, NULL);
	if (rc == 0)
		rc = LanceManifestGetSchema(&ds.manifest, &schema, &err);
	tap_ok(rc == 0 && schema.num_fields == 3 && schema.fields[0].type == LANCE_TYPE_INT64 &&
		   !schema.fields[0].nullable && schema.fields[1].type == LANCE_TYPE_FIXED_SIZE_LIST &&
		   schema.fields[1].list_size == 4 && schema.fields[1].item_type == LANCE_TYPE_FLOAT32 &&
		   schema.fields[2].type == LANCE_TYPE_UTF8 && schema.fields[2].nullable,
		   "schema of a LanceDB table: id int64 not null, vec fsl<float,4>, text utf8 (%s)",
		   err.message);
	tap_ok(rc == 0 && ds.manifest.fragments[1].id == 1 && ds.manifest.fragments[1].num_files == 1 &&
		   ds.manifest.fragments[1].files[0].num_fields == 3 &&
		   ds.manifest.fragments[1].files[0].column_indices[2] == 2 &&
		   ds.manifest.fragments[1].files[0].minor_version == 1,
		   "fragments, data files and column indices");
	LanceSchemaReset(&schema);
	if (rc == 0)
		LanceDatasetClose(&ds);
}

/* A copy of fragment 'from' (same data files) fit to be appended; free with LanceFragmentReset. */
static LanceFragment
fragment_like(const LanceFragment *from)
{
	LanceFragment f = {0};
	LanceFragment plain = *from;
	LanceError	err;

	plain.has_deletion_file = false;
	plain.row_ids = NULL;
	plain.row_ids_len = 0;
	plain.extra = NULL;
	plain.extra_len = 0;
	if (LanceFragmentCopy(&f, &plain, NULL, &err) != 0)
		tap_diag("fragment copy failed: %s", err.message);
	return f;
}

static void
test_write(void)
{
	char		dir[300];
	char		path[512];
	LanceDataset ds;
	LanceDataset other;
	LanceError	err = {{0}};
	LanceFragment f;
	uint32_t	del[] = {2, 0};
	uint32_t	rest[] = {1};
	int			rc;

	snprintf(dir, sizeof(dir), "%s/plain.lance", root);
	sh("cp -r " DATA_DIR "/%s %s", "plain.lance", dir);
	rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	f = fragment_like(&ds.manifest.fragments[0]);
	if (rc == 0)
		rc = LanceDatasetAppend(&ds, &f, 1, &err);
	tap_ok(rc == 0 && ds.manifest.version == 4 && LanceDatasetCountRows(&ds) == 8 &&
		   ds.manifest.num_fragments == 3 && ds.manifest.fragments[2].id == 2 &&
		   ds.manifest.max_fragment_id == 2, "append: version 4, 8 rows, fragment id 2 (%s)",
		   err.message);
	tap_ok(ds.manifest.index_section != NULL && ds.manifest.transaction == NULL &&
		   strcmp(ds.manifest.writer_library, LANCE_WRITER_LIBRARY) == 0 &&
		   ds.manifest.reader_feature_flags == 0,
		   "the index section carries over; no stale transaction; our writer name; flags 0");

	/* a second handle still at version 4 loses the race for version 5 */
	rc = LanceDatasetOpen(&other, dir, 0, NULL, &err);
	if (rc == 0)
		rc = LanceDatasetDelete(&ds, 0, del, 2, &err);
	tap_ok(rc == 0 && ds.manifest.version == 5 && LanceDatasetCountRows(&ds) == 6 &&
		   ds.manifest.fragments[0].has_deletion_file &&
		   ds.manifest.fragments[0].deletion_file.type == LANCE_DELETION_BITMAP &&
		   ds.manifest.fragments[0].deletion_file.num_deleted_rows == 2 &&
		   ds.manifest.fragments[0].deletion_file.read_version == 4 &&
		   ds.manifest.reader_feature_flags == 1 && ds.manifest.writer_feature_flags == 1,
		   "delete rows 0 and 2 of fragment 0: version 5, 6 rows, .bin file, flags 1 (%s)",
		   err.message);
	{
		LanceDeletionVector v;

		LanceDeletionVectorInit(&v, NULL);
		rc = LanceDeletionRead(dir, &ds.manifest.fragments[0], &v, &err);
		tap_ok(rc == 0 && v.count == 2 && v.rows[0] == 0 && v.rows[1] == 2,
			   "the deletion file holds rows 0 and 2");
		LanceDeletionVectorReset(&v);
	}
	rc = LanceDatasetAppend(&other, &f, 1, &err);
	tap_ok(rc == EEXIST, "a writer at the old version gets EEXIST (%s)", err.message);
	LanceDatasetClose(&other);
	rc = LanceDatasetOpen(&other, dir, 0, NULL, &err);
	tap_ok(rc == 0 && other.manifest.version == 5 && LanceDatasetCountRows(&other) == 6,
		   "and the winner's version 5 is intact");
	LanceDatasetClose(&other);
	rc = LanceDatasetOpen(&other, dir, 4, NULL, &err);
	tap_ok(rc == 0 && LanceDatasetCountRows(&other) == 8, "version 4 still reads 8 rows");
	if (rc == 0)
		rc = LanceDatasetAppend(&other, &f, 1, &err);
	tap_ok(rc == EINVAL, "writing from an old version is refused (%s)", err.message);
	LanceDatasetClose(&other);

	rc = LanceDatasetDelete(&ds, 0, rest, 1, &err);
	tap_ok(rc == 0 && ds.manifest.version == 6 && ds.manifest.num_fragments == 2 &&
		   ds.manifest.fragments[0].id == 1 && LanceDatasetCountRows(&ds) == 5 &&
		   ds.manifest.reader_feature_flags == 0,
		   "deleting the last row removes fragment 0; no deletion files left: flags 0 (%s)",
		   err.message);
	tap_ok(LanceDatasetDelete(&ds, 0, rest, 1, &err) == ENOENT, "fragment 0 is gone: ENOENT");
	rest[0] = 99;
	tap_ok(LanceDatasetDelete(&ds, 1, rest, 1, &err) == EINVAL,
		   "a row offset beyond the fragment: EINVAL (%s)", err.message);
	LanceDatasetClose(&ds);

	LanceFragmentReset(&f, NULL);

	/* V1 naming is kept */
	snprintf(dir, sizeof(dir), "%s/v1names.lance", root);
	sh("cp -r " DATA_DIR "/%s %s", "v1names.lance", dir);
	rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	f = fragment_like(&ds.manifest.fragments[0]);
	if (rc == 0)
		rc = LanceDatasetAppend(&ds, &f, 1, &err);
	snprintf(path, sizeof(path), "%s/_versions/2.manifest", dir);
	tap_ok(rc == 0 && access(path, F_OK) == 0, "appending to a V1 table writes 2.manifest");
	LanceDatasetClose(&ds);
	LanceFragmentReset(&f, NULL);

	/* stable row ids continue from next_row_id */
	snprintf(dir, sizeof(dir), "%s/rowids.lance", root);
	sh("cp -r " DATA_DIR "/%s %s", "rowids.lance", dir);
	rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	f = fragment_like(&ds.manifest.fragments[1]);
	if (rc == 0)
		rc = LanceDatasetAppend(&ds, &f, 1, &err);
	{
		LanceRowIds ids;

		LanceRowIdsInit(&ids, NULL);
		if (rc == 0)
			rc = LanceRowIdsDecode(ds.manifest.fragments[2].row_ids,
								   ds.manifest.fragments[2].row_ids_len, &ids, &err);
		tap_ok(rc == 0 && ids.count == 2 && ids.ids[0] == 5 && ids.ids[1] == 6 &&
			   ds.manifest.next_row_id == 7 && (ds.manifest.reader_feature_flags & 3) == 3,
			   "append with stable row ids: ids 5..6, next_row_id 7, flags 1|2 kept (%s)",
			   err.message);
		LanceRowIdsReset(&ids);
	}
	LanceDatasetClose(&ds);
	LanceFragmentReset(&f, NULL);
}

static void
test_create(void)
{
	char		dir[300];
	LanceDataset src;
	LanceDataset ds;
	LanceSchema schema;
	LanceManifest m;
	LanceError	err = {{0}};
	LanceFragment f;
	int			rc;

	snprintf(dir, sizeof(dir), "%s/new.lance", root);
	rc = LanceDatasetOpen(&src, DATA_DIR "/plain.lance", 0, NULL, &err);
	LanceSchemaInit(&schema, NULL);
	if (rc == 0)
		rc = LanceManifestGetSchema(&src.manifest, &schema, &err);
	f = fragment_like(&src.manifest.fragments[0]);
	if (rc == 0)
		rc = LanceDatasetCreate(dir, &schema, &f, 1, "2.1", false, NULL, &err);
	tap_ok(rc == 0, "create a dataset (%s)", err.message);
	rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	tap_ok(rc == 0 && ds.manifest.version == 1 && ds.naming == LANCE_NAMING_V2 &&
		   LanceDatasetCountRows(&ds) == 3 && ds.manifest.has_max_fragment_id &&
		   ds.manifest.max_fragment_id == 0 && ds.manifest.num_fields == 3 &&
		   ds.manifest.fields[0].parent_id == -1 && ds.manifest.fields[2].encoding == 2 &&
		   strcmp(ds.manifest.fields[1].logical_type, "fixed_size_list:float:4") == 0 &&
		   strcmp(ds.manifest.data_format_version, "2.1") == 0,
		   "version 1, V2 name, 3 rows, fields as lance writes them (%s)", err.message);
	if (rc == 0)
		LanceDatasetClose(&ds);
	rc = LanceDatasetCreate(dir, &schema, &f, 1, "2.1", false, NULL, &err);
	tap_ok(rc == EEXIST, "creating it again: EEXIST (%s)", err.message);

	snprintf(dir, sizeof(dir), "%s/newrowids.lance", root);
	rc = LanceDatasetCreate(dir, &schema, &f, 1, "2.1", true, NULL, &err);
	if (rc == 0)
		rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	tap_ok(rc == 0 && ds.manifest.reader_feature_flags == 2 && ds.manifest.next_row_id == 3 &&
		   ds.manifest.fragments[0].row_ids != NULL,
		   "create with stable row ids: flag 2, next_row_id 3, row ids on the fragment (%s)",
		   err.message);
	if (rc == 0)
		LanceDatasetClose(&ds);

	/* a version needing an unknown reader feature */
	snprintf(dir, sizeof(dir), "%s/future.lance", root);
	LanceManifestInit(&m, NULL);
	rc = LanceManifestCopy(&m, &src.manifest, &err);
	m.version = 1;
	m.reader_feature_flags = 64;
	if (rc == 0)
		rc = LanceManifestCommit(dir, &m, LANCE_NAMING_V2, &err);
	LanceManifestReset(&m);
	rc = LanceDatasetOpen(&ds, dir, 0, NULL, &err);
	tap_ok(rc == ENOTSUP, "reader flag 64: ENOTSUP (%s)", err.message);
	tap_ok(LanceDatasetCreate(dir, &schema, &f, 1, "2.2", false, NULL, &err) == EINVAL,
		   "data format 2.2: EINVAL");
	LanceSchemaReset(&schema);
	LanceDatasetClose(&src);
	LanceFragmentReset(&f, NULL);
}

int
main(void)
{
	snprintf(root, sizeof(root), "/tmp/lance_dataset_XXXXXX");
	if (mkdtemp(root) == NULL)
	{
		tap_ok(false, "mkdtemp");
		return tap_done();
	}
	test_open();
	test_write();
	test_create();
	if (getenv("KEEP_LANCE_TEST_DIR") == NULL)
		sh("rm -rf %s%s", root, "");
	else
		tap_diag("kept %s", root);
	return tap_done();
}
