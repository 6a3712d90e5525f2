-- The extension installs, drops cleanly and coexists with another `vector`.
-- (pg_regress created it with --load-extension.)
SELECT extname, extversion, extrelocatable FROM pg_extension WHERE extname = 'lancedb';
SHOW lancedb.distance_kernels;
SET lancedb.distance_kernels = 'scalar';
SELECT '[1,2]'::vector <-> '[4,6]';
RESET lancedb.distance_kernels;
SET lancedb.distance_kernels = 'sse9';

-- everything the extension created depends on it
SELECT count(*) > 0 AS has_members FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lancedb');

-- DROP EXTENSION removes every object; dependent columns block it
CREATE TABLE keeps_type (v vector(2));
DROP EXTENSION lancedb;
DROP TABLE keeps_type;
DROP EXTENSION lancedb;
CREATE TEMP VIEW catalog_sizes AS SELECT
  (SELECT count(*) FROM pg_proc) AS procs, (SELECT count(*) FROM pg_operator) AS operators,
  (SELECT count(*) FROM pg_type WHERE typnamespace <> pg_my_temp_schema()) AS types, (SELECT count(*) FROM pg_cast) AS casts,
  (SELECT count(*) FROM pg_opclass) AS opclasses, (SELECT count(*) FROM pg_opfamily) AS opfamilies,
  (SELECT count(*) FROM pg_amop) AS amops, (SELECT count(*) FROM pg_amproc) AS amprocs,
  (SELECT count(*) FROM pg_aggregate) AS aggregates, (SELECT count(*) FROM pg_am) AS ams,
  (SELECT count(*) FROM pg_class WHERE relpersistence <> 't') AS relations;
CREATE TEMP TABLE without_extension AS SELECT * FROM catalog_sizes;
SELECT count(*) AS leftover_types FROM pg_type WHERE typname IN ('vector', '_vector');
CREATE EXTENSION lancedb;
SELECT c.procs > w.procs AS adds_functions, c.operators > w.operators AS adds_operators,
       c.types > w.types AS adds_types FROM catalog_sizes c, without_extension w;
DROP EXTENSION lancedb;
-- nothing is left behind
SELECT * FROM catalog_sizes EXCEPT SELECT * FROM without_extension;

-- beside another extension's `vector` (as with pgvector): install into its own schema
CREATE SCHEMA other;
CREATE DOMAIN other.vector AS real[];
CREATE SCHEMA ldb;
CREATE EXTENSION lancedb SCHEMA ldb;
SELECT '{1,2}'::other.vector AS other_vector, '[1,2]'::ldb.vector AS lancedb_vector;
SELECT '[0,0]'::ldb.vector OPERATOR(ldb.<->) '[3,4]'::ldb.vector AS qualified;
SET search_path = ldb, public;
SELECT '[0,0]'::vector <-> '[3,4]' AS via_search_path;
RESET search_path;
DROP EXTENSION lancedb;
DROP SCHEMA ldb;
DROP SCHEMA other CASCADE;

-- back as it was for the other suites
CREATE EXTENSION lancedb;
