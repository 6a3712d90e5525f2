/*
 * test_lance_schema.c
 *	  Unit tests of src/lance/schema.c, error.c and allocator.c: schema
 *	  building and validation, logical type strings (parse/format round trip
 *	  for every type in lance.h) and LanceSchema <-> lance.file.Schema
 *	  protobuf round trips, including the exact bytes lance 8 writes.
 */
#include "tap.h"

#include "lance/lance_internal.h"
#include "lance/schema_proto.h"

#include <stdlib.h>
#include <string.h>

/* A counting allocator: every byte allocated must be freed. */
typedef struct Counting
{
	long		live;
	size_t		bytes;
} Counting;

static void *
c_alloc(void *ctx, size_t size)
{
	Counting   *c = ctx;

	c->live++;
	c->bytes += size;
	return malloc(size ? size : 1);
}

static void *
c_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
	Counting   *c = ctx;

	c->bytes += new_size - old_size;
	return realloc(ptr, new_size ? new_size : 1);
}

static void
c_free(void *ctx, void *ptr, size_t size)
{
	Counting   *c = ctx;

	c->live--;
	c->bytes -= size;
	free(ptr);
}

static LanceField
mkfield(const char *name, int id, int parent, LanceTypeId type, bool nullable)
{
	LanceField	f;

	memset(&f, 0, sizeof(f));
	f.name = (char *) name;
	f.id = id;
	f.parent_id = parent;
	f.type = type;
	f.nullable = nullable;
	return f;
}

static void
test_errors(void)
{
	LanceError	e;

	tap_ok(LanceErrorSet(NULL, EINVAL, "x %d", 1) == EINVAL, "LanceErrorSet(NULL) returns the code");
	tap_ok(strcmp(LanceErrorMessage(NULL), "") == 0, "LanceErrorMessage(NULL) is empty");
	tap_ok(LanceErrorSet(&e, ENOTSUP, "expected %s but found %d", "a", 2) == ENOTSUP &&
		   strcmp(e.message, "expected a but found 2") == 0, "LanceErrorSet formats");
}

static void
test_logical_types(void)
{
	static const char *types[] = {
		"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
		"uint64", "halffloat", "float", "double", "string", "binary",
		"large_string", "large_binary", "date32:day", "timestamp:us:-",
		"timestamp:us:UTC", "timestamp:us:Europe/Paris",
		"fixed_size_list:float:128", "fixed_size_list:halffloat:16000",
		"fixed_size_list:uint8:16", "fixed_size_list:double:3", "list", "struct"
	};
	int			ok = 0;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
	{
		LanceField	f;
		char		buf[128];
		int			rc;

		memset(&f, 0, sizeof(f));
		rc = LanceLogicalTypeParse(types[i], &f, NULL, NULL);
		if (rc == 0)
			rc = LanceLogicalTypeFormat(&f, buf, sizeof(buf), NULL);
		if (rc == 0 && strcmp(buf, types[i]) == 0)
			ok++;
		else
			tap_diag("round trip of %s failed (%d)", types[i], rc);
		LanceStrfree(NULL, f.timezone);
	}
	tap_ok(ok == (int) (sizeof(types) / sizeof(types[0])),
		   "every logical type parses and formats back (%d)", ok);

	{
		LanceField	f;
		LanceError	e;

		memset(&f, 0, sizeof(f));
		tap_ok(LanceLogicalTypeParse("fixed_size_list:float:128", &f, NULL, NULL) == 0 &&
			   f.type == LANCE_TYPE_FIXED_SIZE_LIST && f.item_type == LANCE_TYPE_FLOAT32 &&
			   f.list_size == 128, "fixed_size_list:float:128 parses to item float32, 128");
		tap_ok(LanceLogicalTypeParse("decimal:128:10:2", &f, NULL, &e) == ENOTSUP &&
			   strstr(e.message, "decimal:128:10:2") != NULL,
			   "unknown type is ENOTSUP naming it: %s", e.message);
		tap_ok(LanceLogicalTypeParse("fixed_size_list:float:0", &f, NULL, &e) == EINVAL,
			   "fixed_size_list of size 0 is EINVAL");
		tap_ok(LanceLogicalTypeParse("fixed_size_list:string:4", &f, NULL, &e) == ENOTSUP,
			   "fixed_size_list of strings is ENOTSUP");
		tap_ok(LanceLogicalTypeParse("fixed_size_list:float:9x", &f, NULL, &e) == EINVAL,
			   "fixed_size_list with a bad size is EINVAL");
		tap_ok(LanceLogicalTypeParse("timestamp:ns:-", &f, NULL, &e) == ENOTSUP,
			   "timestamp in ns is ENOTSUP");
		f.type = LANCE_TYPE_INT64;
		{
			char		small[3];

			tap_ok(LanceLogicalTypeFormat(&f, small, sizeof(small), &e) == EINVAL,
				   "format into a short buffer is EINVAL");
		}
		tap_ok(LanceTypeByteWidth(LANCE_TYPE_FLOAT16) == 2 &&
			   LanceTypeByteWidth(LANCE_TYPE_TIMESTAMP_US) == 8 &&
			   LanceTypeByteWidth(LANCE_TYPE_BOOL) == 0 &&
			   LanceTypeByteWidth(LANCE_TYPE_UTF8) == 0, "LanceTypeByteWidth");
	}
}

static void
build_schema(LanceSchema *s)
{
	LanceField	f;

	f = mkfield("id", 0, -1, LANCE_TYPE_INT64, false);
	LanceSchemaAddField(s, &f, NULL);
	f = mkfield("vec", 1, -1, LANCE_TYPE_FIXED_SIZE_LIST, true);
	f.item_type = LANCE_TYPE_FLOAT32;
	f.list_size = 128;
	LanceSchemaAddField(s, &f, NULL);
	f = mkfield("text", 2, -1, LANCE_TYPE_UTF8, true);
	LanceSchemaAddField(s, &f, NULL);
	f = mkfield("ts", 3, -1, LANCE_TYPE_TIMESTAMP_US, true);
	f.timezone = "UTC";
	LanceSchemaAddField(s, &f, NULL);
	f = mkfield("tags", 4, -1, LANCE_TYPE_LIST, true);
	LanceSchemaAddField(s, &f, NULL);
	f = mkfield("item", 5, 4, LANCE_TYPE_FLOAT32, true);
	LanceSchemaAddField(s, &f, NULL);
	LanceSchemaAddMetadata(s, "k", "v1", 2, NULL);
}

static void
test_schema(void)
{
	Counting	counter = {0, 0};
	LanceAllocator alloc = {c_alloc, c_realloc, c_free, &counter};
	LanceSchema s;
	LanceSchema copy;
	LanceError	e;
	LanceField	f;

	LanceSchemaInit(&s, &alloc);
	build_schema(&s);
	tap_ok(s.num_fields == 6 && s.num_metadata == 1, "fields and metadata added");
	tap_ok(LanceSchemaValidate(&s, &e) == 0, "valid schema validates");
	tap_ok(LanceSchemaFindField(&s, 5) == 5 && LanceSchemaFindField(&s, 9) == -1,
		   "LanceSchemaFindField");

	LanceSchemaInit(&copy, &alloc);
	tap_ok(LanceSchemaCopy(&copy, &s, NULL) == 0 && copy.num_fields == 6 &&
		   strcmp(copy.fields[3].timezone, "UTC") == 0 && copy.fields[3].timezone != s.fields[3].timezone,
		   "LanceSchemaCopy is deep");

	/* validation failures */
	copy.fields[2].id = 1;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL && strstr(e.message, "share the id"),
		   "duplicate id: %s", e.message);
	copy.fields[2].id = -3;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "negative id: %s", e.message);
	copy.fields[2].id = 2;
	copy.fields[5].parent_id = 0;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "parent not a struct/list: %s", e.message);
	copy.fields[5].parent_id = 77;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "missing parent: %s", e.message);
	copy.fields[5].parent_id = 4;
	copy.fields[1].list_size = 0;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "fsl size 0: %s", e.message);
	copy.fields[1].list_size = 4;
	copy.fields[1].item_type = LANCE_TYPE_UTF8;
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "fsl of strings: %s", e.message);
	LanceSchemaReset(&copy);

	LanceSchemaInit(&copy, &alloc);
	f = mkfield("a.b", 0, -1, LANCE_TYPE_INT32, false);
	LanceSchemaAddField(&copy, &f, NULL);
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "dotted top-level name: %s", e.message);
	LanceSchemaReset(&copy);
	LanceSchemaInit(&copy, &alloc);
	f = mkfield("l", 0, -1, LANCE_TYPE_LIST, false);
	LanceSchemaAddField(&copy, &f, NULL);
	tap_ok(LanceSchemaValidate(&copy, &e) == EINVAL, "list without child: %s", e.message);
	LanceSchemaReset(&copy);

	/* protobuf round trip */
	{
		Lance__File__Schema *p = NULL;
		uint8_t    *bytes;
		size_t		len;
		Lance__File__Schema *back;
		LanceSchema s2;
		bool		same = true;

		tap_ok(LanceSchemaToProto(&s, &p, &e) == 0, "LanceSchemaToProto");
		len = lance__file__schema__get_packed_size(p);
		bytes = malloc(len);
		lance__file__schema__pack(p, bytes);
		back = lance__file__schema__unpack(NULL, len, bytes);
		LanceSchemaInit(&s2, &alloc);
		tap_ok(back != NULL && LanceSchemaFromProto(&s2, back, &e) == 0,
			   "LanceSchemaFromProto of the packed bytes");
		same = s2.num_fields == s.num_fields && s2.num_metadata == 1 &&
			s2.metadata[0].value_len == 2 && memcmp(s2.metadata[0].value, "v1", 2) == 0;
		for (int i = 0; same && i < s.num_fields; i++)
		{
			LanceField *a = &s.fields[i],
					   *b = &s2.fields[i];

			same = strcmp(a->name, b->name) == 0 && a->id == b->id &&
				a->parent_id == b->parent_id && a->type == b->type &&
				a->nullable == b->nullable && a->item_type == b->item_type &&
				a->list_size == b->list_size &&
				((a->timezone == NULL && b->timezone == NULL) ||
				 (a->timezone && b->timezone && strcmp(a->timezone, b->timezone) == 0));
		}
		tap_ok(same, "schema survives the protobuf round trip");
		LanceSchemaReset(&s2);
		lance__file__schema__free_unpacked(back, NULL);
		free(bytes);

		/* The first field exactly as lance 8.0.0 writes it. */
		{
			static const uint8_t expect[] = {
				0x12, 0x02, 'i', 'd', 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff, 0xff, 0x01, 0x2a, 0x05, 'i', 'n', 't', '6', '4',
				0x38, 0x01
			};
			uint8_t		buf[64];
			size_t		n = lance__file__field__pack(p->fields[0], buf);

			tap_ok(n == sizeof(expect) && memcmp(buf, expect, n) == 0,
				   "Field bytes match lance 8 (no type, parent -1, PLAIN)");
		}
		LanceSchemaProtoFree(p);
	}

	/* unknown type in a proto */
	{
		Lance__File__Field pf = LANCE__FILE__FIELD__INIT;
		Lance__File__Field *pfs[1] = {&pf};
		LanceSchema s3;

		pf.name = "d";
		pf.logical_type = "decimal:128:3:1";
		LanceSchemaInit(&s3, &alloc);
		tap_ok(LanceSchemaFromProtoFields(&s3, pfs, 1, &e) == ENOTSUP &&
			   strstr(e.message, "decimal") != NULL, "proto with unknown type: %s", e.message);
		pf.name = "";
		tap_ok(LanceSchemaFromProtoFields(&s3, pfs, 1, &e) == EINVAL, "nameless field is EINVAL");
		LanceSchemaReset(&s3);
	}

	LanceSchemaReset(&s);
	tap_ok(counter.live == 0 && counter.bytes == 0,
		   "every allocation was freed (live %ld, bytes %zu)", counter.live, counter.bytes);
}

static void
test_buf(void)
{
	LanceBuf	b;
	bool		ok = true;

	LanceBufInit(&b, NULL);
	for (int i = 0; i < 1000 && ok; i++)
		ok = LanceBufAppend(&b, &i, sizeof(i)) == 0;
	ok = ok && b.len == 4000 && LanceBufPad(&b, 0, 64, 0x48) == 0 && b.len == 4032 &&
		b.data[4031] == 0x48 && ((int *) b.data)[999] == 999;
	tap_ok(ok, "LanceBuf append and pad");
	LanceBufReset(&b);
	tap_ok(LanceRangeOk(10, 5, 15) && !LanceRangeOk(10, 6, 15) &&
		   !LanceRangeOk(UINT64_MAX, 2, UINT64_MAX), "LanceRangeOk with overflow");
}

int
main(void)
{
	test_errors();
	test_logical_types();
	test_schema();
	test_buf();
	return tap_done();
}
