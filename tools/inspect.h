/*
 * inspect.h
 *	  Shared declarations of the lance-inspect tool: the JSON value printer
 *	  of `dump` (inspect_json.c) and the page encoding describer of `info`
 *	  (inspect_pages.c).  The output formats are defined in tools/README.md.
 */
#ifndef LANCE_INSPECT_H
#define LANCE_INSPECT_H

#include <stdio.h>

#include "lance/lance.h"
#include "lance/lance_file.h"

/* Largest integer magnitude JavaScript's Number holds exactly: 2^53 - 1. */
#define INSPECT_MAX_SAFE_INT 9007199254740991LL

/*
 * Can `dump` print values of 'schema->fields[field]' (and its children)?
 * 0, or ENOTSUP with a message naming the column and its type.
 */
extern int	InspectCheckPrintable(const LanceSchema *schema, int32_t field, LanceError *error);

/* A JSON string of 'len' bytes, escaped as tools/README.md says. */
extern void InspectPrintString(FILE *out, const uint8_t *bytes, size_t len);

/* An int64 / uint64 by the README's integer rule (a string beyond 2^53-1). */
extern void InspectPrintInt(FILE *out, int64_t v);
extern void InspectPrintUint(FILE *out, uint64_t v);

/*
 * Print row 'row' (0-based, not counting column->offset) of 'column', whose
 * type is that of schema->fields[field], as one JSON value.
 */
extern void InspectPrintValue(FILE *out, const LanceSchema *schema, int32_t field,
							  const LanceColumn *column, int64_t row);

/*
 * Print, for `info`, every column of the data file behind 'io' with its
 * pages (rows, buffers, layout and compressive encodings by name), each line
 * starting with 'indent'.  'schema' names the columns where it can.
 */
extern int	InspectDescribeColumns(FILE *out, const LanceFileIo *io, const LanceSchema *schema,
								   const char *indent, LanceError *error);

#endif							/* LANCE_INSPECT_H */
