/*
 * inspect_pages.c
 *	  The page listing of `lance-inspect info`: for every column of a data
 *	  file, its pages with their rows, buffer sizes, and layout and
 *	  compressive encodings by name (e.g. `mini_block{value: flat(64)}`).
 *
 * The library's reader keeps page encodings private (it only decodes
 * values), so this file reads the column metadata itself: the 40-byte
 * footer, the column metadata offset table, and each ColumnMetadata message
 * through the library's generated protobuf code (fact sheet section 2.2).
 * The caller has already opened the file with LanceFileReaderOpen, which
 * validated all of it; checks here only keep a corrupt file from crashing.
 *
 * Encodings are printed by walking the protobuf-c descriptors, so every
 * encoding the .proto files declare gets a name, including ones the reader
 * does not implement (which is when a user most wants to see them):
 *	- a message that wraps a single oneof member (PageLayout,
 *	  CompressiveEncoding, ArrayEncoding) prints as that member's name;
 *	- a message prints its set fields as {name: value, ...} (a chosen oneof
 *	  variant as name{...}), or (value) when it has a single scalar field
 *	  set, or nothing ({} as a field value) when empty;
 *	- field names lose the "_layout"/"_compression" suffixes.
 */
#include "inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lance/proto/encodings_v2_0.pb-c.h"
#include "lance/proto/encodings_v2_1.pb-c.h"
#include "lance/proto/file2.pb-c.h"
#include "lance/proto/wire.pb-c.h"

#define FOOTER_SIZE 40
/* Column metadata messages are small; refuse absurd sizes before malloc. */
#define MAX_METADATA_BYTES (64u << 20)

/* The messages an Any may hold, by full name (its type_url minus "/"). */
static const ProtobufCMessageDescriptor *const any_types[] = {
	&lance__encodings21__page_layout__descriptor,
	&lance__encodings__array_encoding__descriptor,
	&lance__encodings__column_encoding__descriptor,
};

static void print_message(FILE *out, const ProtobufCMessage *msg);

/* ---------------------------------------------------------------------------
 * Reflective printing
 * ------------------------------------------------------------------------- */

static void
print_field_name(FILE *out, const char *name)
{
	static const char *const suffixes[] = {"_layout", "_compression"};
	size_t		len = strlen(name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
	{
		size_t		s = strlen(suffixes[i]);

		if (len > s && strcmp(name + len - s, suffixes[i]) == 0)
		{
			len -= s;
			break;
		}
	}
	fwrite(name, 1, len, out);
}

/* Is field 'f' of 'msg' set (proto3: non-default), and how many values? */
static size_t
field_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *) msg;
	const void *p = base + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *) (base + f->quantifier_offset);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *) (base + f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
		f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
		return *(const protobuf_c_boolean *) (base + f->quantifier_offset) != 0;
	switch (f->type)
	{
		case PROTOBUF_C_TYPE_MESSAGE:
			return *(void *const *) p != NULL;
		case PROTOBUF_C_TYPE_STRING:
			return *(char *const *) p != NULL && **(char *const *) p != '\0';
		case PROTOBUF_C_TYPE_BYTES:
			return ((const ProtobufCBinaryData *) p)->len != 0;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
		case PROTOBUF_C_TYPE_DOUBLE:
			return *(const uint64_t *) p != 0;
		case PROTOBUF_C_TYPE_BOOL:
			return *(const protobuf_c_boolean *) p != 0;
		default:				/* 32-bit scalars and enums */
			return *(const uint32_t *) p != 0;
	}
}

static size_t
value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type)
	{
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
		case PROTOBUF_C_TYPE_DOUBLE:
			return 8;
		case PROTOBUF_C_TYPE_BOOL:
			return sizeof(protobuf_c_boolean);
		case PROTOBUF_C_TYPE_MESSAGE:
		case PROTOBUF_C_TYPE_STRING:
			return sizeof(void *);
		case PROTOBUF_C_TYPE_BYTES:
			return sizeof(ProtobufCBinaryData);
		default:
			return 4;
	}
}

/* One value of field 'f' stored at 'p'. */
static void
print_value(FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type)
	{
		case PROTOBUF_C_TYPE_MESSAGE:
		{
			const ProtobufCMessage *m = *(const ProtobufCMessage *const *) p;
			bool		empty = true;

			for (unsigned i = 0; i < m->descriptor->n_fields && empty; i++)
				empty = field_count(m, &m->descriptor->fields[i]) == 0;
			if (empty)
				fputs("{}", out);
			else
				print_message(out, m);
			return;
		}
		case PROTOBUF_C_TYPE_STRING:
			fprintf(out, "\"%s\"", *(char *const *) p);
			return;
		case PROTOBUF_C_TYPE_BYTES:
			fprintf(out, "<%zu bytes>", ((const ProtobufCBinaryData *) p)->len);
			return;
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
			fprintf(out, "%" PRId64, *(const int64_t *) p);
			return;
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
			fprintf(out, "%" PRIu64, *(const uint64_t *) p);
			return;
		case PROTOBUF_C_TYPE_INT32:
		case PROTOBUF_C_TYPE_SINT32:
		case PROTOBUF_C_TYPE_SFIXED32:
			fprintf(out, "%" PRId32, *(const int32_t *) p);
			return;
		case PROTOBUF_C_TYPE_BOOL:
			fputs(*(const protobuf_c_boolean *) p ? "true" : "false", out);
			return;
		case PROTOBUF_C_TYPE_ENUM:
		{
			const ProtobufCEnumValue *v =
				protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *) p);

			if (v)
				fputs(v->name, out);
			else
				fprintf(out, "%d", *(const int *) p);
			return;
		}
		case PROTOBUF_C_TYPE_FLOAT:
			fprintf(out, "%g", (double) *(const float *) p);
			return;
		case PROTOBUF_C_TYPE_DOUBLE:
			fprintf(out, "%g", *(const double *) p);
			return;
		default:
			fprintf(out, "%" PRIu32, *(const uint32_t *) p);
			return;
	}
}

/* Field 'f' of 'msg', all its values. */
static void
print_field_values(FILE *out, const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
				   size_t count)
{
	const char *p = (const char *) msg + f->offset;

	if (f->label != PROTOBUF_C_LABEL_REPEATED)
	{
		print_value(out, f, p);
		return;
	}
	putc('[', out);
	for (size_t i = 0; i < count; i++)
	{
		if (i > 0)
			fputs(", ", out);
		print_value(out, f, *(char *const *) p + i * value_size(f));
	}
	putc(']', out);
}

/* The body of a message: "", "(value)" or "{name: value, ...}". */
static void
print_body(FILE *out, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	unsigned	set = 0;
	const ProtobufCFieldDescriptor *only = NULL;

	for (unsigned i = 0; i < d->n_fields; i++)
		if (field_count(msg, &d->fields[i]))
		{
			set++;
			only = &d->fields[i];
		}
	if (set == 0)
		return;
	if (set == 1 && only->type != PROTOBUF_C_TYPE_MESSAGE &&
		only->label != PROTOBUF_C_LABEL_REPEATED)
	{
		putc('(', out);
		print_value(out, only, (const char *) msg + only->offset);
		putc(')', out);
		return;
	}
	putc('{', out);
	set = 0;
	for (unsigned i = 0; i < d->n_fields; i++)
	{
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		size_t		n = field_count(msg, f);

		if (n == 0)
			continue;
		if (set++ > 0)
			fputs(", ", out);
		print_field_name(out, f->name);
		if (f->type == PROTOBUF_C_TYPE_BOOL && f->label != PROTOBUF_C_LABEL_REPEATED)
			continue;			/* a set bool is its name */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type == PROTOBUF_C_TYPE_MESSAGE)
		{
			/* the chosen variant: its name, then its body */
			print_body(out, *(const ProtobufCMessage *const *) ((const char *) msg + f->offset));
			continue;
		}
		fputs(": ", out);
		print_field_values(out, msg, f, n);
	}
	putc('}', out);
}

static void
print_message(FILE *out, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	const ProtobufCFieldDescriptor *member = NULL;
	unsigned	set = 0;

	for (unsigned i = 0; i < d->n_fields; i++)
		if (field_count(msg, &d->fields[i]))
		{
			set++;
			member = &d->fields[i];
		}
	/* A wrapper of one oneof member prints as the member. */
	if (set == 1 && (member->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
	{
		print_field_name(out, member->name);
		if (member->type == PROTOBUF_C_TYPE_MESSAGE)
			print_body(out, *(const ProtobufCMessage *const *) ((const char *) msg + member->offset));
		else
		{
			putc('(', out);
			print_value(out, member, (const char *) msg + member->offset);
			putc(')', out);
		}
		return;
	}
	print_body(out, msg);
}

/* An Encoding (the page's or the column's), decoded from its Any. */
static void
print_encoding(FILE *out, const Lance__File__V2__Encoding *enc)
{
	Lance__Wire__Any *any;

	if (enc == NULL || enc->location_case == LANCE__FILE__V2__ENCODING__LOCATION_NONE)
	{
		fputs("none", out);
		return;
	}
	if (enc->location_case == LANCE__FILE__V2__ENCODING__LOCATION_INDIRECT)
	{
		fputs("indirect", out);
		return;
	}
	if (enc->location_case != LANCE__FILE__V2__ENCODING__LOCATION_DIRECT || enc->direct == NULL)
	{
		fputs("(unknown location)", out);
		return;
	}
	any = lance__wire__any__unpack(NULL, enc->direct->encoding.len, enc->direct->encoding.data);
	if (any == NULL)
	{
		fputs("(corrupt encoding)", out);
		return;
	}
	for (size_t i = 0; i < sizeof(any_types) / sizeof(any_types[0]); i++)
	{
		const char *url = any->type_url ? any->type_url : "";
		ProtobufCMessage *m;

		if (url[0] != '/' || strcmp(url + 1, any_types[i]->name) != 0)
			continue;
		m = protobuf_c_message_unpack(any_types[i], NULL, any->value.len, any->value.data);
		if (m == NULL)
			fprintf(out, "(corrupt %s)", any_types[i]->short_name);
		else
		{
			print_message(out, m);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		lance__wire__any__free_unpacked(any, NULL);
		return;
	}
	fprintf(out, "(unknown encoding \"%s\")", any->type_url ? any->type_url : "");
	lance__wire__any__free_unpacked(any, NULL);
}

/* ---------------------------------------------------------------------------
 * The column listing
 * ------------------------------------------------------------------------- */

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Read [offset, offset + len) of the file into a new malloc'd buffer. */
static int
read_range(const LanceFileIo *io, uint64_t offset, uint64_t len, uint8_t **out, LanceError *error)
{
	int			rc;

	*out = NULL;
	if (offset > io->size || len > io->size - offset || len > MAX_METADATA_BYTES)
		return LanceErrorSet(error, EINVAL, "expected a range inside the file's %" PRIu64
							 " bytes but found %" PRIu64 "+%" PRIu64, io->size, offset, len);
	*out = malloc(len ? len : 1);
	if (*out == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	rc = len ? io->read(io->ctx, offset, (size_t) len, *out) : 0;
	if (rc != 0)
	{
		free(*out);
		*out = NULL;
		return LanceErrorSet(error, rc, "reading %" PRIu64 " bytes at %" PRIu64 " failed: %s",
							 len, offset, strerror(rc));
	}
	return 0;
}

/* The name of the leaf field behind column 'c' (files store leaves in
 * schema order, minus list/struct parents in 2.1), or NULL. */
static const char *
column_name(const LanceSchema *schema, bool v21, uint32_t c)
{
	uint32_t	next = 0;

	for (int32_t i = 0; schema && i < schema->num_fields; i++)
	{
		LanceTypeId t = schema->fields[i].type;

		if (v21 && (t == LANCE_TYPE_LIST || t == LANCE_TYPE_STRUCT))
			continue;
		if (next++ == c)
			return schema->fields[i].name;
	}
	return NULL;
}

static void
print_column(FILE *out, const Lance__File__V2__ColumnMetadata *cm, const char *indent)
{
	fprintf(out, "%s  column encoding: ", indent);
	print_encoding(out, cm->encoding);
	putc('\n', out);
	for (size_t p = 0; p < cm->n_pages; p++)
	{
		const Lance__File__V2__ColumnMetadata__Page *pg = cm->pages[p];
		uint64_t	bytes = 0;

		for (size_t b = 0; b < pg->n_buffer_sizes; b++)
			bytes += pg->buffer_sizes[b];
		fprintf(out, "%s  page %zu: rows %" PRIu64 "..%" PRIu64 ", %zu buffers, %" PRIu64 " bytes: ",
				indent, p, pg->priority, pg->priority + pg->length, pg->n_buffer_sizes, bytes);
		print_encoding(out, pg->encoding);
		putc('\n', out);
	}
}

int
InspectDescribeColumns(FILE *out, const LanceFileIo *io, const LanceSchema *schema,
					   const char *indent, LanceError *error)
{
	uint8_t		footer[FOOTER_SIZE];
	uint8_t    *table = NULL;
	uint64_t	cmo,
				gbo;
	uint32_t	num_columns;
	bool		v21;
	int			rc;

	if (io->size < FOOTER_SIZE)
		return LanceErrorSet(error, EINVAL, "expected a file of at least %d bytes but found %" PRIu64,
							 FOOTER_SIZE, io->size);
	rc = io->read(io->ctx, io->size - FOOTER_SIZE, FOOTER_SIZE, footer);
	if (rc != 0)
		return LanceErrorSet(error, rc, "reading the footer failed: %s", strerror(rc));
	if (memcmp(footer + 36, "LANC", 4) != 0)
		return LanceErrorSet(error, EINVAL, "expected the magic \"LANC\" at the end of the file");
	gbo = le64(footer + 16);
	num_columns = le32(footer + 28);
	v21 = footer[32] == 2 && footer[34] >= 1;
	/* As Lance does: the offset table is the 16 * columns bytes before the GBO table. */
	if (gbo < (uint64_t) num_columns * 16)
		return LanceErrorSet(error, EINVAL, "the column metadata offset table lies before the file start");
	cmo = gbo - (uint64_t) num_columns * 16;
	rc = read_range(io, cmo, (uint64_t) num_columns * 16, &table, error);
	if (rc != 0)
		return rc;
	for (uint32_t c = 0; c < num_columns && rc == 0; c++)
	{
		uint8_t    *bytes;
		Lance__File__V2__ColumnMetadata *cm;
		const char *name = column_name(schema, v21, c);

		rc = read_range(io, le64(table + c * 16), le64(table + c * 16 + 8), &bytes, error);
		if (rc != 0)
			break;
		cm = lance__file__v2__column_metadata__unpack(NULL, (size_t) le64(table + c * 16 + 8), bytes);
		free(bytes);
		if (cm == NULL)
		{
			rc = LanceErrorSet(error, EINVAL, "the metadata of column %u is not a ColumnMetadata message", c);
			break;
		}
		fprintf(out, "%scolumn %u", indent, c);
		if (name)
			fprintf(out, " (%s)", name);
		fprintf(out, ": %zu pages\n", cm->n_pages);
		print_column(out, cm, indent);
		lance__file__v2__column_metadata__free_unpacked(cm, NULL);
	}
	free(table);
	return rc;
}
