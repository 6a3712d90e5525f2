/*
 * lance.h
 *	  Public interface of the Lance format library: the core types every part
 *	  of it shares.
 *
 * src/lance/ reads and writes Lance data files (format 2.0 and 2.1), dataset
 * manifests, deletion files and index files.  It is plain C11 with no
 * PostgreSQL header, so it can be unit tested, fuzzed and embedded in
 * another host program (the `lance-inspect` tool is one).
 *
 * Conventions (see STYLE.md):
 *	- Functions return 0 or an errno value; one meaning per code:
 *		EINVAL   the bytes are corrupt or the arguments are inconsistent
 *		ENOTSUP  a valid feature this library does not implement (an unknown
 *				 encoding, a newer footer version, a reader feature flag >= 64)
 *		ENOMEM   the allocator returned NULL
 *		EEXIST   a commit lost the race: the version exists already
 *		ENOENT   a file, version or column that is not there
 *		others   an I/O error from the system call that failed
 *	  and fill an optional (NULL-safe) LanceError with a message a user can
 *	  read, phrased "expected X but found Y" where that fits.  Nothing aborts.
 *	- Memory comes from a LanceAllocator the caller supplies (NULL means
 *	  malloc).  The PostgreSQL layer passes one built on a memory context that
 *	  returns NULL on failure; I/O threads use malloc.
 *	- No global state.  Objects are caller-allocated structs with paired
 *	  Init/Reset functions, or opaque handles with Open/Close.  A reader, once
 *	  open, may be used from several threads at once.
 *	- Internal symbols carry the Lance prefix; only lance.h (and the headers
 *	  it names) are public.
 */
#ifndef LANCE_LANCE_H
#define LANCE_LANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* ---------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------- */

/*
 * A pluggable allocator.  alloc and realloc return NULL on failure; free
 * accepts NULL.  Sizes are passed back so arena-style allocators can account.
 */
typedef struct LanceAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void	   *(*realloc) (void *ctx, void *ptr, size_t old_size, size_t new_size);
	void		(*free) (void *ctx, void *ptr, size_t size);
	void	   *ctx;
} LanceAllocator;

/* malloc/realloc/free.  Every API taking an allocator accepts NULL for this. */
extern const LanceAllocator *LanceAllocatorDefault(void);

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

#define LANCE_ERROR_MESSAGE_SIZE 256

typedef struct LanceError
{
	char		message[LANCE_ERROR_MESSAGE_SIZE];
} LanceError;

/*
 * Format a message into 'error' (if not NULL) and return 'code', so callers
 * write `return LanceErrorSet(error, EINVAL, "expected ... but found ...")`.
 */
extern int	LanceErrorSet(LanceError *error, int code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* The message of a failed call, or "" (never NULL; 'error' may be NULL). */
extern const char *LanceErrorMessage(const LanceError *error);

/* ---------------------------------------------------------------------------
 * Data types and schemas
 * ------------------------------------------------------------------------- */

/*
 * The column types the library reads and writes.  The comments give the
 * Lance logical type string (what manifests and file descriptors store).
 */
typedef enum LanceTypeId
{
	LANCE_TYPE_INVALID = 0,
	LANCE_TYPE_BOOL,			/* "bool" */
	LANCE_TYPE_INT8,			/* "int8" */
	LANCE_TYPE_INT16,
	LANCE_TYPE_INT32,
	LANCE_TYPE_INT64,
	LANCE_TYPE_UINT8,			/* "uint8" */
	LANCE_TYPE_UINT16,
	LANCE_TYPE_UINT32,
	LANCE_TYPE_UINT64,
	LANCE_TYPE_FLOAT16,			/* "halffloat" */
	LANCE_TYPE_FLOAT32,			/* "float" */
	LANCE_TYPE_FLOAT64,			/* "double" */
	LANCE_TYPE_UTF8,			/* "string" (int32 offsets) */
	LANCE_TYPE_BINARY,			/* "binary" (int32 offsets) */
	LANCE_TYPE_LARGE_UTF8,		/* "large_string" (int64 offsets) */
	LANCE_TYPE_LARGE_BINARY,	/* "large_binary" (int64 offsets) */
	LANCE_TYPE_DATE32,			/* "date32:day" */
	LANCE_TYPE_TIMESTAMP_US,	/* "timestamp:us:<tz or ->" */
	LANCE_TYPE_FIXED_SIZE_LIST, /* "fixed_size_list:<item>:<n>"; no child field */
	LANCE_TYPE_LIST,			/* "list"; one child field (usually "item") */
	LANCE_TYPE_STRUCT			/* "struct"; children follow as fields */
} LanceTypeId;

/*
 * One field of a schema.  Schemas are flat arrays in pre-order (a parent
 * before its children), as Lance stores them; parent_id links a child to
 * its parent (-1 at the top level).
 */
typedef struct LanceField
{
	char	   *name;			/* the field's own name, not a path */
	int32_t		id;				/* field id, >= 0, unique in the dataset */
	int32_t		parent_id;		/* -1 for a top-level field */
	LanceTypeId type;
	bool		nullable;
	/* LANCE_TYPE_FIXED_SIZE_LIST: the item type (a primitive) and the size */
	LanceTypeId item_type;
	int32_t		list_size;
	/* LANCE_TYPE_TIMESTAMP_US: the time zone, or NULL for none ("-") */
	char	   *timezone;
} LanceField;

typedef struct LanceKeyValue
{
	char	   *key;
	uint8_t    *value;			/* bytes; UTF-8 text in practice */
	size_t		value_len;
} LanceKeyValue;

typedef struct LanceSchema
{
	LanceField *fields;			/* pre-order */
	int32_t		num_fields;
	LanceKeyValue *metadata;	/* schema metadata */
	int32_t		num_metadata;
	const LanceAllocator *allocator;	/* what owns the arrays and strings */
} LanceSchema;

/* An empty schema that allocates from 'allocator' (NULL: malloc). */
extern void LanceSchemaInit(LanceSchema *schema, const LanceAllocator *allocator);

/* Free everything the schema owns; it is empty (and reusable) afterwards. */
extern void LanceSchemaReset(LanceSchema *schema);

/*
 * Append a copy of 'field' (strings are copied).  Ids are not checked here;
 * LanceSchemaValidate does that.
 */
extern int	LanceSchemaAddField(LanceSchema *schema, const LanceField *field,
								LanceError *error);

/* Append a copy of one schema-level metadata entry. */
extern int	LanceSchemaAddMetadata(LanceSchema *schema, const char *key,
								   const void *value, size_t value_len,
								   LanceError *error);

/* Deep copy of 'source' into an initialised, empty 'target'. */
extern int	LanceSchemaCopy(LanceSchema *target, const LanceSchema *source,
							LanceError *error);

/*
 * Check ids (unique, >= 0), parent links (pre-order, parent is a struct or
 * list), names (top-level names contain no '.'), fixed-size-list item types
 * and sizes.  EINVAL with a message naming the first problem.
 */
extern int	LanceSchemaValidate(const LanceSchema *schema, LanceError *error);

/* Index of the field with this id, or -1. */
extern int32_t LanceSchemaFindField(const LanceSchema *schema, int32_t field_id);

/*
 * Logical type strings: parse a Lance logical type ("int64",
 * "fixed_size_list:float:128", "timestamp:us:UTC", ...) into the type fields
 * of 'field' (type, item_type, list_size, timezone; the timezone is
 * allocated from 'allocator'), and format one back.  Unknown types are
 * ENOTSUP with the string in the message.
 */
extern int	LanceLogicalTypeParse(const char *logical_type, LanceField *field,
								  const LanceAllocator *allocator, LanceError *error);
extern int	LanceLogicalTypeFormat(const LanceField *field, char *buffer,
								   size_t buffer_size, LanceError *error);

/* Bytes per value of a fixed-width primitive type; 0 for bool (bits) and
 * for types that are not fixed-width primitives. */
extern size_t LanceTypeByteWidth(LanceTypeId type);

/* ---------------------------------------------------------------------------
 * Column data in memory
 * ------------------------------------------------------------------------- */

/*
 * A column of values in Arrow's memory layout, so a batch can be handed to
 * Arrow-based code without conversion:
 *	- validity: LSB-first bitmap, 1 = valid; NULL when there are no nulls;
 *	- fixed-width values: length * width bytes in 'values' (bool: a bitmap);
 *	- utf8/binary: length + 1 offsets (int32, or int64 for the large types)
 *	  into 'values';
 *	- fixed_size_list: 'child' holds length * list_size items;
 *	- list: length + 1 int32 offsets into 'child'.
 * 'offset' is the index of the first value in the buffers (as in Arrow),
 * which lets a reader hand out slices without copying.
 */
typedef struct LanceColumn
{
	LanceTypeId type;
	int64_t		length;
	int64_t		null_count;
	int64_t		offset;
	const uint8_t *validity;
	const void *offsets;
	const void *values;
	const struct LanceColumn *child;
	int32_t		list_size;		/* fixed_size_list only */
} LanceColumn;

#ifdef __cplusplus
}
#endif

#endif							/* LANCE_LANCE_H */
