/*
 * lance-inspect.c
 *	  A command-line tool that looks inside a Lance dataset directory or a
 *	  single Lance data file, using only the Lance format library:
 *
 *		lance-inspect info <path> [--version N]
 *		lance-inspect dump <path> [--version N] [--columns a,b,...]
 *						   [--offset N] [--limit M] [--with-rowaddr]
 *
 * `info` is for people (schema, versions, fragments, page encodings);
 * `dump` prints rows as JSON lines for programs (the interop tests compare
 * it with LanceDB).  Both are defined in tools/README.md.  Exit status: 0,
 * 1 with one line "lance-inspect: <message>" on stderr for any error, 2 for
 * a usage error.
 *
 * Rows are read fragment by fragment in batches of BATCH_ROWS, so memory
 * stays bounded however large the dataset is; a batch wholly before
 * --offset is never read.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"
#include "lance/lance_dataset.h"

#define BATCH_ROWS 1024

typedef struct Options
{
	const char *command;
	const char *path;
	uint64_t	version;		/* 0: latest */
	bool		has_version;
	const char *columns;		/* comma-separated, or NULL for all */
	uint64_t	offset;
	uint64_t	limit;
	bool		has_limit;
	bool		with_rowaddr;
} Options;

/* A data file opened for reading, with the fd its I/O reads from. */
typedef struct OpenFile
{
	int			fd;
	LanceFileIo io;
	LanceFileReader *reader;
} OpenFile;

/* ---------------------------------------------------------------------------
 * Errors and usage
 * ------------------------------------------------------------------------- */

static void
usage(const char *fmt,...)
{
	va_list		ap;

	fputs("lance-inspect: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nusage: lance-inspect info <path> [--version N]\n"
		  "       lance-inspect dump <path> [--version N] [--columns a,b,...] [--offset N] [--limit M] [--with-rowaddr]\n",
		  stderr);
	exit(2);
}

static int
fail(const LanceError *error)
{
	const char *msg = LanceErrorMessage(error);

	fflush(stdout);
	fprintf(stderr, "lance-inspect: %s\n", *msg ? msg : "unknown error");
	return 1;
}

static bool
parse_u64(const char *s, uint64_t *v)
{
	char	   *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static void
parse_options(int argc, char **argv, Options *o)
{
	memset(o, 0, sizeof(*o));
	if (argc < 2)
		usage("expected a command (info or dump)");
	o->command = argv[1];
	if (strcmp(o->command, "info") != 0 && strcmp(o->command, "dump") != 0)
		usage("unknown command \"%s\"", o->command);
	for (int i = 2; i < argc; i++)
	{
		const char *a = argv[i];
		bool		dump = strcmp(o->command, "dump") == 0;
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--version") == 0)
		{
			if (!parse_u64(value, &o->version) || o->version == 0)
				usage("--version expects a version number >= 1");
			o->has_version = true;
			i++;
		}
		else if (dump && strcmp(a, "--columns") == 0)
		{
			if (value == NULL)
				usage("--columns expects a list of column names");
			o->columns = value;
			i++;
		}
		else if (dump && strcmp(a, "--offset") == 0)
		{
			if (!parse_u64(value, &o->offset))
				usage("--offset expects a row count");
			i++;
		}
		else if (dump && strcmp(a, "--limit") == 0)
		{
			if (!parse_u64(value, &o->limit))
				usage("--limit expects a row count");
			o->has_limit = true;
			i++;
		}
		else if (dump && strcmp(a, "--with-rowaddr") == 0)
			o->with_rowaddr = true;
		else if (a[0] == '-' && a[1] != '\0')
			usage("unknown option \"%s\" for %s", a, o->command);
		else if (o->path == NULL)
			o->path = a;
		else
			usage("unexpected argument \"%s\"", a);
	}
	if (o->path == NULL)
		usage("expected a dataset directory or a data file");
}

/* ---------------------------------------------------------------------------
 * Opening files
 * ------------------------------------------------------------------------- */

static int
open_file(OpenFile *f, const char *path, LanceError *error)
{
	int			rc;

	f->reader = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return LanceErrorSet(error, errno, "could not open \"%s\": %s", path, strerror(errno));
	rc = LanceFileIoInitFd(&f->io, f->fd, error);
	if (rc == 0)
		rc = LanceFileReaderOpen(&f->reader, &f->io, NULL, error);
	if (rc != 0)
	{
		char		msg[LANCE_ERROR_MESSAGE_SIZE];

		snprintf(msg, sizeof(msg), "%s", LanceErrorMessage(error));
		close(f->fd);
		f->fd = -1;
		return LanceErrorSet(error, rc, "%s: %s", path, msg);
	}
	return 0;
}

static void
close_file(OpenFile *f)
{
	LanceFileReaderClose(f->reader);
	f->reader = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

static bool
is_directory(const char *path, LanceError *error, int *rc)
{
	struct stat st;

	*rc = 0;
	if (stat(path, &st) != 0)
	{
		*rc = LanceErrorSet(error, errno, "could not open \"%s\": %s", path, strerror(errno));
		return false;
	}
	return S_ISDIR(st.st_mode);
}

/* Prefix a message with 'what' (the file or fragment it is about). */
static int
with_context(LanceError *error, int rc, const char *fmt,...)
{
	char		ctx[LANCE_ERROR_MESSAGE_SIZE];
	char		msg[LANCE_ERROR_MESSAGE_SIZE];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s", LanceErrorMessage(error));
	return LanceErrorSet(error, rc, "%s: %s", ctx, msg);
}

/* ---------------------------------------------------------------------------
 * dump
 * ------------------------------------------------------------------------- */

/*
 * What dump prints: the chosen top-level columns (indices into 'schema', in
 * schema order) and the rows still to skip and to print.
 */
typedef struct DumpState
{
	const Options *opt;
	const LanceSchema *schema;
	int32_t    *cols;
	int32_t		num_cols;
	uint64_t	skip;
	uint64_t	remaining;
} DumpState;

/* Choose the columns: all top-level fields, or those named by --columns. */
static int
select_columns(DumpState *st, LanceError *error)
{
	const LanceSchema *s = st->schema;
	const char *list = st->opt->columns;
	bool	   *want = calloc((size_t) s->num_fields + 1, sizeof(bool));
	int			rc = 0;

	st->cols = calloc((size_t) s->num_fields + 1, sizeof(int32_t));
	if (want == NULL || st->cols == NULL)
	{
		free(want);
		return LanceErrorSet(error, ENOMEM, "out of memory");
	}
	while (list != NULL && rc == 0)
	{
		const char *comma = strchr(list, ',');
		size_t		len = comma ? (size_t) (comma - list) : strlen(list);
		int32_t		found = -1;

		for (int32_t i = 0; i < s->num_fields && found < 0; i++)
			if (s->fields[i].parent_id == -1 && strlen(s->fields[i].name) == len &&
				memcmp(s->fields[i].name, list, len) == 0)
				found = i;
		if (found < 0)
			rc = LanceErrorSet(error, ENOENT, "no column named \"%.*s\"", (int) len, list);
		else
			want[found] = true;
		list = comma ? comma + 1 : NULL;
	}
	for (int32_t i = 0; i < s->num_fields && rc == 0; i++)
		if (s->fields[i].parent_id == -1 && (st->opt->columns == NULL || want[i]))
		{
			rc = InspectCheckPrintable(s, i, error);
			st->cols[st->num_cols++] = i;
		}
	free(want);
	return rc;
}

/*
 * Print physical rows of one part (a fragment, or the whole file): 'rows'
 * are the live row offsets to print, ascending, all in [first, first + n).
 * 'readers[k]' / 'fields[k]' give where column k comes from (NULL: the
 * fragment has no data for it, so its values are null).
 */
static int
print_rows(DumpState *st, OpenFile **readers, const int32_t *fields, uint64_t addr_base,
		   const uint64_t *rows, size_t count, LanceError *error)
{
	uint64_t	first = rows[0];
	uint64_t	n = rows[count - 1] - first + 1;
	LanceArray *arrays = calloc((size_t) st->num_cols + 1, sizeof(LanceArray));
	int			rc = 0;

	if (arrays == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	for (int32_t k = 0; k < st->num_cols; k++)
		LanceArrayInit(&arrays[k], NULL);
	for (int32_t k = 0; k < st->num_cols && rc == 0; k++)
	{
		if (readers[k] == NULL)
			continue;
		rc = LanceFileReaderReadRange(readers[k]->reader, fields[k], first, n, &arrays[k], error);
		if (rc == 0 && (uint64_t) arrays[k].column.length != n)
			rc = LanceErrorSet(error, EINVAL, "expected %" PRIu64 " rows of column \"%s\" but read %" PRId64,
							   n, st->schema->fields[st->cols[k]].name, arrays[k].column.length);
		if (rc != 0)
			rc = with_context(error, rc, "column \"%s\"", st->schema->fields[st->cols[k]].name);
	}
	for (size_t r = 0; r < count && rc == 0; r++)
	{
		putchar('{');
		if (st->opt->with_rowaddr)
		{
			fputs("\"_rowaddr\":", stdout);
			InspectPrintUint(stdout, addr_base | rows[r]);
		}
		for (int32_t k = 0; k < st->num_cols; k++)
		{
			const LanceField *f = &st->schema->fields[st->cols[k]];

			if (k > 0 || st->opt->with_rowaddr)
				putchar(',');
			InspectPrintString(stdout, (const uint8_t *) f->name, strlen(f->name));
			putchar(':');
			if (readers[k] == NULL)
				fputs("null", stdout);
			else
				InspectPrintValue(stdout, st->schema, st->cols[k], &arrays[k].column,
								  (int64_t) (rows[r] - first));
		}
		fputs("}\n", stdout);
	}
	for (int32_t k = 0; k < st->num_cols; k++)
		LanceArrayReset(&arrays[k]);
	free(arrays);
	if (rc == 0 && ferror(stdout))
		rc = LanceErrorSet(error, EIO, "writing the output failed");
	return rc;
}

/*
 * Print the live rows of one part of 'physical' rows, honouring --offset
 * and --limit, batch by batch.
 */
static int
dump_part(DumpState *st, OpenFile **readers, const int32_t *fields, uint64_t addr_base,
		  uint64_t physical, const LanceDeletionVector *deleted, LanceError *error)
{
	uint64_t	rows[BATCH_ROWS];
	int64_t		d = 0;			/* next deletion to look at */
	uint64_t	live = physical;
	int			rc = 0;

	/* A part wholly inside --offset is not read (deletions are sorted). */
	for (int64_t i = 0; i < deleted->count && deleted->rows[i] < physical; i++)
		live--;
	if (live <= st->skip)
	{
		st->skip -= live;
		return 0;
	}
	for (uint64_t start = 0; start < physical && st->remaining > 0 && rc == 0; start += BATCH_ROWS)
	{
		uint64_t	end = physical - start < BATCH_ROWS ? physical : start + BATCH_ROWS;
		size_t		count = 0;

		for (uint64_t r = start; r < end && st->remaining > 0; r++)
		{
			while (d < deleted->count && deleted->rows[d] < r)
				d++;
			if (d < deleted->count && deleted->rows[d] == r)
				continue;
			if (st->skip > 0)
			{
				st->skip--;
				continue;
			}
			rows[count++] = r;
			st->remaining--;
		}
		if (count > 0)
			rc = print_rows(st, readers, fields, addr_base, rows, count, error);
	}
	return rc;
}

static int
dump_file(const Options *opt, LanceError *error)
{
	OpenFile	file;
	DumpState	st = {.opt = opt};
	OpenFile  **readers = NULL;
	int32_t    *fields = NULL;
	LanceDeletionVector none;
	int			rc;

	rc = open_file(&file, opt->path, error);
	if (rc != 0)
		return rc;
	LanceDeletionVectorInit(&none, NULL);
	st.schema = LanceFileReaderSchema(file.reader);
	st.skip = opt->offset;
	st.remaining = opt->has_limit ? opt->limit : UINT64_MAX;
	rc = select_columns(&st, error);
	if (rc == 0)
	{
		readers = calloc((size_t) st.num_cols + 1, sizeof(*readers));
		fields = calloc((size_t) st.num_cols + 1, sizeof(*fields));
		if (readers == NULL || fields == NULL)
			rc = LanceErrorSet(error, ENOMEM, "out of memory");
	}
	for (int32_t k = 0; rc == 0 && k < st.num_cols; k++)
	{
		readers[k] = &file;
		fields[k] = st.cols[k];
	}
	if (rc == 0)
		rc = dump_part(&st, readers, fields, 0, LanceFileReaderNumRows(file.reader), &none, error);
	free(readers);
	free(fields);
	free(st.cols);
	close_file(&file);
	return rc;
}

/*
 * The dataset schema as a LanceSchema.  A logical type the library cannot
 * represent is an error naming the top-level column it belongs to.
 */
static int
dataset_schema(const LanceManifest *m, LanceSchema *schema, LanceError *error)
{
	int			rc = LanceManifestGetSchema(m, schema, error);
	char		msg[LANCE_ERROR_MESSAGE_SIZE];

	if (rc != ENOTSUP)
		return rc;
	snprintf(msg, sizeof(msg), "%s", LanceErrorMessage(error));
	LanceSchemaReset(schema);
	/* Name the column whose type failed, and whether it was asked for. */
	for (int32_t i = 0; i < m->num_fields; i++)
	{
		const LanceManifestField *f = &m->fields[i];
		LanceField lf = {0};
		int32_t		top = i;

		if (LanceLogicalTypeParse(f->logical_type, &lf, NULL, NULL) == 0)
		{
			free(lf.timezone);
			continue;
		}
		while (m->fields[top].parent_id != -1)
		{
			int32_t		p = top;

			for (int32_t j = 0; j < top; j++)
				if (m->fields[j].id == m->fields[top].parent_id)
					p = j;
			if (p == top)
				break;
			top = p;
		}
		return LanceErrorSet(error, ENOTSUP, "column \"%s\" has type \"%s\", which lance-inspect cannot dump",
							 m->fields[top].name, f->logical_type);
	}
	return LanceErrorSet(error, ENOTSUP, "%s", msg);
}

/*
 * The data file of 'frag' holding top-level field 'field' of 'schema', or
 * -1.  A file may list only the leaves of a nested field (LanceDB's 2.1
 * files list a list's item field, not the list), so any field of the
 * subtree counts; in pre-order the subtree runs up to the next top-level
 * field.
 */
static int32_t
file_with_field(const LanceFragment *frag, const LanceSchema *schema, int32_t field)
{
	for (int32_t k = field; k < schema->num_fields; k++)
	{
		if (k > field && schema->fields[k].parent_id == -1)
			break;
		for (int32_t i = 0; i < frag->num_files; i++)
			for (int32_t j = 0; j < frag->files[i].num_fields; j++)
				if (frag->files[i].fields[j] == schema->fields[k].id)
					return i;
	}
	return -1;
}

static int
dump_fragment(DumpState *st, LanceDataset *ds, const LanceFragment *frag, LanceError *error)
{
	OpenFile   *files = calloc((size_t) frag->num_files + 1, sizeof(OpenFile));
	OpenFile  **readers = calloc((size_t) st->num_cols + 1, sizeof(*readers));
	int32_t    *fields = calloc((size_t) st->num_cols + 1, sizeof(*fields));
	LanceDeletionVector deleted;
	int			rc = 0;

	LanceDeletionVectorInit(&deleted, NULL);
	if (files == NULL || readers == NULL || fields == NULL)
		rc = LanceErrorSet(error, ENOMEM, "out of memory");
	for (int32_t i = 0; files && i < frag->num_files; i++)
		files[i].fd = -1;
	for (int32_t k = 0; rc == 0 && k < st->num_cols; k++)
	{
		const LanceField *f = &st->schema->fields[st->cols[k]];
		int32_t		i = file_with_field(frag, st->schema, st->cols[k]);
		const LanceSchema *fs;

		if (i < 0)
			continue;			/* a column added later: null here */
		if (files[i].reader == NULL)
		{
			char		path[4096];

			rc = LanceDatasetDataFilePath(ds, &frag->files[i], path, sizeof(path), error);
			if (rc == 0)
				rc = open_file(&files[i], path, error);
			if (rc == 0 && LanceFileReaderNumRows(files[i].reader) != frag->physical_rows)
				rc = LanceErrorSet(error, EINVAL, "data file \"%s\" has %" PRIu64 " rows but its fragment has %"
								   PRIu64, path, LanceFileReaderNumRows(files[i].reader), frag->physical_rows);
			if (rc != 0)
				break;
		}
		fs = LanceFileReaderSchema(files[i].reader);
		fields[k] = LanceSchemaFindField(fs, f->id);
		if (fields[k] < 0 || fs->fields[fields[k]].parent_id != -1)
			rc = LanceErrorSet(error, EINVAL, "data file \"%s\" lists field %d (\"%s\") but its schema has no such top-level field",
							   frag->files[i].path, f->id, f->name);
		readers[k] = &files[i];
	}
	if (rc == 0)
		rc = LanceDeletionRead(ds->path, frag, &deleted, error);
	if (rc == 0)
		rc = dump_part(st, readers, fields, frag->id << 32, frag->physical_rows, &deleted, error);
	if (rc != 0)
		rc = with_context(error, rc, "fragment %" PRIu64, frag->id);
	for (int32_t i = 0; files && i < frag->num_files; i++)
		if (files[i].reader != NULL)
			close_file(&files[i]);
	LanceDeletionVectorReset(&deleted);
	free(files);
	free(readers);
	free(fields);
	return rc;
}

static int
dump_dataset(const Options *opt, LanceError *error)
{
	LanceDataset ds;
	LanceSchema schema;
	DumpState	st = {.opt = opt};
	int			rc;

	rc = LanceDatasetOpen(&ds, opt->path, opt->version, NULL, error);
	if (rc != 0)
		return rc;
	LanceSchemaInit(&schema, NULL);
	rc = dataset_schema(&ds.manifest, &schema, error);
	st.schema = &schema;
	st.skip = opt->offset;
	st.remaining = opt->has_limit ? opt->limit : UINT64_MAX;
	if (rc == 0)
		rc = select_columns(&st, error);
	for (int32_t i = 0; rc == 0 && i < ds.manifest.num_fragments && st.remaining > 0; i++)
		rc = dump_fragment(&st, &ds, &ds.manifest.fragments[i], error);
	free(st.cols);
	LanceSchemaReset(&schema);
	LanceDatasetClose(&ds);
	return rc;
}

/* ---------------------------------------------------------------------------
 * info
 * ------------------------------------------------------------------------- */

static void
print_schema_line(const char *name, int32_t id, int32_t parent, const char *type, bool nullable,
				  int depth)
{
	printf("  %4d %6d  %*s%s: %s%s\n", id, parent, depth * 2, "", name, type,
		   nullable ? "" : " not null");
}

static void
print_file_schema(const LanceSchema *s)
{
	printf("schema (%d fields; id, parent id, name: logical type):\n", s->num_fields);
	for (int32_t i = 0; i < s->num_fields; i++)
	{
		char		type[128];
		int			depth = 0;

		for (int32_t p = s->fields[i].parent_id; p != -1 && depth < 64; depth++)
		{
			int32_t		j = LanceSchemaFindField(s, p);

			p = j >= 0 ? s->fields[j].parent_id : -1;
		}
		if (LanceLogicalTypeFormat(&s->fields[i], type, sizeof(type), NULL) != 0)
			snprintf(type, sizeof(type), "?");
		print_schema_line(s->fields[i].name, s->fields[i].id, s->fields[i].parent_id, type,
						  s->fields[i].nullable, depth);
	}
}

static const char *
file_version_name(LanceFileVersion v)
{
	return v == LANCE_FILE_VERSION_2_0 ? "2.0" : "2.1";
}

static int
info_file(const Options *opt, LanceError *error)
{
	OpenFile	file;
	int			rc = open_file(&file, opt->path, error);

	if (rc != 0)
		return rc;
	printf("data file: %s\n", opt->path);
	printf("file format: %s, %" PRIu64 " rows, %d columns, %u global buffers, %" PRIu64 " bytes\n",
		   file_version_name(LanceFileReaderVersion(file.reader)), LanceFileReaderNumRows(file.reader),
		   LanceFileReaderNumColumns(file.reader), LanceFileReaderNumGlobalBuffers(file.reader),
		   file.io.size);
	print_file_schema(LanceFileReaderSchema(file.reader));
	printf("columns:\n");
	rc = InspectDescribeColumns(stdout, &file.io, LanceFileReaderSchema(file.reader), "  ", error);
	close_file(&file);
	return rc;
}

static void
print_flags(const char *what, uint64_t flags)
{
	static const char *const names[] = {"deletion files", "stable row ids", "v2 format",
	"table config", "base paths", "no transaction"};
	bool		first = true;

	printf("%s: %" PRIu64, what, flags);
	for (int b = 0; b < 64; b++)
	{
		if (!(flags >> b & 1))
			continue;
		printf("%s%s", first ? " (" : ", ", b < 6 ? names[b] : "unknown");
		first = false;
	}
	printf("%s\n", first ? "" : ")");
}

static int
info_fragment(LanceDataset *ds, const LanceFragment *frag, LanceError *error)
{
	LanceDeletionVector deleted;
	int			rc;

	LanceDeletionVectorInit(&deleted, NULL);
	printf("  fragment %" PRIu64 ": %" PRIu64 " physical rows, %" PRIu64 " live rows\n", frag->id,
		   frag->physical_rows, LanceFragmentLiveRows(frag));
	if (frag->has_deletion_file)
	{
		char		path[512];

		if (LanceDeletionFormatPath(frag->id, &frag->deletion_file, path, sizeof(path), NULL) != 0)
			snprintf(path, sizeof(path), "?");
		rc = LanceDeletionRead(ds->path, frag, &deleted, error);
		if (rc != 0)
			return with_context(error, rc, "fragment %" PRIu64, frag->id);
		printf("    deletion file: %s (%" PRIu64 " deleted rows recorded, %" PRId64 " in the file)\n",
			   path, frag->deletion_file.num_deleted_rows, deleted.count);
		LanceDeletionVectorReset(&deleted);
	}
	else
		printf("    deletion file: none\n");
	if (frag->row_ids != NULL)
	{
		LanceRowIds ids;

		LanceRowIdsInit(&ids, NULL);
		rc = LanceRowIdsDecode(frag->row_ids, frag->row_ids_len, &ids, error);
		if (rc != 0)
			return with_context(error, rc, "row ids of fragment %" PRIu64, frag->id);
		if (ids.count > 0)
			printf("    stable row ids: %" PRId64 " ids, first %" PRIu64 ", last %" PRIu64 "\n", ids.count,
				   ids.ids[0], ids.ids[ids.count - 1]);
		else
			printf("    stable row ids: none\n");
		LanceRowIdsReset(&ids);
	}
	for (int32_t i = 0; i < frag->num_files; i++)
	{
		const LanceDataFile *df = &frag->files[i];
		char		path[4096];
		OpenFile	file;

		printf("    data file %s: version %u.%u, fields [", df->path, df->major_version, df->minor_version);
		for (int32_t j = 0; j < df->num_fields; j++)
			printf("%s%d", j ? ", " : "", df->fields[j]);
		printf("], column indices [");
		for (int32_t j = 0; j < df->num_column_indices; j++)
			printf("%s%d", j ? ", " : "", df->column_indices[j]);
		printf("]\n");
		rc = LanceDatasetDataFilePath(ds, df, path, sizeof(path), error);
		if (rc == 0)
			rc = open_file(&file, path, error);
		if (rc != 0)
			return rc;
		printf("      %s, %" PRIu64 " rows, %d columns, %" PRIu64 " bytes\n",
			   file_version_name(LanceFileReaderVersion(file.reader)), LanceFileReaderNumRows(file.reader),
			   LanceFileReaderNumColumns(file.reader), file.io.size);
		rc = InspectDescribeColumns(stdout, &file.io, LanceFileReaderSchema(file.reader), "      ", error);
		close_file(&file);
		if (rc != 0)
			return with_context(error, rc, "%s", path);
	}
	return 0;
}

static int
info_dataset(const Options *opt, LanceError *error)
{
	LanceVersionList versions;
	LanceDataset ds;
	const LanceManifest *m;
	char		when[64];
	time_t		t;
	struct tm	tm;
	int			rc;

	rc = LanceDatasetOpen(&ds, opt->path, opt->version, NULL, error);
	if (rc != 0)
		return rc;
	m = &ds.manifest;
	rc = LanceVersionListRead(opt->path, &versions, NULL, error);
	if (rc != 0)
	{
		LanceDatasetClose(&ds);
		return rc;
	}
	t = (time_t) m->timestamp_seconds;
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%" PRId64 " s", m->timestamp_seconds);
	printf("dataset: %s\n", opt->path);
	printf("version: %" PRIu64 " (latest %" PRIu64 "), committed %s\n", m->version, ds.latest_version, when);
	printf("versions (%d, %s naming):", versions.count,
		   versions.naming == LANCE_NAMING_V1 ? "V1 <n>.manifest" :
		   versions.naming == LANCE_NAMING_V2 ? "V2 <2^64-1-n, 20 digits>.manifest" : "no");
	for (int32_t i = 0; i < versions.count; i++)
		printf(" %" PRIu64, versions.versions[i]);
	printf("\n");
	printf("data format: %s %s; written by %s %s\n", m->data_format, *m->data_format_version ?
		   m->data_format_version : "(unrecorded)", m->writer_library, m->writer_version);
	print_flags("reader feature flags", m->reader_feature_flags);
	print_flags("writer feature flags", m->writer_feature_flags);
	printf("next row id: %" PRIu64 "\n", m->next_row_id);
	printf("schema (%d fields; id, parent id, name: logical type):\n", m->num_fields);
	for (int32_t i = 0; i < m->num_fields; i++)
	{
		int			depth = 0;

		for (int32_t p = m->fields[i].parent_id; p != -1 && depth < 64; depth++)
		{
			int32_t		q = -1;

			for (int32_t j = 0; j < m->num_fields; j++)
				if (m->fields[j].id == p)
					q = m->fields[j].parent_id;
			p = q;
		}
		print_schema_line(m->fields[i].name, m->fields[i].id, m->fields[i].parent_id,
						  m->fields[i].logical_type, m->fields[i].nullable, depth);
	}
	printf("fragments (%d, %" PRIu64 " live rows):\n", m->num_fragments, LanceDatasetCountRows(&ds));
	for (int32_t i = 0; i < m->num_fragments && rc == 0; i++)
		rc = info_fragment(&ds, &m->fragments[i], error);
	LanceVersionListReset(&versions);
	LanceDatasetClose(&ds);
	return rc;
}

/* ---------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------- */

int
main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	Options		opt;
	LanceError	error = {{0}};
	bool		dir;
	int			rc;

	parse_options(argc, argv, &opt);
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	dir = is_directory(opt.path, &error, &rc);
	if (rc != 0)
		return fail(&error);
	if (!dir && opt.has_version)
	{
		LanceErrorSet(&error, EINVAL, "--version applies to a dataset directory, but \"%s\" is a single data file",
					  opt.path);
		return fail(&error);
	}
	if (strcmp(opt.command, "dump") == 0)
		rc = dir ? dump_dataset(&opt, &error) : dump_file(&opt, &error);
	else
		rc = dir ? info_dataset(&opt, &error) : info_file(&opt, &error);
	if (fflush(stdout) != 0 && rc == 0)
		rc = LanceErrorSet(&error, errno ? errno : EIO, "writing the output failed: %s", strerror(errno));
	return rc == 0 ? 0 : fail(&error);
}
