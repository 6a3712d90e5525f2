-- lance_ivf with B-bit codes (the bits option) and without re-ranking
-- (rerank 0): rows ordered by estimated distances, recall that grows with
-- the bits, exact distances wherever a query projects one.

CREATE TABLE ivf_b (id int PRIMARY KEY, v vector(32));
INSERT INTO ivf_b
SELECT i, array_agg((i % 9) * 1.5 + sin(i * 1.7 + d * 0.3) + 0.7 * cos(i * 0.37 * d) ORDER BY d)::vector(32)
FROM generate_series(1, 3000) i, generate_series(1, 32) d GROUP BY i;

-- The ids of the k nearest rows by 'op' through the index (forced) or by
-- exact search.
CREATE FUNCTION ivf_b_knn(op text, q vector, k int, index bool) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
	result int[];
BEGIN
	PERFORM set_config('enable_seqscan', CASE WHEN index THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('enable_indexscan', CASE WHEN index THEN 'on' ELSE 'off' END, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM ivf_b ORDER BY v %s $1 LIMIT %s) s',
				   op, k) INTO result USING q;
	RETURN result;
END
$$;

-- Mean recall@10 of the index over 30 queries (near some rows, not on them).
CREATE FUNCTION ivf_b_recall(op text) RETURNS numeric LANGUAGE sql AS $$
	SELECT avg(cardinality(ARRAY(SELECT unnest(ivf_b_knn(op, q, 10, true))
								 INTERSECT SELECT unnest(ivf_b_knn(op, q, 10, false))))) / 10
	FROM (SELECT v + array_fill(0.05::real, ARRAY[32])::vector AS q
		  FROM ivf_b WHERE id % 100 = 3) q $$;

-- the option: 1, 2, 4 or 8
SELECT error_of($$CREATE INDEX ON ivf_b USING lance_ivf (v) WITH (bits = 3)$$);
SELECT error_of($$CREATE INDEX ON ivf_b USING lance_ivf (v) WITH (bits = 0)$$);
SELECT error_of($$CREATE INDEX ON ivf_b USING lance_ivf (v) WITH (bits = 16)$$);
SELECT error_of($$CREATE INDEX ON ivf_b USING lance_ivf (v) WITH (rerank = -2)$$);
SELECT error_of($$SET lance_ivf.rerank = -1$$);

-- without re-ranking, at full probes, recall grows with the bits; with 8
-- bits it is nearly exact search
SET lance_ivf.probes = 20;
SET lance_ivf.rerank = 0;
CREATE TEMP TABLE bits_recall (bits int, recall numeric);
CREATE INDEX ivf_b_i ON ivf_b USING lance_ivf (v) WITH (lists = 20, bits = 1);
INSERT INTO bits_recall SELECT 1, ivf_b_recall('<->');
DROP INDEX ivf_b_i;
CREATE INDEX ivf_b_i ON ivf_b USING lance_ivf (v) WITH (lists = 20, bits = 2);
INSERT INTO bits_recall SELECT 2, ivf_b_recall('<->');
DROP INDEX ivf_b_i;
CREATE INDEX ivf_b_i ON ivf_b USING lance_ivf (v) WITH (lists = 20, bits = 4);
INSERT INTO bits_recall SELECT 4, ivf_b_recall('<->');
DROP INDEX ivf_b_i;
CREATE INDEX ivf_b_i ON ivf_b USING lance_ivf (v) WITH (lists = 20, bits = 8);
INSERT INTO bits_recall SELECT 8, ivf_b_recall('<->');
SELECT r1.recall < r2.recall AND r2.recall < r4.recall AND r4.recall <= r8.recall AS grows_with_bits,
	   r4.recall >= 0.9 AS four_bits_at_least_90_percent,
	   r8.recall >= 0.97 AS eight_bits_at_least_97_percent
FROM bits_recall r1, bits_recall r2, bits_recall r4, bits_recall r8
WHERE r1.bits = 1 AND r2.bits = 2 AND r4.bits = 4 AND r8.bits = 8;

-- the estimates are never what a query projects: the scan does not offer
-- them for reuse, and the operator computes the distance itself (only a
-- sort-only column takes the distance the scan ordered by)
SET enable_seqscan = off;
SELECT lance_ivf_scan_distance(ctid, 'ivf_b_i', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') IS NULL AS not_offered,
	   lance_ivf_scan_order_distance(ctid, 'ivf_b_i', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') IS NOT NULL AS ordered_by,
	   (v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')
	   = l2_distance(v, '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS exact
FROM ivf_b ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
-- with re-ranking they are exact, and offered
RESET lance_ivf.rerank;
SELECT lance_ivf_scan_distance(ctid, 'ivf_b_i', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]')
	   = l2_distance(v, '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') AS offered_exact
FROM ivf_b ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3;
RESET enable_seqscan;

-- an index's rerank option overrides the setting
ALTER INDEX ivf_b_i SET (rerank = 0);
SET enable_seqscan = off;
SELECT bool_and(lance_ivf_scan_distance(ctid, 'ivf_b_i', '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]') IS NULL)
	   AS index_option_rerank_0
FROM (SELECT ctid FROM ivf_b ORDER BY v <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]' LIMIT 3) s;
RESET enable_seqscan;
ALTER INDEX ivf_b_i RESET (rerank);

-- with re-ranking, B-bit indexes return exact distances in exact order, for
-- every operator class: with every probed row examined (rerank covers them
-- all), the results are exact search's
CREATE INDEX ivf_b_ip ON ivf_b USING lance_ivf (v vector_ip_ops) WITH (lists = 20, bits = 4);
CREATE INDEX ivf_b_cos ON ivf_b USING lance_ivf (v vector_cosine_ops) WITH (lists = 20, bits = 2);
SET lance_ivf.rerank = 5000;
SELECT op, count(*) FILTER (WHERE ivf_b_knn(op, q, 10, true) = ivf_b_knn(op, q, 10, false)) AS agree,
	   count(*) AS queries
FROM (VALUES ('<->'), ('<#>'), ('<=>')) o(op),
	 (SELECT v AS q FROM ivf_b WHERE id % 300 = 7) q
GROUP BY op ORDER BY op;
-- and at the default rerank, nearly so
RESET lance_ivf.rerank;
SELECT ivf_b_recall('<->') >= 0.97 AS l2_recall, ivf_b_recall('<#>') >= 0.97 AS ip_recall,
	   ivf_b_recall('<=>') >= 0.97 AS cosine_recall;
-- and without it, inner product and cosine distance are estimated as well
SET lance_ivf.rerank = 0;
SELECT ivf_b_recall('<#>') >= 0.85 AS ip_recall, ivf_b_recall('<=>') >= 0.85 AS cosine_recall;

-- a NULL query: every row, in no particular order
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM ivf_b ORDER BY v <-> NULL LIMIT 5) s;
RESET enable_seqscan;

-- rows inserted after the build (exact distances from the delta area) and
-- folded into a new segment, which keeps the bits
INSERT INTO ivf_b VALUES (5001, array_fill(40::real, ARRAY[32])::vector);
SELECT ivf_b_knn('<->', array_fill(40.1::real, ARRAY[32])::vector, 1, true) AS from_delta;
SELECT lance_ivf_fold('ivf_b_i') AS folded_rows;
SELECT ivf_b_knn('<->', array_fill(40.1::real, ARRAY[32])::vector, 1, true) AS after_fold,
	   ivf_b_recall('<->') >= 0.97 AS recall_after_fold;

-- a new bits option takes effect at the next build
ALTER INDEX ivf_b_i SET (bits = 2);
REINDEX INDEX ivf_b_i;
SELECT ivf_b_recall('<->') BETWEEN (SELECT recall FROM bits_recall WHERE bits = 2) - 0.05
							   AND (SELECT recall FROM bits_recall WHERE bits = 2) + 0.05
	   AS like_two_bits;
RESET lance_ivf.rerank;
RESET lance_ivf.probes;

-- 16,000 dimensions with 8-bit codes
CREATE TABLE ivf_b_wide (id int, v vector(16000));
INSERT INTO ivf_b_wide SELECT i, array_fill((i % 5)::real + i * 0.001, ARRAY[16000])::vector
FROM generate_series(1, 30) i;
CREATE INDEX ON ivf_b_wide USING lance_ivf (v) WITH (lists = 3, bits = 8, rerank = 0);
SET enable_seqscan = off;
SELECT id FROM ivf_b_wide ORDER BY v <-> array_fill(3.01::real, ARRAY[16000])::vector LIMIT 3;
RESET enable_seqscan;

DROP TABLE ivf_b, ivf_b_wide;
DROP FUNCTION ivf_b_knn, ivf_b_recall;
SELECT lancedb_collect_garbage() > 0 AS collected;
SELECT count(*) AS side_files_left FROM lancedb_catalog.side_file;
