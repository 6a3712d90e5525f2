-- lance_ivf: builds, scans in distance order with exact distances, agrees
-- with exact search at full probes, finds fresh rows, forgets deleted ones.

-- The k nearest rows of ivf_t (or of tbl) by the given operator, through a
-- lance_ivf index (index => true; it fails if the plan does not use one) or
-- by exact search: their ids (ties by id), or with distances => true their
-- distances as the operator computes them, to 6 places (so that rows whose
-- distances differ only in float rounding cannot make two equally good
-- answers differ).
CREATE FUNCTION ivf_knn(op text, q vector, k int, index bool, filter text DEFAULT 'true',
						distances bool DEFAULT false, tbl text DEFAULT 'ivf_t')
RETURNS numeric[] LANGUAGE plpgsql AS $$
DECLARE
	query text := format('SELECT id, v %s $1 AS d FROM %I WHERE %s ORDER BY v %s $1 LIMIT %s',
						 op, tbl, filter, op, k);
	plan text;
	result numeric[];
	agg text := CASE WHEN distances THEN 'array_agg(round(d::numeric, 6) ORDER BY d, id)'
					 ELSE 'array_agg(id ORDER BY d, id)' END;
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	IF index THEN
		FOR plan IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query USING q LOOP
			IF plan LIKE '%Index Scan using ivf_%' THEN
				EXECUTE format('SELECT %s FROM (%s) s', agg, query) INTO result USING q;
				RETURN result;
			END IF;
		END LOOP;
		RAISE EXCEPTION 'no lance_ivf index scan for %', query;
	END IF;
	EXECUTE format('SELECT %s FROM (%s) s', agg, query) INTO result USING q;
	RETURN result;
END
$$;

-- build on an empty table, then rows arrive through the delta area
CREATE TABLE ivf_t (id int PRIMARY KEY, v vector(3));
CREATE INDEX ivf_l2 ON ivf_t USING lance_ivf (v);
SELECT ivf_knn('<->', '[0,0,0]', 3, true);
INSERT INTO ivf_t VALUES (1, '[1,0,0]'), (2, '[0,2,0]'), (3, '[0,0,3]'), (4, NULL);
SELECT ivf_knn('<->', '[0,0,0]', 10, true);
SELECT id, v <-> '[0,0,0]' AS d FROM ivf_t ORDER BY v <-> '[0,0,0]' LIMIT 2;
DROP TABLE ivf_t;

-- a tiny table: fewer rows than the default lists
CREATE TABLE ivf_t (id int PRIMARY KEY, v vector(3));
INSERT INTO ivf_t VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, NULL);
CREATE INDEX ivf_l2 ON ivf_t USING lance_ivf (v);
SELECT ivf_knn('<->', '[0,0,0]', 5, true);
DROP TABLE ivf_t;

-- a normal table: 3000 rows of 16 dimensions in clusters, some NULL
CREATE TABLE ivf_t (id int PRIMARY KEY, v vector(16));
INSERT INTO ivf_t
SELECT i, CASE WHEN i % 100 = 0 THEN NULL ELSE
	array_agg((i % 7) * 3 + sin(i * 1.3 + d) ORDER BY d)::vector(16) END
FROM generate_series(1, 3000) i, generate_series(1, 16) d GROUP BY i;
CREATE INDEX ivf_l2 ON ivf_t USING lance_ivf (v vector_l2_ops) WITH (lists = 20);
CREATE INDEX ivf_ip ON ivf_t USING lance_ivf (v vector_ip_ops) WITH (lists = 20);
CREATE INDEX ivf_cos ON ivf_t USING lance_ivf (v vector_cosine_ops) WITH (lists = 20);
SELECT count(*) AS segments FROM lancedb_catalog.side_file;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <#> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 5;
-- without ORDER BY ... LIMIT the index is of no use; nor next to a selective filter
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t WHERE id < 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]';
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t WHERE id BETWEEN 5 AND 9
ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
-- a scan without ORDER BY <distance> cannot run at all: never planned, not
-- even where enable_seqscan = off leaves only the index (an index-only scan
-- of no columns for a count(*))
CREATE TABLE ivf_only (v vector(3));
INSERT INTO ivf_only SELECT ARRAY[i, i % 5, 1]::vector FROM generate_series(1, 40) i;
CREATE INDEX ivf_only_i ON ivf_only USING lance_ivf (v) WITH (lists = 2);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ivf_only;
SELECT count(*) AS rows_counted FROM ivf_only;
RESET enable_seqscan;
DROP TABLE ivf_only;

-- at full probes every operator class agrees with exact search, 10 rows
-- deep and 60: past the 10 rows whose candidates a scan orders first (the
-- others wait aside until the executor asks for more)
SET lance_ivf.probes = 20;
SELECT op, k, count(*) FILTER (WHERE ivf_knn(op, q, k, true, distances => true)
								   = ivf_knn(op, q, k, false, distances => true)) AS agree,
	   count(*) AS queries
FROM (VALUES ('<->'), ('<#>'), ('<=>')) o(op), (VALUES (10), (60)) d(k),
	 (SELECT v AS q FROM ivf_t WHERE id % 300 = 7) q
GROUP BY op, k ORDER BY op, k;
-- and returns the exact distances (no recheck)
SET enable_seqscan = off;
SELECT bool_and(abs(d - (v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')) < 1e-9) AS exact_distances
FROM (SELECT v, v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d FROM ivf_t
	  ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 50) s;
RESET enable_seqscan;

-- the scan's distance is reused by the query's projection (ivf_reuse.c):
-- for <-> and <#> the target list takes it from lance_ivf_scan_distance(),
-- which gives it only for the row the scan returned last, bit for bit what
-- the operator computes; a projected <=> is left alone
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d
FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d
FROM ivf_t ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
-- where only the order reads it (resjunk under a Limit), any operator takes
-- the distance the scan ordered by, lance_ivf_scan_order_distance()
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM ivf_t ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
-- but not inside a larger plan, whose other nodes might read it
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM
	(SELECT id FROM ivf_t ORDER BY v <=> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3) s;
SET enable_seqscan = off;
SELECT bool_and(reused IS NOT NULL) AS scan_distance_known,
	   bool_and(reused = (v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')) AS scan_distance_exact,
	   bool_and(d = (v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')) AS projected_exact
FROM (SELECT v, v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d,
			 lance_ivf_scan_distance(ctid, 'ivf_l2', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS reused
	  FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 50) s;
SELECT bool_and(reused IS NOT NULL) AS scan_distance_known,
	   bool_and(d = (v <#> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')) AS projected_exact
FROM (SELECT v, v <#> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' AS d,
			 lance_ivf_scan_distance(ctid, 'ivf_ip', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS reused
	  FROM ivf_t ORDER BY v <#> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 50) s;
-- one scan per outer row (rescans), each with its own query
SELECT count(*) AS rows, bool_and(s.d = (s.v <-> q.v)) AS projected_exact
FROM (SELECT v FROM ivf_t WHERE id % 500 = 3) q,
	 LATERAL (SELECT v, v <-> q.v AS d FROM ivf_t ORDER BY v <-> q.v LIMIT 5) s;
-- another query or another index: NULL; so is any row after the scan ended
SELECT lance_ivf_scan_distance(ctid, 'ivf_l2', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')
		 = (v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS this_query,
	   lance_ivf_scan_distance(ctid, 'ivf_l2', '[0,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS other_query,
	   lance_ivf_scan_distance(ctid, 'ivf_ip', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS other_index
FROM ivf_t ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' OFFSET 1 LIMIT 1;
SELECT id AS nearest FROM ivf_t ORDER BY v <-> (SELECT v FROM ivf_t WHERE id = 7) LIMIT 1;
SELECT lance_ivf_scan_distance(ctid, 'ivf_l2', v) AS after_the_scan FROM ivf_t WHERE id = 7;
-- a heap-only update moves the row away from the TID the index returns:
-- the projection computes the distance itself
CREATE TABLE ivf_hot (id int, v vector(2)) WITH (fillfactor = 50);
INSERT INTO ivf_hot SELECT i, ARRAY[i, i]::vector(2) FROM generate_series(1, 100) i;
CREATE INDEX ivf_hot_i ON ivf_hot USING lance_ivf (v) WITH (lists = 2);
UPDATE ivf_hot SET id = -id WHERE id = 7;
SELECT id, lance_ivf_scan_distance(ctid, 'ivf_hot_i', '[7,7]') IS NULL AS recomputed,
	   v <-> '[7,7]' AS d
FROM ivf_hot ORDER BY v <-> '[7,7]' LIMIT 1;
DROP TABLE ivf_hot;
-- a query vector taken from a table comes as a TOAST pointer: the rows of its
-- scan are known by that pointer (without reading the value back), those of
-- another value are not
CREATE TABLE ivf_toast (id int, v vector(1000));
ALTER TABLE ivf_toast ALTER v SET STORAGE EXTERNAL;
INSERT INTO ivf_toast SELECT i, array_fill(i::real, ARRAY[1000])::vector FROM generate_series(1, 200) i;
CREATE INDEX ivf_toast_i ON ivf_toast USING lance_ivf (v) WITH (lists = 4);
SELECT count(*) AS rows, bool_and(s.d = (s.v <-> q.v)) AS projected_exact,
	   bool_and(s.reused = s.d) AS reused_exact, bool_and(s.other IS NULL) AS other_value_unknown
FROM (SELECT v, (SELECT v FROM ivf_toast WHERE id = 199) AS w FROM ivf_toast WHERE id IN (3, 77, 150)) q,
	 LATERAL (SELECT v, v <-> q.v AS d,
					 lance_ivf_scan_distance(ctid, 'ivf_toast_i', q.v) AS reused,
					 lance_ivf_scan_distance(ctid, 'ivf_toast_i', q.w) AS other
			  FROM ivf_toast ORDER BY v <-> q.v LIMIT 5) s;
DROP TABLE ivf_toast;
RESET enable_seqscan;

-- at the default probes, recall is still high on this data
RESET lance_ivf.probes;
SELECT sum(cardinality(ARRAY(SELECT unnest(ivf_knn('<->', q, 10, true))
							 INTERSECT SELECT unnest(ivf_knn('<->', q, 10, false))))) / 100.0 >= 0.9
	   AS recall_at_least_90_percent
FROM (SELECT v AS q FROM ivf_t WHERE id % 30 = 1 LIMIT 10) q;

-- a filter that keeps 1% of the rows still gets its LIMIT rows, the right ones
SET lance_ivf.probes = 1;
SELECT ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 10, true, 'id % 100 = 1')
	 = ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 10, false, 'id % 100 = 1')
	 AS filtered_gets_its_rows;
SELECT cardinality(ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 10, true, 'id % 100 = 1'))
	 AS filtered_rows;
-- rows spread wide, 50 lists, probes = 1: with a filter that keeps 1% of the
-- rows, probing by distance (lance_ivf.probe_radius) returns the exact
-- filtered top 10 in order, where probing only more lists when the probed
-- ones run dry does not always
CREATE TABLE ivf_spread (id int PRIMARY KEY, v vector(16));
INSERT INTO ivf_spread
SELECT i, array_agg(sin(i * 0.37 + d * 1.7) * 3 + cos(i * (d + 0.5)) ORDER BY d)::vector(16)
FROM generate_series(1, 3000) i, generate_series(1, 16) d GROUP BY i;
CREATE INDEX ivf_spread_i ON ivf_spread USING lance_ivf (v) WITH (lists = 50);
CREATE FUNCTION ivf_spread_knn(q vector) RETURNS numeric[] LANGUAGE sql AS $$
	SELECT array_agg(round(d::numeric, 6) ORDER BY d, id)
	FROM (SELECT id, v <-> q AS d FROM ivf_spread WHERE id % 100 = 3 ORDER BY v <-> q LIMIT 10) s
$$ SET enable_seqscan = off;
CREATE FUNCTION ivf_spread_exact(q vector) RETURNS numeric[] LANGUAGE sql AS $$
	SELECT array_agg(round(d::numeric, 6) ORDER BY d, id)
	FROM (SELECT id, v <-> q AS d FROM ivf_spread WHERE id % 100 = 3 ORDER BY v <-> q LIMIT 10) s
$$ SET enable_indexscan = off;
SELECT count(*) FILTER (WHERE ivf_spread_knn(v) = ivf_spread_exact(v)) = count(*) AS all_exact
FROM ivf_spread WHERE id % 97 = 5;
SET lance_ivf.probe_radius = 0;
SELECT count(*) FILTER (WHERE ivf_spread_knn(v) = ivf_spread_exact(v)) < count(*) AS some_differ
FROM ivf_spread WHERE id % 97 = 5;
RESET lance_ivf.probe_radius;
DROP FUNCTION ivf_spread_knn, ivf_spread_exact;
DROP TABLE ivf_spread;
-- with a budget it may stop early, but never errors
SET lance_ivf.max_candidates = 100;
SELECT cardinality(ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 10, true, 'id % 100 = 1'))
	 <= 10 AS budget_respected;
RESET lance_ivf.max_candidates;
RESET lance_ivf.probes;

-- inserts after the build are found at once; deletes and VACUUM forget rows
INSERT INTO ivf_t VALUES (5000, '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]');
SELECT (ivf_knn('<->', '[100,100,100,100,100,100,100,100,100,100,100,100,100,100,100,100]', 1, true))[1]
	AS inserted_row_found;
DELETE FROM ivf_t WHERE id % 3 = 0 OR id = 5000;
VACUUM ivf_t;
SET lance_ivf.probes = 20;
SELECT bool_and(ivf_knn('<->', v, 10, true) = ivf_knn('<->', v, 10, false)) AS agree_after_delete
FROM ivf_t WHERE id % 301 = 5;
SELECT bool_and(id % 3 <> 0) AS no_deleted_rows
FROM unnest(ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 500, true)) id;
-- TIDs freed by VACUUM and reused by new rows are found, not hidden
INSERT INTO ivf_t SELECT 10000 + id, v FROM ivf_t WHERE id % 3 = 1 AND id < 300;
SELECT bool_and(ivf_knn('<->', v, 10, true, distances => true)
				= ivf_knn('<->', v, 10, false, distances => true)) AS agree_after_reuse
FROM ivf_t WHERE id % 301 = 5;
RESET lance_ivf.probes;

-- folding seals the delta rows into a new segment, on demand and in VACUUM
CREATE FUNCTION ivf_segments(index regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM lancedb_catalog.side_file f JOIN lancedb_catalog.storage s USING (storage_id)
	WHERE s.relid = index $$;
SELECT lance_ivf_fold('ivf_l2') AS folded_rows, ivf_segments('ivf_l2') AS segments;
SELECT lance_ivf_fold('ivf_l2') AS nothing_to_fold;
SET lance_ivf.probes = 20;
SELECT bool_and(ivf_knn('<->', v, 10, true, distances => true)
				= ivf_knn('<->', v, 10, false, distances => true)) AS agree_after_fold
FROM ivf_t WHERE id % 301 = 5;
SELECT count(*) = count(DISTINCT id) AS no_row_twice
FROM unnest(ivf_knn('<->', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]', 3000, true)) id;
RESET lance_ivf.probes;
VACUUM ivf_t;
SELECT count(*) AS files_after_collection FROM lancedb_catalog.side_file f
JOIN lancedb_catalog.storage s USING (storage_id) WHERE s.relid = 'ivf_l2'::regclass;
SELECT error_of($$SELECT lance_ivf_fold('ivf_t_pkey')$$);
SELECT error_of($$SELECT lance_ivf_fold('ivf_t')$$);
SELECT error_of($$SELECT lance_ivf_fold(0)$$);

-- the table grows past twice its size: VACUUM folds and trains new centroids,
-- and recall at the default probes holds
CREATE FUNCTION ivf_segment_bytes(index regclass) RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(size) FROM lancedb_catalog.side_file f JOIN lancedb_catalog.storage s USING (storage_id)
	WHERE s.relid = index $$;
SELECT ivf_segment_bytes('ivf_l2') AS bytes_before \gset
INSERT INTO ivf_t
SELECT i, array_agg((i % 7) * 3 + 1.5 + cos(i * 0.9 + d) ORDER BY d)::vector(16)
FROM generate_series(20001, 26000) i, generate_series(1, 16) d GROUP BY i;
VACUUM ivf_t;
SELECT ivf_segments('ivf_l2') AS segments_after_growth,
	   ivf_segment_bytes('ivf_l2') > 3 * :bytes_before AS vacuum_folded_the_new_rows;
SELECT sum(cardinality(ARRAY(SELECT unnest(ivf_knn('<->', q, 10, true))
							 INTERSECT SELECT unnest(ivf_knn('<->', q, 10, false))))) / 200.0 >= 0.9
	   AS recall_holds_after_growth
FROM (SELECT v AS q FROM ivf_t WHERE id % 300 = 11 LIMIT 20) q;
SET lance_ivf.probes = 20;
SELECT bool_and(ivf_knn('<->', v, 10, true, distances => true)
				= ivf_knn('<->', v, 10, false, distances => true)) AS agree_after_growth
FROM ivf_t WHERE id % 301 = 5;
RESET lance_ivf.probes;

-- a build whose heap scan is shared with parallel workers (they read and
-- detoast the vectors, the leader keeps them) indexes the same rows
CREATE TABLE ivf_par (id int PRIMARY KEY, v vector(64));
INSERT INTO ivf_par
SELECT i, array_agg(sin(i * 0.7 + d) * (1 + i % 5) ORDER BY d)::vector(64)
FROM generate_series(1, 4000) i, generate_series(1, 64) d GROUP BY i;
ANALYZE ivf_par;
SET max_parallel_maintenance_workers = 2;
SET min_parallel_table_scan_size = 0;
SET maintenance_work_mem = '256MB';
SET client_min_messages = debug1;
CREATE INDEX ivf_par_i ON ivf_par USING lance_ivf (v) WITH (lists = 16);
RESET client_min_messages;
SET lance_ivf.probes = 16;
SET enable_seqscan = off;
SELECT count(*) AS rows FROM (SELECT id FROM ivf_par ORDER BY v <-> (SELECT v FROM ivf_par WHERE id = 1) LIMIT 5000) s;
SELECT bool_and(ARRAY(SELECT id FROM ivf_par ORDER BY v <-> q.v LIMIT 5)
				= ARRAY(SELECT id FROM ivf_par ORDER BY (v <-> q.v) + 0, id LIMIT 5)) AS agree
FROM (SELECT v FROM ivf_par WHERE id % 400 = 1) q;
RESET enable_seqscan;
RESET lance_ivf.probes;
-- a worker's rows are checked like the leader's: one vector of another
-- dimension fails the build, whichever process read it
DROP INDEX ivf_par_i;
ALTER TABLE ivf_par ALTER COLUMN v TYPE vector;
INSERT INTO ivf_par VALUES (5000, NULL);
UPDATE ivf_par SET v = '[1,2,3]' WHERE id = 5000;
SELECT regexp_replace(error_of($$CREATE INDEX ON ivf_par USING lance_ivf (v)$$), '\d+', 'N', 'g')
	AS mixed_dimensions;
-- a parallel build cancelled while the workers scan (statement_timeout; each
-- row's index expression sleeps a millisecond, so the scan takes seconds)
-- leaves no worker, no index and no side file, and the next build works
DELETE FROM ivf_par WHERE id = 5000;
CREATE FUNCTION ivf_slowly(v vector) RETURNS vector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	PERFORM pg_sleep(0.001);
	RETURN v;
END $$;
SELECT count(*) AS side_files_before FROM lancedb_catalog.side_file \gset
SET statement_timeout = '300ms';
SET client_min_messages = debug1;
\set VERBOSITY terse
CREATE INDEX ivf_par_slow ON ivf_par USING lance_ivf ((ivf_slowly(v)));
\set VERBOSITY default
RESET client_min_messages;
RESET statement_timeout;
SELECT count(*) AS parallel_workers_left FROM pg_stat_activity WHERE backend_type = 'parallel worker';
SELECT count(*) AS indexes_left FROM pg_class WHERE relname = 'ivf_par_slow';
SELECT count(*) - :side_files_before AS new_side_files FROM lancedb_catalog.side_file;
CREATE INDEX ivf_par_i ON ivf_par USING lance_ivf (v) WITH (lists = 16);
SET enable_seqscan = off;
SELECT count(*) AS rows_after_cancel FROM (SELECT id FROM ivf_par ORDER BY v <-> (SELECT v FROM ivf_par WHERE id = 1) LIMIT 5000) s;
RESET enable_seqscan;
DROP FUNCTION ivf_slowly;
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
RESET maintenance_work_mem;
DROP TABLE ivf_par;

-- REINDEX and REINDEX CONCURRENTLY rebuild with the new rows sealed
REINDEX INDEX ivf_l2;
REINDEX INDEX CONCURRENTLY ivf_ip;
SET lance_ivf.probes = 20;
SELECT bool_and(ivf_knn('<->', v, 10, true, distances => true)
				= ivf_knn('<->', v, 10, false, distances => true)) AS l2_after_reindex,
	   bool_and(ivf_knn('<#>', v, 10, true, distances => true)
				= ivf_knn('<#>', v, 10, false, distances => true)) AS ip_after_reindex
FROM ivf_t WHERE id % 301 = 5;
RESET lance_ivf.probes;

-- errors
SELECT error_of($$SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3]' LIMIT 1$$);
SET enable_seqscan = off;
SELECT error_of($$SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3]' LIMIT 1$$);
RESET enable_seqscan;
CREATE TABLE ivf_bad (id int, v vector);
INSERT INTO ivf_bad VALUES (1, '[1,2]'), (2, '[1,2,3]');
SELECT error_of($$CREATE INDEX ON ivf_bad USING lance_ivf (v)$$);
SELECT error_of($$CREATE INDEX ON ivf_bad USING lance_ivf (id)$$);
SELECT error_of($$CREATE INDEX ON ivf_bad USING lance_ivf (v) WITH (lists = -1)$$);
CREATE UNLOGGED TABLE ivf_unlogged (v vector(2));
SELECT error_of($$CREATE INDEX ON ivf_unlogged USING lance_ivf (v)$$);
CREATE TEMP TABLE ivf_temp (v vector(2));
INSERT INTO ivf_temp VALUES ('[1,2]');
SELECT error_of($$CREATE INDEX ON ivf_temp USING lance_ivf (v)$$);
DROP TABLE ivf_bad, ivf_unlogged, ivf_temp;

-- vectors of huge magnitude: squared distances past FLT_MAX are infinite and
-- inner products of them may be NaN, as the operators compute them; keys
-- made of such terms were NaN, compared false with everything, and their rows
-- never came back (every scan of these 85 rows returned none).  Now every row
-- comes back, in the operator's order (NaN last, as for float8)
CREATE TABLE ivf_huge (id int, v vector(3));
INSERT INTO ivf_huge
SELECT i, ARRAY[((i % 3) * 1e38)::real, (-1e38)::real, 1]::vector FROM generate_series(1, 40) i;
INSERT INTO ivf_huge SELECT i, ARRAY[i, 2, 3]::vector FROM generate_series(41, 80) i;
INSERT INTO ivf_huge
SELECT i, ARRAY[(3e38)::real, (3e38)::real, (-3e38)::real]::vector FROM generate_series(81, 85) i;
CREATE INDEX ivf_huge_l2 ON ivf_huge USING lance_ivf (v) WITH (lists = 4);
CREATE INDEX ivf_huge_ip ON ivf_huge USING lance_ivf (v vector_ip_ops) WITH (lists = 4);
CREATE TABLE ivf_huge4 AS SELECT * FROM ivf_huge;
CREATE INDEX ivf_huge4_l2 ON ivf_huge4 USING lance_ivf (v) WITH (lists = 4, bits = 4);
CREATE INDEX ivf_huge4_ip ON ivf_huge4 USING lance_ivf (v vector_ip_ops) WITH (lists = 4, bits = 4);
SELECT t, op, q,
	   ivf_knn(op, q::vector, 10, true, distances => true, tbl => t) =
	   ivf_knn(op, q::vector, 10, false, distances => true, tbl => t) AS first_10_as_exact,
	   ivf_knn(op, q::vector, 85, true, distances => true, tbl => t) =
	   ivf_knn(op, q::vector, 85, false, distances => true, tbl => t) AS all_85_as_exact
FROM (VALUES ('ivf_huge'), ('ivf_huge4')) t(t), (VALUES ('<->'), ('<#>')) o(op),
	 (VALUES ('[1,2,3]'), ('[1e38,-1e38,1]'), ('[3e38,3e38,-3e38]')) q(q)
ORDER BY 1, 2, 3;
-- without re-ranking the order is the estimates', whatever they are worth at
-- these magnitudes, but no row is lost
SET lance_ivf.rerank = 0;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM (SELECT id FROM ivf_huge ORDER BY v <-> '[1,2,3]' LIMIT 85) s) AS rows_1_bit,
	   (SELECT count(*) FROM (SELECT id FROM ivf_huge4 ORDER BY v <-> '[1,2,3]' LIMIT 85) s) AS rows_4_bits;
RESET enable_seqscan;
RESET lance_ivf.rerank;
DROP TABLE ivf_huge, ivf_huge4;

-- cosine: the operator sums squares in single precision, so past a squared
-- norm of FLT_MAX its distances are 1 or NaN, and below dims * FLT_MIN they
-- lose their precision; the index normalises in double and ordered such rows
-- by their true cosine, not as the operator does (rows of distance 1 before
-- rows of 0.006).  Such vectors now get an error, in a build, an insert or a
-- query; a zero vector is still skipped, and L2 takes them all
CREATE TABLE ivf_cos_range (id int, v vector(4));
INSERT INTO ivf_cos_range SELECT i, ARRAY[i % 7 + 1, i % 5 + 1, i % 3, i % 11]::vector
FROM generate_series(1, 200) i;
INSERT INTO ivf_cos_range VALUES (201, '[0,0,0,0]'), (202, '[1e18,2e18,3e18,1e18]'),
	(203, '[1e-18,2e-18,3e-18,1e-18]');
CREATE INDEX ivf_cos_range_i ON ivf_cos_range USING lance_ivf (v vector_cosine_ops) WITH (lists = 2);
SELECT error_of($$INSERT INTO ivf_cos_range VALUES (204, '[3e37,1e37,2e37,3e37]')$$);
SELECT error_of($$INSERT INTO ivf_cos_range VALUES (204, '[1e-20,3e-20,2e-20,1e-20]')$$);
SET enable_seqscan = off;
SELECT error_of($$SELECT id FROM ivf_cos_range ORDER BY v <=> '[3e37,1e37,2e37,3e37]' LIMIT 1$$);
SELECT error_of($$SELECT id FROM ivf_cos_range ORDER BY v <=> '[1e-20,3e-20,2e-20,1e-20]' LIMIT 1$$);
-- rows of squared norm 1.5e37 and 1.5e-35 are in range: nearest to their direction
SELECT q, ivf_knn('<=>', q::vector, 10, true, tbl => 'ivf_cos_range') AS ids,
	   ivf_knn('<=>', q::vector, 10, true, distances => true, tbl => 'ivf_cos_range') =
	   ivf_knn('<=>', q::vector, 10, false, distances => true, tbl => 'ivf_cos_range') AS first_10_as_exact
FROM (VALUES ('[3,1,2,3]'), ('[1,2,3,1]')) q(q);
RESET enable_seqscan;
CREATE TABLE ivf_cos_huge AS SELECT * FROM ivf_cos_range;
INSERT INTO ivf_cos_huge VALUES (204, '[3e37,1e37,2e37,3e37]');
SELECT error_of($$CREATE INDEX ON ivf_cos_huge USING lance_ivf (v vector_cosine_ops) WITH (lists = 2)$$);
SELECT error_of($$CREATE INDEX ON ivf_cos_huge USING lance_ivf (v) WITH (lists = 2)$$);
DROP TABLE ivf_cos_range, ivf_cos_huge;

-- 16,000 dimensions (pgvector's indexes stop at 2,000)
CREATE TABLE ivf_wide (id int, v vector(16000));
INSERT INTO ivf_wide SELECT i, array_fill((i % 5)::real + i * 0.001, ARRAY[16000])::vector
FROM generate_series(1, 40) i;
CREATE INDEX ivf_wide_i ON ivf_wide USING lance_ivf (v) WITH (lists = 4);
INSERT INTO ivf_wide VALUES (41, array_fill(7::real, ARRAY[16000])::vector);
SET enable_seqscan = off;
SELECT id FROM ivf_wide ORDER BY v <-> array_fill(7::real, ARRAY[16000])::vector LIMIT 3;
RESET enable_seqscan;

-- both build paths agree with exact search: the rows kept in memory (one
-- scan, a counting sort by list), and rows past maintenance_work_mem (2MB
-- holds about 16,800 of these: the kept ones turn into a reservoir sample, a
-- second scan sorts them); a fold with the old centroids past the limit
-- sorts without a second scan
DROP TABLE ivf_t;
CREATE TABLE ivf_t (id int PRIMARY KEY, v vector(16));
INSERT INTO ivf_t
SELECT i, array_agg((i % 11) * 2 + sin(i * 0.7 + d) ORDER BY d)::vector(16)
FROM generate_series(1, 20000) i, generate_series(1, 16) d GROUP BY i;
SET lance_ivf.probes = 16;
CREATE INDEX ivf_l2 ON ivf_t USING lance_ivf (v) WITH (lists = 16);
SELECT count(*) FILTER (WHERE ivf_knn('<->', q, 10, true, distances => true)
							 = ivf_knn('<->', q, 10, false, distances => true)) AS in_memory_agree,
	   count(*) AS queries
FROM (SELECT v AS q FROM ivf_t WHERE id % 1000 = 3) q;
DROP INDEX ivf_l2;
SET maintenance_work_mem = '2MB';
CREATE INDEX ivf_l2 ON ivf_t USING lance_ivf (v) WITH (lists = 16);
SELECT count(*) FILTER (WHERE ivf_knn('<->', q, 10, true, distances => true)
							 = ivf_knn('<->', q, 10, false, distances => true)) AS sorted_agree,
	   count(*) AS queries
FROM (SELECT v AS q FROM ivf_t WHERE id % 1000 = 3) q;
INSERT INTO ivf_t SELECT i, array_fill(i::real / 1000, ARRAY[16])::vector FROM generate_series(20001, 20100) i;
SELECT lance_ivf_fold('ivf_l2', false) AS folded_rows;
SELECT count(*) FILTER (WHERE ivf_knn('<->', q, 10, true, distances => true)
							 = ivf_knn('<->', q, 10, false, distances => true)) AS folded_agree,
	   count(*) AS queries
FROM (SELECT v AS q FROM ivf_t WHERE id % 1000 = 3 OR id > 20090) q;
-- a scan finds its index's side files through lancedb_catalog's index on
-- side_file, not by reading the whole catalog, which grows with every side
-- file of the database (after a commit, so that its snapshot is not one the
-- backend has looked them up for already)
SELECT txid_current() > 0 AS committed;
SELECT pg_stat_force_next_flush();
SELECT idx_scan AS file_lookups FROM pg_stat_all_indexes
WHERE schemaname = 'lancedb_catalog' AND indexrelname = 'side_file_storage_id_name' \gset
SELECT cardinality(ivf_knn('<->', (SELECT v FROM ivf_t WHERE id = 5), 3, true)) AS rows_found;
SELECT pg_stat_force_next_flush();
SELECT idx_scan > :file_lookups AS files_looked_up_by_index FROM pg_stat_all_indexes
WHERE schemaname = 'lancedb_catalog' AND indexrelname = 'side_file_storage_id_name';

-- a build first collects the database's side-storage garbage, so a dropped
-- index's files go at the next build even where VACUUM never runs
CREATE TABLE ivf_gc (id int, v vector(3));
INSERT INTO ivf_gc SELECT i, ARRAY[i, i % 7, 1]::vector FROM generate_series(1, 50) i;
CREATE INDEX ivf_gc_i ON ivf_gc USING lance_ivf (v) WITH (lists = 2);
SELECT format('pg_lancedb/%s/%s', (SELECT oid FROM pg_database WHERE datname = current_database()),
			  storage_id) AS gc_dir
FROM lancedb_catalog.storage WHERE relid = 'ivf_gc_i'::regclass \gset
DROP INDEX ivf_gc_i;
SELECT (pg_stat_file(:'gc_dir', true)).isdir AS dropped_files_still_there;
CREATE INDEX ivf_gc_i2 ON ivf_gc USING lance_ivf (v) WITH (lists = 2);
SELECT (pg_stat_file(:'gc_dir', true)).isdir IS NULL AS collected_by_the_next_build;
-- a collection that rolls back has removed the files but keeps their catalog
-- rows (as does a build that fails after collecting); the next one forgets them
CREATE INDEX ivf_gc_i3 ON ivf_gc USING lance_ivf (v) WITH (lists = 2);
SELECT storage_id AS gc_storage FROM lancedb_catalog.storage WHERE relid = 'ivf_gc_i3'::regclass \gset
DROP INDEX ivf_gc_i3;
BEGIN;
SELECT lancedb_collect_garbage() > 0 AS collected;
ROLLBACK;
SELECT count(*) > 0 AS rows_kept_by_the_rollback FROM lancedb_catalog.side_file
WHERE storage_id = :gc_storage;
SELECT lancedb_collect_garbage() >= 0 AS collected_again;
SELECT count(*) AS rows_after_the_next_collection FROM lancedb_catalog.side_file
WHERE storage_id = :gc_storage;
DROP TABLE ivf_gc;

-- lancedb_prewarm reads every side file the snapshot sees into the page
-- cache (test/t/031_ivf_prewarm.pl checks the page cache); it wants a
-- relation with side storage, and SELECT on the table
SELECT lancedb_prewarm('ivf_l2') = ivf_segment_bytes('ivf_l2') AS prewarmed_every_byte;
SELECT error_of($$SELECT lancedb_prewarm('ivf_t')$$);
SELECT error_of($$SELECT lancedb_prewarm('ivf_t_pkey')$$);
CREATE ROLE regress_ivf_reader;
SET ROLE regress_ivf_reader;
SELECT error_of($$SELECT lancedb_prewarm('ivf_l2')$$);
RESET ROLE;
GRANT SELECT ON ivf_t TO regress_ivf_reader;
SET ROLE regress_ivf_reader;
SELECT lancedb_prewarm('ivf_l2') = ivf_segment_bytes('ivf_l2') AS reader_prewarmed;
RESET ROLE;
REVOKE SELECT ON ivf_t FROM regress_ivf_reader;
DROP ROLE regress_ivf_reader;

-- reads whose pages a sweep saw in the page cache lately skip mincore, and
-- re-ranked vectors there are used in place, not read (lancedb.io_resident_ttl,
-- src/runtime/README): the same answers with the sweep and with mincore for
-- every read
-- (the file was just prewarmed, so the sweep's first pass sees it all)
SET lance_ivf.probes = 20;
CREATE TEMP TABLE ivf_swept AS
SELECT id, ivf_knn('<->', v, 60, true, distances => true) AS knn FROM ivf_t WHERE id % 100 = 3;
SELECT seen_reads > 0 AS swept, seen_reads <= resident_reads AS seen_are_resident,
	   viewed_reads > 0 AS vectors_in_place
FROM lancedb_debug_io_stats();
SET lancedb.io_resident_ttl = 0;
SELECT count(*) FILTER (WHERE knn = ivf_knn('<->', v, 60, true, distances => true)) AS same,
	   count(*) AS queries
FROM ivf_swept JOIN ivf_t USING (id);
SELECT reads_done > 0 AS read, seen_reads AS seen_without_the_sweep,
	   viewed_reads AS in_place_without_the_sweep
FROM lancedb_debug_io_stats();
SET lancedb.io_resident_ttl = '1min';
SHOW lancedb.io_resident_ttl;
SET lancedb.io_resident_ttl = '61s';
RESET lancedb.io_resident_ttl;
DROP TABLE ivf_swept;
RESET maintenance_work_mem;
RESET lance_ivf.probes;

-- a scan keeps its segment while scans of other indexes come and go: a
-- backend caches 8 segments, and a cursor on one of them kept reading it
-- after a ninth had pushed it out and freed it (rows lost, or read from
-- another index's file); a segment stays pinned while any scan holds it
CREATE TABLE ivf_cur (id int, v vector(32));
INSERT INTO ivf_cur
SELECT g, array_fill(((g * 7) % 997)::real, ARRAY[32])::vector FROM generate_series(1, 20000) g;
CREATE INDEX ivf_cur_i ON ivf_cur USING lance_ivf (v) WITH (lists = 2);
DO $$
BEGIN
	FOR i IN 1..9 LOOP
		EXECUTE format('CREATE TABLE ivf_other%s (id int, v vector(32))', i);
		EXECUTE format('INSERT INTO ivf_other%s SELECT g, array_fill(((g * %s) %% 97)::real, '
					   'ARRAY[32])::vector FROM generate_series(1, 100) g', i, i);
		EXECUTE format('CREATE INDEX ivf_other%s_i ON ivf_other%s USING lance_ivf (v) '
					   'WITH (lists = 2)', i, i);
	END LOOP;
END $$;
CREATE TEMP TABLE ivf_cur_rows (id int);
CREATE TEMP TABLE ivf_cur_pins (pins int, cached int);
SET lance_ivf.probes = 1;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_cur ORDER BY v <-> array_fill(3::real, ARRAY[32])::vector;
DO $$
DECLARE
	c refcursor;
	r record;
	x int;
	k int := 0;
BEGIN
	OPEN c FOR SELECT id FROM ivf_cur ORDER BY v <-> array_fill(3::real, ARRAY[32])::vector;
	LOOP
		FETCH c INTO r;
		EXIT WHEN NOT FOUND;
		k := k + 1;
		IF k = 3 THEN
			FOR i IN 1..9 LOOP
				EXECUTE format('SELECT id FROM ivf_other%s ORDER BY v <-> '
							   'array_fill(3::real, ARRAY[32])::vector LIMIT 1', i) INTO x;
			END LOOP;
			INSERT INTO ivf_cur_pins
			SELECT sum(pins) FILTER (WHERE storage_id = (SELECT storage_id FROM lancedb_catalog.storage
														 WHERE relid = 'ivf_cur_i'::regclass)),
				   count(*)
			FROM lancedb_debug_ivf_segments();
		END IF;
		INSERT INTO ivf_cur_rows VALUES (r.id);
	END LOOP;
END $$;
SELECT pins AS cursor_pins_its_segment, cached AS segments_cached FROM ivf_cur_pins;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows FROM ivf_cur_rows;
SELECT coalesce(sum(pins), 0) AS pins_after_the_statement FROM lancedb_debug_ivf_segments();
-- a scan that an error ends lets go too
BEGIN;
DECLARE ivf_c CURSOR FOR SELECT id FROM ivf_cur ORDER BY v <-> array_fill(3::real, ARRAY[32])::vector;
MOVE 5 FROM ivf_c;
SELECT sum(pins) AS pinned_by_the_cursor FROM lancedb_debug_ivf_segments();
SELECT 1 / 0;
ROLLBACK;
SELECT coalesce(sum(pins), 0) AS pins_after_the_error FROM lancedb_debug_ivf_segments();
-- ten scans open at once keep ten segments, past the cache's 8, and each
-- reads all its rows; once they end the cache goes back to 8
CREATE TEMP TABLE ivf_open_scans (cached int, pinned int, rows_read int, rows_in_tables int);
DO $$
DECLARE
	tables text[] := ARRAY['ivf_cur', 'ivf_other1', 'ivf_other2', 'ivf_other3', 'ivf_other4',
						   'ivf_other5', 'ivf_other6', 'ivf_other7', 'ivf_other8', 'ivf_other9'];
	cursors refcursor[];
	c refcursor;
	r record;
	cached int;
	pinned int;
	total int := 0;
	expected int := 0;
	n int;
BEGIN
	FOR i IN 1..10 LOOP
		c := format('ivf_scan%s', i);
		OPEN c FOR EXECUTE format('SELECT id FROM %I ORDER BY v <-> array_fill(3::real, ARRAY[32])::vector',
								  tables[i]);
		FETCH c INTO r;
		total := total + 1;
		cursors := cursors || c;
	END LOOP;
	SELECT count(*), sum(pins) INTO cached, pinned FROM lancedb_debug_ivf_segments();
	FOR i IN 1..10 LOOP
		c := cursors[i];
		LOOP
			FETCH c INTO r;
			EXIT WHEN NOT FOUND;
			total := total + 1;
		END LOOP;
		CLOSE c;
		EXECUTE format('SELECT count(*) FROM %I', tables[i]) INTO n;
		expected := expected + n;
	END LOOP;
	INSERT INTO ivf_open_scans VALUES (cached, pinned, total, expected);
END $$;
SELECT cached AS segments_cached, pinned, rows_read = rows_in_tables AS every_row_read
FROM ivf_open_scans;
SELECT count(*) AS rows_found FROM (SELECT id FROM ivf_other1 ORDER BY v <-> array_fill(3::real, ARRAY[32])::vector LIMIT 2) s;
SELECT count(*) AS segments_cached, sum(pins) AS pinned FROM lancedb_debug_ivf_segments();
DROP TABLE ivf_open_scans;
RESET lance_ivf.probes;
RESET enable_seqscan;
DROP TABLE ivf_cur, ivf_cur_rows, ivf_cur_pins;
DO $$ BEGIN FOR i IN 1..9 LOOP EXECUTE format('DROP TABLE ivf_other%s', i); END LOOP; END $$;

-- lance_ivf.cache_size bounds the lists a backend keeps between scans: past
-- it, the least recently used lists of segments no scan holds are freed
CREATE TABLE ivf_cache (id int, v vector(32));
INSERT INTO ivf_cache
SELECT g, array_fill((g % 8 * 1000 + g / 8 * 0.01)::real, ARRAY[32])::vector
FROM generate_series(1, 16000) g;
CREATE INDEX ivf_cache_i ON ivf_cache USING lance_ivf (v) WITH (lists = 8);
CREATE TEMP VIEW ivf_cache_state AS
	SELECT list_bytes, list_reads FROM lancedb_debug_ivf_segments()
	WHERE storage_id = (SELECT storage_id FROM lancedb_catalog.storage
						WHERE relid = 'ivf_cache_i'::regclass);
CREATE FUNCTION ivf_cache_near(x real, probes int) RETURNS bigint LANGUAGE sql AS $$
	SELECT set_config('lance_ivf.probes', probes::text, false);
	SELECT count(*) FROM (SELECT id FROM ivf_cache
						  ORDER BY v <-> array_fill(x, ARRAY[32])::vector LIMIT 10) s $$;
SET lance_ivf.probe_radius = 0;
CREATE TEMP TABLE ivf_cache_rows AS
SELECT id FROM ivf_cache ORDER BY v <-> array_fill(3000::real, ARRAY[32])::vector LIMIT 10;
SELECT ivf_cache_near(3000, 8) AS rows;
SELECT list_reads AS lists_read, list_bytes AS all_lists FROM ivf_cache_state \gset
CREATE TEMP VIEW ivf_cache_accounted AS
	SELECT (SELECT sum(list_bytes) FROM lancedb_debug_ivf_segments()) =
		   (SELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts
			WHERE name = 'lance_ivf list') AS memory_accounted;
SELECT :lists_read AS lists_read, memory_accounted FROM ivf_cache_accounted;
-- the lists near 0, 1000 and 2000 used last; then room for about three and a half lists
SELECT ivf_cache_near(0, 1) + ivf_cache_near(1000, 1) + ivf_cache_near(2000, 1) AS rows;
SELECT set_config('lance_ivf.cache_size', (:all_lists * 7 / 16 / 1024) || 'kB', false) IS NOT NULL AS set;
SELECT ivf_cache_near(2000, 1) AS rows;
SELECT list_bytes <= :all_lists * 7 / 16 AS within_the_budget, list_bytes > 0 AS some_kept,
	   (SELECT memory_accounted FROM ivf_cache_accounted), list_reads - :lists_read AS lists_read
FROM ivf_cache_state;
-- those three stayed; the others went
SELECT ivf_cache_near(0, 1) + ivf_cache_near(1000, 1) AS rows;
SELECT list_reads - :lists_read AS lists_read_near_recent FROM ivf_cache_state;
SELECT ivf_cache_near(5000, 1) AS rows;
SELECT list_reads - :lists_read AS lists_read_near_another FROM ivf_cache_state;
-- the same rows, whatever the cache kept
SET lance_ivf.probes = 8;
SELECT count(*) AS same_rows FROM (
	(SELECT id FROM ivf_cache ORDER BY v <-> array_fill(3000::real, ARRAY[32])::vector LIMIT 10)
	INTERSECT SELECT id FROM ivf_cache_rows) s;
-- a scan keeps what it holds past the budget until it ends
SET enable_seqscan = off;
BEGIN;
DECLARE ivf_cache_c CURSOR FOR
	SELECT id FROM ivf_cache ORDER BY v <-> array_fill(3000::real, ARRAY[32])::vector;
MOVE 3 FROM ivf_cache_c;
SELECT list_bytes = :all_lists AS all_held FROM ivf_cache_state;
CLOSE ivf_cache_c;
SELECT list_bytes <= :all_lists * 7 / 16 AS within_the_budget FROM ivf_cache_state;
COMMIT;
-- and when an error ends it
BEGIN;
DECLARE ivf_cache_c CURSOR FOR
	SELECT id FROM ivf_cache ORDER BY v <-> array_fill(3000::real, ARRAY[32])::vector;
MOVE 3 FROM ivf_cache_c;
SELECT 1 / 0;
ROLLBACK;
SELECT list_bytes <= :all_lists * 7 / 16 AS within_the_budget_after_the_error FROM ivf_cache_state;
RESET enable_seqscan;
-- VACUUM and lance_ivf_fold go through every list, holding at most one more than the budget
DELETE FROM ivf_cache WHERE id % 2 = 0;
SELECT lancedb_debug_ivf_list_peak() > 0 AS peak_reset;
VACUUM ivf_cache;
SELECT lancedb_debug_ivf_list_peak() <= :all_lists * 9 / 16 AS vacuum_within_a_list_of_the_budget;
INSERT INTO ivf_cache SELECT g, array_fill(g::real, ARRAY[32])::vector FROM generate_series(1, 100) g;
SELECT ivf_cache_near(3000, 8) AS rows;
SELECT lancedb_debug_ivf_list_peak() > 0 AS peak_reset;
SELECT lance_ivf_fold('ivf_cache_i') AS rows_folded;
SELECT lancedb_debug_ivf_list_peak() <= :all_lists * 9 / 16 AS fold_within_a_list_of_the_budget;
-- 0: nothing is kept once a scan ends
SET lance_ivf.cache_size = 0;
SELECT ivf_cache_near(3000, 8) AS rows;
SELECT sum(list_bytes) AS kept, (SELECT memory_accounted FROM ivf_cache_accounted)
FROM lancedb_debug_ivf_segments();
RESET lance_ivf.cache_size;
RESET lance_ivf.probe_radius;
RESET lance_ivf.probes;
DROP VIEW ivf_cache_state, ivf_cache_accounted;
DROP TABLE ivf_cache, ivf_cache_rows;
DROP FUNCTION ivf_cache_near;

DROP TABLE ivf_t, ivf_wide;
SELECT lancedb_collect_garbage() > 0 AS collected;
SELECT count(*) AS side_files_left FROM lancedb_catalog.side_file;
DROP FUNCTION ivf_knn, ivf_segments, ivf_segment_bytes;
