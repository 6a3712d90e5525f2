/*
 * schema.c
 *	  LanceSchema: building, copying and validating schemas, Lance logical
 *	  type strings, and conversion to and from the lance.file.Field/Schema
 *	  protobufs (schema_proto.h).
 *
 * This file is the one place that knows how a LanceField maps onto the
 * logical type string and Field message lance 8.0.0 writes (fact sheet
 * section 2.3): a fixed_size_list has no child field, the whole type lives
 * in its string; list and struct have children that follow in pre-order.
 */
#include "lance/lance_internal.h"
#include "lance/schema_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct TypeName
{
	LanceTypeId type;
	const char *name;
	size_t		width;			/* bytes per value; 0: bool or not fixed-width */
} TypeName;

/* Simple (parameterless) types, in the order of LanceTypeId. */
static const TypeName simple_types[] = {
	{LANCE_TYPE_BOOL, "bool", 0},
	{LANCE_TYPE_INT8, "int8", 1},
	{LANCE_TYPE_INT16, "int16", 2},
	{LANCE_TYPE_INT32, "int32", 4},
	{LANCE_TYPE_INT64, "int64", 8},
	{LANCE_TYPE_UINT8, "uint8", 1},
	{LANCE_TYPE_UINT16, "uint16", 2},
	{LANCE_TYPE_UINT32, "uint32", 4},
	{LANCE_TYPE_UINT64, "uint64", 8},
	{LANCE_TYPE_FLOAT16, "halffloat", 2},
	{LANCE_TYPE_FLOAT32, "float", 4},
	{LANCE_TYPE_FLOAT64, "double", 8},
	{LANCE_TYPE_UTF8, "string", 0},
	{LANCE_TYPE_BINARY, "binary", 0},
	{LANCE_TYPE_LARGE_UTF8, "large_string", 0},
	{LANCE_TYPE_LARGE_BINARY, "large_binary", 0},
	{LANCE_TYPE_DATE32, "date32:day", 4},
	{LANCE_TYPE_LIST, "list", 0},
	{LANCE_TYPE_STRUCT, "struct", 0},
};

#define NUM_SIMPLE_TYPES (sizeof(simple_types) / sizeof(simple_types[0]))

static const TypeName *
find_simple(LanceTypeId type)
{
	for (size_t i = 0; i < NUM_SIMPLE_TYPES; i++)
		if (simple_types[i].type == type)
			return &simple_types[i];
	return NULL;
}

size_t
LanceTypeByteWidth(LanceTypeId type)
{
	const TypeName *t;

	if (type == LANCE_TYPE_TIMESTAMP_US)
		return 8;
	t = find_simple(type);
	return t == NULL ? 0 : t->width;
}

/* A type that may be the item of a fixed_size_list: fixed-width primitive. */
static bool
is_fsl_item_type(LanceTypeId type)
{
	return type != LANCE_TYPE_DATE32 && type != LANCE_TYPE_TIMESTAMP_US &&
		LanceTypeByteWidth(type) > 0;
}

/* ---------------------------------------------------------------------------
 * Schema objects
 * ------------------------------------------------------------------------- */

void
LanceSchemaInit(LanceSchema *schema, const LanceAllocator *allocator)
{
	memset(schema, 0, sizeof(*schema));
	schema->allocator = allocator;
}

static void
field_free_strings(const LanceAllocator *a, LanceField *f)
{
	LanceStrfree(a, f->name);
	LanceStrfree(a, f->timezone);
	f->name = NULL;
	f->timezone = NULL;
}

void
LanceSchemaReset(LanceSchema *schema)
{
	const LanceAllocator *a = schema->allocator;

	for (int32_t i = 0; i < schema->num_fields; i++)
		field_free_strings(a, &schema->fields[i]);
	LanceFree(a, schema->fields, sizeof(LanceField) * (size_t) schema->num_fields);
	for (int32_t i = 0; i < schema->num_metadata; i++)
	{
		LanceStrfree(a, schema->metadata[i].key);
		LanceFree(a, schema->metadata[i].value, schema->metadata[i].value_len);
	}
	LanceFree(a, schema->metadata,
			  sizeof(LanceKeyValue) * (size_t) schema->num_metadata);
	LanceSchemaInit(schema, a);
}

int
LanceSchemaAddField(LanceSchema *schema, const LanceField *field, LanceError *error)
{
	const LanceAllocator *a = schema->allocator;
	LanceField *fields;
	LanceField	copy = *field;
	size_t		n = (size_t) schema->num_fields;

	if (schema->num_fields == INT32_MAX)
		return LanceErrorSet(error, EINVAL, "too many fields");
	copy.name = LanceStrdup(a, field->name == NULL ? "" : field->name);
	copy.timezone = LanceStrdup(a, field->timezone);
	if (copy.name == NULL || (field->timezone != NULL && copy.timezone == NULL))
	{
		field_free_strings(a, &copy);
		return LanceErrorSet(error, ENOMEM, "out of memory adding field");
	}
	fields = LanceRealloc(a, schema->fields, sizeof(LanceField) * n,
						  sizeof(LanceField) * (n + 1));
	if (fields == NULL)
	{
		field_free_strings(a, &copy);
		return LanceErrorSet(error, ENOMEM, "out of memory adding field");
	}
	fields[n] = copy;
	schema->fields = fields;
	schema->num_fields++;
	return 0;
}

int
LanceSchemaAddMetadata(LanceSchema *schema, const char *key, const void *value,
					   size_t value_len, LanceError *error)
{
	const LanceAllocator *a = schema->allocator;
	size_t		n = (size_t) schema->num_metadata;
	LanceKeyValue kv;
	LanceKeyValue *md;

	if (schema->num_metadata == INT32_MAX)
		return LanceErrorSet(error, EINVAL, "too many metadata entries");
	kv.key = LanceStrdup(a, key == NULL ? "" : key);
	kv.value = LanceAlloc(a, value_len);
	kv.value_len = value_len;
	md = (kv.key && kv.value) ?
		LanceRealloc(a, schema->metadata, sizeof(LanceKeyValue) * n,
					 sizeof(LanceKeyValue) * (n + 1)) : NULL;
	if (md == NULL)
	{
		LanceStrfree(a, kv.key);
		LanceFree(a, kv.value, value_len);
		return LanceErrorSet(error, ENOMEM, "out of memory adding metadata");
	}
	if (value_len > 0)
		memcpy(kv.value, value, value_len);
	md[n] = kv;
	schema->metadata = md;
	schema->num_metadata++;
	return 0;
}

int
LanceSchemaCopy(LanceSchema *target, const LanceSchema *source, LanceError *error)
{
	int			rc;

	for (int32_t i = 0; i < source->num_fields; i++)
		if ((rc = LanceSchemaAddField(target, &source->fields[i], error)) != 0)
			return rc;
	for (int32_t i = 0; i < source->num_metadata; i++)
	{
		const LanceKeyValue *kv = &source->metadata[i];

		if ((rc = LanceSchemaAddMetadata(target, kv->key, kv->value,
										 kv->value_len, error)) != 0)
			return rc;
	}
	return 0;
}

int32_t
LanceSchemaFindField(const LanceSchema *schema, int32_t field_id)
{
	for (int32_t i = 0; i < schema->num_fields; i++)
		if (schema->fields[i].id == field_id)
			return i;
	return -1;
}

int
LanceSchemaValidate(const LanceSchema *schema, LanceError *error)
{
	for (int32_t i = 0; i < schema->num_fields; i++)
	{
		const LanceField *f = &schema->fields[i];
		const char *name = f->name ? f->name : "";

		if (f->id < 0)
			return LanceErrorSet(error, EINVAL,
								 "field \"%s\": expected an id >= 0 but found %d",
								 name, f->id);
		for (int32_t j = 0; j < i; j++)
			if (schema->fields[j].id == f->id)
				return LanceErrorSet(error, EINVAL,
									 "fields \"%s\" and \"%s\" share the id %d",
									 schema->fields[j].name, name, f->id);
		if (f->type <= LANCE_TYPE_INVALID || f->type > LANCE_TYPE_STRUCT)
			return LanceErrorSet(error, EINVAL, "field \"%s\" has no valid type", name);
		if (f->parent_id == -1)
		{
			if (strchr(name, '.') != NULL)
				return LanceErrorSet(error, EINVAL,
									 "top-level field name \"%s\" contains '.'", name);
		}
		else
		{
			int32_t		p = -1;

			for (int32_t j = 0; j < i; j++)
				if (schema->fields[j].id == f->parent_id)
					p = j;
			if (p < 0)
				return LanceErrorSet(error, EINVAL,
									 "field \"%s\": expected its parent %d before it (pre-order) but found none",
									 name, f->parent_id);
			if (schema->fields[p].type != LANCE_TYPE_STRUCT &&
				schema->fields[p].type != LANCE_TYPE_LIST)
				return LanceErrorSet(error, EINVAL,
									 "field \"%s\": parent \"%s\" is neither a struct nor a list",
									 name, schema->fields[p].name);
		}
		if (f->type == LANCE_TYPE_FIXED_SIZE_LIST)
		{
			if (!is_fsl_item_type(f->item_type))
				return LanceErrorSet(error, EINVAL,
									 "field \"%s\": fixed_size_list items must be a fixed-width primitive",
									 name);
			if (f->list_size <= 0)
				return LanceErrorSet(error, EINVAL,
									 "field \"%s\": expected a list size > 0 but found %d",
									 name, f->list_size);
		}
		if (f->type == LANCE_TYPE_LIST)
		{
			int			children = 0;

			for (int32_t j = i + 1; j < schema->num_fields; j++)
				if (schema->fields[j].parent_id == f->id)
					children++;
			if (children != 1)
				return LanceErrorSet(error, EINVAL,
									 "list field \"%s\": expected 1 child field but found %d",
									 name, children);
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Logical type strings
 * ------------------------------------------------------------------------- */

static int
parse_simple(const char *s, size_t len, LanceTypeId *type)
{
	for (size_t i = 0; i < NUM_SIMPLE_TYPES; i++)
		if (strlen(simple_types[i].name) == len &&
			memcmp(simple_types[i].name, s, len) == 0)
		{
			*type = simple_types[i].type;
			return 0;
		}
	return ENOTSUP;
}

int
LanceLogicalTypeParse(const char *logical_type, LanceField *field,
					  const LanceAllocator *allocator, LanceError *error)
{
	const char *s = logical_type ? logical_type : "";
	LanceTypeId type;

	field->item_type = LANCE_TYPE_INVALID;
	field->list_size = 0;
	field->timezone = NULL;
	if (strcmp(s, "list.struct") == 0)
	{
		field->type = LANCE_TYPE_LIST;
		return 0;
	}
	if (parse_simple(s, strlen(s), &type) == 0)
	{
		field->type = type;
		return 0;
	}
	if (strncmp(s, "fixed_size_list:", 16) == 0)
	{
		const char *item = s + 16;
		const char *colon = strrchr(item, ':');
		char	   *end;
		long		n;

		if (colon == NULL || colon == item)
			return LanceErrorSet(error, EINVAL, "malformed logical type \"%s\"", s);
		errno = 0;
		n = strtol(colon + 1, &end, 10);
		if (*end != '\0' || end == colon + 1 || errno != 0 || n <= 0 || n > INT32_MAX)
			return LanceErrorSet(error, EINVAL,
								 "logical type \"%s\": expected a list size > 0", s);
		if (parse_simple(item, (size_t) (colon - item), &type) != 0 ||
			!is_fsl_item_type(type))
			return LanceErrorSet(error, ENOTSUP,
								 "unsupported logical type \"%s\"", s);
		field->type = LANCE_TYPE_FIXED_SIZE_LIST;
		field->item_type = type;
		field->list_size = (int32_t) n;
		return 0;
	}
	if (strncmp(s, "timestamp:us:", 13) == 0)
	{
		const char *tz = s + 13;

		field->type = LANCE_TYPE_TIMESTAMP_US;
		if (*tz == '\0')
			return LanceErrorSet(error, EINVAL, "malformed logical type \"%s\"", s);
		if (strcmp(tz, "-") != 0)
		{
			field->timezone = LanceStrdup(allocator, tz);
			if (field->timezone == NULL)
				return LanceErrorSet(error, ENOMEM, "out of memory");
		}
		return 0;
	}
	return LanceErrorSet(error, ENOTSUP, "unsupported logical type \"%s\"", s);
}

int
LanceLogicalTypeFormat(const LanceField *field, char *buffer, size_t buffer_size,
					   LanceError *error)
{
	const TypeName *t;
	int			n;

	if (field->type == LANCE_TYPE_FIXED_SIZE_LIST)
	{
		t = find_simple(field->item_type);
		if (t == NULL || !is_fsl_item_type(field->item_type))
			return LanceErrorSet(error, EINVAL, "fixed_size_list with an invalid item type");
		n = snprintf(buffer, buffer_size, "fixed_size_list:%s:%d", t->name,
					 field->list_size);
	}
	else if (field->type == LANCE_TYPE_TIMESTAMP_US)
		n = snprintf(buffer, buffer_size, "timestamp:us:%s",
					 field->timezone ? field->timezone : "-");
	else
	{
		t = find_simple(field->type);
		if (t == NULL)
			return LanceErrorSet(error, EINVAL, "invalid type id %d", (int) field->type);
		n = snprintf(buffer, buffer_size, "%s", t->name);
	}
	if (n < 0 || (size_t) n >= buffer_size)
		return LanceErrorSet(error, EINVAL, "logical type buffer of %zu bytes is too small",
							 buffer_size);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Protobuf conversion
 * ------------------------------------------------------------------------- */

int
LanceSchemaFromProtoFields(LanceSchema *schema, Lance__File__Field *const *fields,
						   size_t num_fields, LanceError *error)
{
	for (size_t i = 0; i < num_fields; i++)
	{
		const Lance__File__Field *pf = fields[i];
		LanceField	f;
		int			rc;

		memset(&f, 0, sizeof(f));
		if (pf == NULL || pf->name == NULL || pf->name[0] == '\0')
			return LanceErrorSet(error, EINVAL, "field %zu has no name", i);
		rc = LanceLogicalTypeParse(pf->logical_type, &f, schema->allocator, error);
		if (rc != 0)
		{
			char		msg[LANCE_ERROR_MESSAGE_SIZE];

			snprintf(msg, sizeof(msg), "%s", LanceErrorMessage(error));
			LanceStrfree(schema->allocator, f.timezone);
			return LanceErrorSet(error, rc, "field \"%.64s\": %s", pf->name, msg);
		}
		f.name = pf->name;
		f.id = pf->id;
		f.parent_id = pf->parent_id;
		f.nullable = pf->nullable;
		rc = LanceSchemaAddField(schema, &f, error);
		LanceStrfree(schema->allocator, f.timezone);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
LanceSchemaFromProto(LanceSchema *schema, const Lance__File__Schema *proto,
					 LanceError *error)
{
	int			rc;

	rc = LanceSchemaFromProtoFields(schema, proto->fields, proto->n_fields, error);
	for (size_t i = 0; rc == 0 && i < proto->n_metadata; i++)
	{
		const Lance__File__Schema__MetadataEntry *e = proto->metadata[i];

		rc = LanceSchemaAddMetadata(schema, e->key, e->value.data, e->value.len, error);
	}
	return rc != 0 ? rc : LanceSchemaValidate(schema, error);
}

void
LanceSchemaProtoFree(Lance__File__Schema *proto)
{
	if (proto == NULL)
		return;
	for (size_t i = 0; i < proto->n_fields; i++)
	{
		if (proto->fields[i] == NULL)
			continue;
		free(proto->fields[i]->name);
		free(proto->fields[i]->logical_type);
		free(proto->fields[i]);
	}
	free(proto->fields);
	for (size_t i = 0; i < proto->n_metadata; i++)
	{
		if (proto->metadata[i] == NULL)
			continue;
		free(proto->metadata[i]->key);
		free(proto->metadata[i]->value.data);
		free(proto->metadata[i]);
	}
	free(proto->metadata);
	free(proto);
}

static Lance__File__Field__Encoding
v1_encoding_hint(LanceTypeId type)
{
	switch (type)
	{
		case LANCE_TYPE_UTF8:
		case LANCE_TYPE_BINARY:
		case LANCE_TYPE_LARGE_UTF8:
		case LANCE_TYPE_LARGE_BINARY:
			return LANCE__FILE__FIELD__ENCODING__VAR_BINARY;
		case LANCE_TYPE_STRUCT:
			return LANCE__FILE__FIELD__ENCODING__NONE;
		default:
			return LANCE__FILE__FIELD__ENCODING__PLAIN;
	}
}

int
LanceSchemaToProto(const LanceSchema *schema, Lance__File__Schema **out,
				   LanceError *error)
{
	Lance__File__Schema *p;
	char		type[128];
	int			rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return LanceErrorSet(error, ENOMEM, "out of memory");
	lance__file__schema__init(p);
	p->fields = calloc((size_t) schema->num_fields + 1, sizeof(*p->fields));
	p->metadata = calloc((size_t) schema->num_metadata + 1, sizeof(*p->metadata));
	if (p->fields == NULL || p->metadata == NULL)
		goto oom;
	for (int32_t i = 0; i < schema->num_fields; i++)
	{
		const LanceField *f = &schema->fields[i];
		Lance__File__Field *pf;

		if ((rc = LanceLogicalTypeFormat(f, type, sizeof(type), error)) != 0)
		{
			LanceSchemaProtoFree(p);
			return rc;
		}
		pf = calloc(1, sizeof(*pf));
		if (pf == NULL)
			goto oom;
		lance__file__field__init(pf);
		p->fields[p->n_fields++] = pf;
		pf->name = strdup(f->name ? f->name : "");
		pf->logical_type = strdup(type);
		if (pf->name == NULL || pf->logical_type == NULL)
			goto oom;
		pf->id = f->id;
		pf->parent_id = f->parent_id;
		pf->nullable = f->nullable;
		pf->encoding = v1_encoding_hint(f->type);
	}
	for (int32_t i = 0; i < schema->num_metadata; i++)
	{
		const LanceKeyValue *kv = &schema->metadata[i];
		Lance__File__Schema__MetadataEntry *e = calloc(1, sizeof(*e));

		if (e == NULL)
			goto oom;
		lance__file__schema__metadata_entry__init(e);
		p->metadata[p->n_metadata++] = e;
		e->key = strdup(kv->key);
		e->value.data = malloc(kv->value_len + 1);
		if (e->key == NULL || e->value.data == NULL)
			goto oom;
		if (kv->value_len > 0)
			memcpy(e->value.data, kv->value, kv->value_len);
		e->value.len = kv->value_len;
	}
	*out = p;
	return 0;
oom:
	LanceSchemaProtoFree(p);
	return LanceErrorSet(error, ENOMEM, "out of memory building the schema protobuf");
}
