-- avg and sum, serial and parallel.
SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (SELECT '[1]'::vector WHERE false) t(v);
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
SELECT avg(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
-- called outside an aggregate, the state argument is not modified
SELECT vector_accum('{0}', '[1,2]'), vector_accum('{1,5,6}', '[1,2]');
SELECT vector_combine('{0}', '{1,5,6}'), vector_combine('{1,5,6}', '{0}'),
       vector_combine('{1,5,6}', '{2,1,1}'), vector_combine('{0}', '{0}');
SELECT vector_avg('{2,5,6}');

CREATE TABLE many (i int, v vector(3));
-- small integers, so float32 sums are exact in any order of addition
INSERT INTO many SELECT i, ARRAY[i % 100, i % 7, -(i % 13)]::vector FROM generate_series(1, 20000) i;
ANALYZE many;
SELECT avg(v), sum(v) FROM many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM many;
SELECT avg(v), sum(v) FROM many;
DROP TABLE many;
