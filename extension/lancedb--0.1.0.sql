-- lancedb 0.1.0: the pgvector-compatible vector type.
-- Names, signatures, casts and operators match pgvector so that data, dumps
-- and queries move between the two unchanged.

\echo Use "CREATE EXTENSION lancedb" to load this file. \quit

-- Side files reach standbys and backups through lancedb's WAL resource
-- manager, which exists only when the library is preloaded: refuse early.
CREATE FUNCTION lancedb_require_preload() RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT;
SELECT lancedb_require_preload();
REVOKE ALL ON FUNCTION lancedb_require_preload() FROM PUBLIC;

-- type and I/O

CREATE TYPE vector;

CREATE FUNCTION vector_in(cstring, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_out(vector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_recv(internal, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_send(vector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE vector (
	INPUT     = vector_in,
	OUTPUT    = vector_out,
	TYPMOD_IN = vector_typmod_in,
	RECEIVE   = vector_recv,
	SEND      = vector_send,
	STORAGE   = external
);
COMMENT ON TYPE vector IS 'single-precision vector (pgvector-compatible)';

-- functions

CREATE FUNCTION l2_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION inner_product(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION cosine_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l1_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_dims(vector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_norm(vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION l2_normalize(vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION subvector(vector, int, int) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_add(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_sub(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_mul(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_concat(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_lt(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_le(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_eq(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_ne(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_ge(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_gt(vector, vector) RETURNS bool
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_cmp(vector, vector) RETURNS int4
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_l2_squared_distance(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_negative_inner_product(vector, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- aggregates

CREATE FUNCTION vector_accum(double precision[], vector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_avg(double precision[]) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE avg(vector) (
	SFUNC = vector_accum,
	STYPE = double precision[],
	FINALFUNC = vector_avg,
	COMBINEFUNC = vector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE sum(vector) (
	SFUNC = vector_add,
	STYPE = vector,
	COMBINEFUNC = vector_add,
	PARALLEL = SAFE
);

-- casts

CREATE FUNCTION vector(vector, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(integer[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(real[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(double precision[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_vector(numeric[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION vector_to_float4(vector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (vector AS vector)
	WITH FUNCTION vector(vector, integer, boolean) AS IMPLICIT;
CREATE CAST (vector AS real[])
	WITH FUNCTION vector_to_float4(vector, integer, boolean) AS IMPLICIT;
CREATE CAST (integer[] AS vector)
	WITH FUNCTION array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS vector)
	WITH FUNCTION array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS vector)
	WITH FUNCTION array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS vector)
	WITH FUNCTION array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;

-- operators

CREATE OPERATOR <-> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = l2_distance,
	COMMUTATOR = '<->'
);
CREATE OPERATOR <#> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_negative_inner_product,
	COMMUTATOR = '<#>'
);
CREATE OPERATOR <=> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = cosine_distance,
	COMMUTATOR = '<=>'
);
CREATE OPERATOR <+> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = l1_distance,
	COMMUTATOR = '<+>'
);
CREATE OPERATOR + (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_add,
	COMMUTATOR = +
);
CREATE OPERATOR - (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_sub
);
CREATE OPERATOR * (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_mul,
	COMMUTATOR = *
);
CREATE OPERATOR || (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_concat
);
CREATE OPERATOR < (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_lt,
	COMMUTATOR = > , NEGATOR = >= ,
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR <= (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_le,
	COMMUTATOR = >= , NEGATOR = > ,
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR = (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_eq,
	COMMUTATOR = = , NEGATOR = <> ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR <> (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ne,
	COMMUTATOR = <> , NEGATOR = = ,
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR >= (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_ge,
	COMMUTATOR = <= , NEGATOR = < ,
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR > (
	LEFTARG = vector, RIGHTARG = vector, PROCEDURE = vector_gt,
	COMMUTATOR = < , NEGATOR = <= ,
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);

CREATE OPERATOR CLASS vector_ops
	DEFAULT FOR TYPE vector USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 vector_cmp(vector, vector);

-- internal: for tests of the I/O runtime only (test/t/*runtime*.pl); not part
-- of the interface, may change or go without notice.  Reading server files
-- needs the privileges of pg_read_server_files, checked in C as well.

CREATE FUNCTION lancedb_debug_read(path text, offsets bigint[], length integer) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION lancedb_debug_read(text, bigint[], integer) FROM PUBLIC;
COMMENT ON FUNCTION lancedb_debug_read(text, bigint[], integer) IS
	'internal, for tests: one batch of reads through the I/O runtime';

CREATE FUNCTION lancedb_debug_io_stats(OUT method text, OUT pid integer, OUT creator_pid integer,
		OUT threads integer, OUT live_batches integer, OUT in_flight integer,
		OUT held_bytes bigint, OUT reads_done bigint, OUT fallback_reason text,
		OUT resident_reads bigint, OUT seen_reads bigint, OUT viewed_reads bigint)
	RETURNS record
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION lancedb_debug_io_stats() FROM PUBLIC;
COMMENT ON FUNCTION lancedb_debug_io_stats() IS
	'internal, for tests: the I/O runtime of the calling process';

-- side storage (src/storage/side_storage.h): which storage ids and side files
-- exist.  Written by the extension's C code only; MVCC over these rows
-- decides which files a snapshot sees.

CREATE SCHEMA lancedb_catalog;
COMMENT ON SCHEMA lancedb_catalog IS 'lancedb internal catalog: do not modify';

CREATE TABLE lancedb_catalog.storage (
	storage_id bigint NOT NULL,
	relid oid NOT NULL
);
COMMENT ON TABLE lancedb_catalog.storage IS
	'side storage ids of relations (pg_lancedb/<database oid>/<storage id>/)';

CREATE TABLE lancedb_catalog.side_file (
	storage_id bigint NOT NULL,
	name text NOT NULL,
	size bigint NOT NULL
);
COMMENT ON TABLE lancedb_catalog.side_file IS 'published side files of each storage';

-- what the C code looks rows up by (src/storage/side_catalog.c); the name in
-- the collation its scan keys use
CREATE INDEX storage_relid ON lancedb_catalog.storage (relid);
CREATE INDEX side_file_storage_id_name ON lancedb_catalog.side_file (storage_id, name COLLATE "C");

CREATE SEQUENCE lancedb_catalog.storage_id_seq;

REVOKE ALL ON ALL TABLES IN SCHEMA lancedb_catalog FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lancedb_catalog FROM PUBLIC;
GRANT USAGE ON SCHEMA lancedb_catalog TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA lancedb_catalog TO PUBLIC;

CREATE FUNCTION lancedb_collect_garbage() RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION lancedb_collect_garbage() FROM PUBLIC;
COMMENT ON FUNCTION lancedb_collect_garbage() IS
	'removes side files and storage no snapshot can need any more; returns how many';

CREATE FUNCTION lancedb_prewarm(rel regclass) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION lancedb_prewarm(regclass) IS
	'reads the side files of a relation (a lance_ivf index) into the page cache; returns their bytes';

-- internal: a consumer of side storage for its tests (test/t/02N_side_*.pl);
-- not part of the interface, may change or go without notice.

CREATE FUNCTION lancedb_side_debug_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD lancedb_side_debug TYPE INDEX HANDLER lancedb_side_debug_handler;
COMMENT ON ACCESS METHOD lancedb_side_debug IS
	'internal, for tests: an index that only owns side storage';
CREATE OPERATOR CLASS int4_side_debug_ops DEFAULT FOR TYPE int4 USING lancedb_side_debug
	AS STORAGE int4;

CREATE FUNCTION lancedb_debug_side_write(index regclass, first_id bigint, rows integer,
		dims integer) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION lancedb_debug_side_files(index regclass, OUT name text, OUT size bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lancedb_debug_side_read(index regclass, OUT file text, OUT id bigint,
		OUT embedding real[]) RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION lancedb_debug_side_retire(index regclass, name text) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION lancedb_debug_side_storage(index regclass) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION lancedb_debug_side_write(regclass, bigint, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION lancedb_debug_side_files(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION lancedb_debug_side_read(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION lancedb_debug_side_retire(regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION lancedb_debug_side_storage(regclass) FROM PUBLIC;

-- lance_ivf: IVF lists with RaBitQ codes and exact re-ranking (src/ivf/)

CREATE FUNCTION lance_ivf_handler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;
CREATE ACCESS METHOD lance_ivf TYPE INDEX HANDLER lance_ivf_handler;
COMMENT ON ACCESS METHOD lance_ivf IS
	'IVF index with RaBitQ codes and exact re-ranking, its lists in Lance side files';

-- Support function 1 names the distance the operator class orders by.
CREATE OPERATOR CLASS vector_l2_ops DEFAULT FOR TYPE vector USING lance_ivf AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l2_distance(vector, vector);
CREATE OPERATOR CLASS vector_ip_ops FOR TYPE vector USING lance_ivf AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector);
CREATE OPERATOR CLASS vector_cosine_ops FOR TYPE vector USING lance_ivf AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 cosine_distance(vector, vector);

-- The planner hook (src/ivf/ivf_reuse.c) puts it into index scans' target
-- lists, as COALESCE(lance_ivf_scan_distance(ctid, index, query), distance).
CREATE FUNCTION lance_ivf_scan_distance(tid, regclass, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION lance_ivf_scan_distance(tid, regclass, vector) IS
	'the distance a lance_ivf scan computed for the row it returned last, when it is the row at this ctid and the query is this one and the distance is exact; else NULL';
-- ... and COALESCE(lance_ivf_scan_order_distance(...), distance) where only
-- the sort reads the value (a resjunk ORDER BY column under a Limit).
CREATE FUNCTION lance_ivf_scan_order_distance(tid, regclass, vector) RETURNS float8
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION lance_ivf_scan_order_distance(tid, regclass, vector) IS
	'the distance, exact or estimated, a lance_ivf scan ordered the row it returned last by, when it is the row at this ctid and the query is this one; else NULL';

CREATE FUNCTION lancedb_debug_ivf_segments(OUT storage_id bigint, OUT name text, OUT pins integer,
                                           OUT list_bytes bigint, OUT list_reads bigint)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION lancedb_debug_ivf_segments() FROM PUBLIC;
CREATE FUNCTION lancedb_debug_ivf_list_peak() RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
REVOKE ALL ON FUNCTION lancedb_debug_ivf_list_peak() FROM PUBLIC;
COMMENT ON FUNCTION lancedb_debug_ivf_list_peak() IS
	'internal, for tests: the most memory the lists of this backend''s cached lance_ivf segments took since the last call';
COMMENT ON FUNCTION lancedb_debug_ivf_segments() IS
	'internal, for tests: the lance_ivf segments this backend caches, how many holders pin each, the bytes of its lists in memory and how many lists were read';

CREATE FUNCTION lance_ivf_fold(index regclass, recluster boolean DEFAULT false) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION lance_ivf_fold(regclass, boolean) IS
	'seals the rows inserted since the last build or fold into a new segment of a lance_ivf index (VACUUM does it when they are many); recluster trains new centroids';
