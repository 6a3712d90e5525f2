/*
 * schema_proto.h
 *	  Conversion between LanceSchema and the lance.file.Field/Schema
 *	  protobuf messages that data files (FileDescriptor) and manifests store.
 *
 * Used by the data file reader/writer and by the dataset code (manifests
 * hold `repeated lance.file.Field fields` directly).  The protobuf structs
 * built by LanceSchemaToProto are allocated with malloc (protobuf-c's
 * default) and freed with LanceSchemaProtoFree; nothing else may free them.
 */
#ifndef LANCE_SCHEMA_PROTO_H
#define LANCE_SCHEMA_PROTO_H

#include "lance/lance.h"
#include "lance/proto/file.pb-c.h"

/*
 * Append the fields of 'fields' (pre-order) to 'schema' (initialised).
 * Unknown logical types are ENOTSUP naming the type; a field without a
 * name is EINVAL.  Field metadata other than the type is not kept.
 */
extern int	LanceSchemaFromProtoFields(LanceSchema *schema,
									   Lance__File__Field *const *fields,
									   size_t num_fields, LanceError *error);

/* Fields and schema metadata of a lance.file.Schema, then validate. */
extern int	LanceSchemaFromProto(LanceSchema *schema,
								 const Lance__File__Schema *proto,
								 LanceError *error);

/*
 * Build a lance.file.Schema for 'schema', with every field as lance 8.0.0
 * writes it (type omitted, parent_id -1 at top level, the v1 encoding hint
 * PLAIN/VAR_BINARY).  *out is malloc-allocated: free it with
 * LanceSchemaProtoFree.  A manifest writer may borrow (*out)->fields.
 */
extern int	LanceSchemaToProto(const LanceSchema *schema,
							   Lance__File__Schema **out, LanceError *error);
extern void LanceSchemaProtoFree(Lance__File__Schema *proto);

#endif							/* LANCE_SCHEMA_PROTO_H */
