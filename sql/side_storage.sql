-- Side storage through its internal consumer (src/storage/side_debug.c):
-- visibility follows transactions, errors have SQLSTATEs, garbage collection
-- removes what no snapshot can see.  File names carry xids and pids, so the
-- queries show counts and contents, not names.
CREATE TABLE side_t (id int, v vector(3));
CREATE INDEX side_i ON side_t USING lancedb_side_debug (id);
SELECT lancedb_debug_side_storage('side_i') > 0 AS has_storage_id;
SELECT count(*) FROM lancedb_debug_side_files('side_i');

-- a committed file is visible and reads back exactly
SELECT lancedb_debug_side_write('side_i', 1, 5, 4) IS NOT NULL AS written;
SELECT size > 0 AS nonempty FROM lancedb_debug_side_files('side_i');
SELECT id, embedding FROM lancedb_debug_side_read('side_i') ORDER BY id;
SELECT count(*) AS catalog_rows FROM lancedb_catalog.side_file;

-- an aborted write is invisible; garbage collection removes its file
BEGIN;
SELECT lancedb_debug_side_write('side_i', 100, 3, 4) IS NOT NULL AS written;
SELECT count(*) AS in_transaction FROM lancedb_debug_side_files('side_i');
ROLLBACK;
SELECT count(*) AS after_rollback FROM lancedb_debug_side_files('side_i');
SELECT lancedb_collect_garbage() AS removed;

-- retiring is transactional: ROLLBACK brings the file back
BEGIN;
SELECT lancedb_debug_side_retire('side_i', name) FROM lancedb_debug_side_files('side_i');
SELECT count(*) AS retired_in_transaction FROM lancedb_debug_side_files('side_i');
ROLLBACK;
SELECT count(*) AS after_aborted_retire FROM lancedb_debug_side_files('side_i');
SELECT lancedb_collect_garbage() AS nothing_to_remove;

-- VACUUM of the table collects garbage too
SELECT lancedb_debug_side_retire('side_i', name) FROM lancedb_debug_side_files('side_i');
VACUUM side_t;
SELECT lancedb_collect_garbage() AS already_collected;

-- TRUNCATE and REINDEX give new storage; the old one is garbage after commit
SELECT lancedb_debug_side_storage('side_i') AS old_id \gset
TRUNCATE side_t;
SELECT lancedb_debug_side_storage('side_i') <> :old_id AS new_id_after_truncate;
SELECT lancedb_debug_side_storage('side_i') AS old_id \gset
REINDEX INDEX side_i;
SELECT lancedb_debug_side_storage('side_i') <> :old_id AS new_id_after_reindex;
SELECT count(*) AS storage_rows FROM lancedb_catalog.storage
WHERE relid = 'side_i'::regclass;

SELECT lancedb_debug_side_storage('side_i') AS old_id \gset
VACUUM FULL side_t;
SELECT lancedb_debug_side_storage('side_i') <> :old_id AS new_id_after_vacuum_full;

-- the WAL records, as pg_walinspect describes them
CREATE EXTENSION pg_walinspect;
SELECT pg_current_wal_insert_lsn() AS lsn0 \gset
SELECT lancedb_debug_side_write('side_i', 1, 3000, 100) IS NOT NULL AS written;
SELECT lancedb_debug_side_retire('side_i', name) FROM lancedb_debug_side_files('side_i');
SELECT lancedb_collect_garbage() AS removed;
SELECT record_type, count(*) FROM pg_get_wal_records_info(:'lsn0', pg_current_wal_flush_lsn())
WHERE resource_manager = 'lancedb' GROUP BY 1 ORDER BY 1;
SELECT record_type,
       regexp_replace(description, '\d+_\d+_\d+\.lance', 'NAME') ~
         CASE record_type
           WHEN 'WRITE' THEN '^db \d+ storage \d+ file NAME: \d+ bytes at \d+$'
           WHEN 'DONE' THEN '^db \d+ storage \d+ file NAME: \d+ bytes, crc32c [0-9a-f]{8}$'
           WHEN 'REMOVE' THEN '^db \d+ storage \d+: 1 files, latest removed xid \d+$'
           WHEN 'DROP_STORAGE' THEN '^db \d+ storage \d+, latest removed xid \d+$'
         END AS described
FROM pg_get_wal_records_info(:'lsn0', pg_current_wal_flush_lsn())
WHERE resource_manager = 'lancedb' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT max(record_length) <= 1024 * 1024 + 200 AS chunks_of_at_most_1mb
FROM pg_get_wal_records_info(:'lsn0', pg_current_wal_flush_lsn())
WHERE resource_manager = 'lancedb';
DROP EXTENSION pg_walinspect;

-- errors
SELECT error_of($$SELECT lancedb_debug_side_retire('side_i', 'no_such_file.lance')$$);
SELECT error_of($$SELECT lancedb_debug_side_write('side_i', 1, 1, 0)$$);
SELECT error_of($$SELECT lancedb_debug_side_files('side_t')$$);
CREATE TABLE side_plain (id int);
CREATE INDEX side_plain_i ON side_plain (id);
SELECT error_of($$SELECT lancedb_debug_side_files('side_plain_i')$$);
SELECT error_of($$CREATE UNLOGGED TABLE side_u (id int); CREATE INDEX ON side_u USING lancedb_side_debug (id)$$);
SELECT error_of($$CREATE TEMP TABLE side_t (id int); CREATE INDEX ON side_t USING lancedb_side_debug (id)$$);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM side_t WHERE id = 1;
RESET enable_seqscan;

-- only privileged roles may drive it
CREATE ROLE side_nobody;
SET ROLE side_nobody;
SELECT error_of($$SELECT lancedb_collect_garbage()$$);
SELECT error_of($$SELECT * FROM lancedb_debug_side_files('side_i')$$);
RESET ROLE;
DROP ROLE side_nobody;

DROP TABLE side_t, side_plain;
SELECT lancedb_collect_garbage() >= 1 AS dropped_storage_removed;
SELECT count(*) AS storage_rows_left FROM lancedb_catalog.storage;
