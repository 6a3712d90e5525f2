-- Distances, norms, arithmetic, slicing and ordering, with pgvector's meaning
-- and errors.  Values are chosen so the exact answer is representable.
SELECT '[1,2,3]'::vector <-> '[4,6,3]' AS l2, l2_distance('[1,2,3]', '[4,6,3]');
SELECT vector_l2_squared_distance('[1,2,3]', '[4,6,3]') AS l2_squared;
SELECT '[1,2,3]'::vector <#> '[4,5,6]' AS neg_ip, inner_product('[1,2,3]', '[4,5,6]');
SELECT '[1,0]'::vector <=> '[0,1]' AS orthogonal, '[1,1]'::vector <=> '[2,2]' AS same,
       '[1,0]'::vector <=> '[-3,0]' AS opposite, cosine_distance('[3,4]', '[4,3]');
SELECT '[0,0]'::vector <=> '[1,1]' AS zero_vector_is_nan;
SELECT '[1,2,3]'::vector <+> '[4,0,3.5]' AS l1, l1_distance('[1,2,3]', '[4,0,3.5]');
SELECT vector_dims('[1,2,3]'), vector_norm('[3,4]'), vector_norm('[0]');
SELECT l2_normalize('[3,4]'), l2_normalize('[0,0]'), l2_normalize('[-2]');

-- dimensions must agree
SELECT op, error_of(format('SELECT %L::vector %s %L::vector', '[1,2]', op, '[1,2,3]'))
FROM unnest(ARRAY['<->', '<#>', '<=>', '<+>', '+', '-', '*']) op;
SELECT error_of($$SELECT vector_l2_squared_distance('[1]', '[1,2]')$$);

-- element-wise arithmetic, with overflow and underflow errors (22003)
SELECT '[1,2,3]'::vector + '[4,5,6]', '[1,2,3]'::vector - '[4,5,6]', '[1,2,3]'::vector * '[4,5,6]';
SELECT expr, error_of('SELECT ' || expr) FROM (VALUES
	($$'[3e38]'::vector + '[3e38]'$$), ($$'[-3e38]'::vector - '[3e38]'$$),
	($$'[1e30]'::vector * '[1e30]'$$), ($$'[1e-30]'::vector * '[1e-30]'$$)) t(expr);

-- concatenation and subvector (1-based like substring)
SELECT '[1,2]'::vector || '[3]';
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[8000]), ',') || ']')::vector
     || ('[' || array_to_string(array_fill(1, ARRAY[8001]), ',') || ']')::vector);
SELECT subvector('[1,2,3,4,5]', 2, 3), subvector('[1,2,3,4,5]', 4, 10),
       subvector('[1,2,3,4,5]', -1, 3), subvector('[1,2,3,4,5]', 1, 2147483647);
SELECT subvector('[1,2,3,4,5]', 6, 1);
SELECT subvector('[1,2,3,4,5]', 1, 0);
SELECT subvector('[1,2,3,4,5]', -5, 3);

-- comparison and btree ordering: by elements, then a prefix first
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector < '[1,2,0]', '[2]'::vector > '[1,9]',
       '[1,2]'::vector = '[1,2]', '[1,2]'::vector <> '[1,2]', '[1,2]'::vector <= '[1,2]',
       '[1,2]'::vector >= '[1,3]', vector_cmp('[1,2]', '[1,2]');
CREATE TABLE ordered (id int, v vector);
INSERT INTO ordered VALUES (1, '[2,1]'), (2, '[1,2,3]'), (3, '[1,2]'), (4, '[-1,5]'), (5, '[1,2]');
CREATE INDEX ON ordered (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id, v FROM ordered WHERE v >= '[1,2]' ORDER BY v, id;
SELECT id, v FROM ordered WHERE v >= '[1,2]' ORDER BY v, id;
RESET enable_seqscan;
SELECT DISTINCT v FROM ordered ORDER BY v;
DROP TABLE ordered;

-- the scalar reference and the SIMD kernels agree
SET lancedb.distance_kernels = 'scalar';
SELECT '[1,2,3,4,5,6,7,8,9,10,11]'::vector <-> '[2,3,4,5,6,7,8,9,10,11,12]' AS l2,
       '[1,2,3,4,5,6,7,8,9,10,11]'::vector <#> '[2,3,4,5,6,7,8,9,10,11,12]' AS ip,
       '[1,2,3,4,5,6,7,8,9,10,11]'::vector <+> '[2,3,4,5,6,7,8,9,10,11,12]' AS l1;
RESET lancedb.distance_kernels;
SELECT '[1,2,3,4,5,6,7,8,9,10,11]'::vector <-> '[2,3,4,5,6,7,8,9,10,11,12]' AS l2,
       '[1,2,3,4,5,6,7,8,9,10,11]'::vector <#> '[2,3,4,5,6,7,8,9,10,11,12]' AS ip,
       '[1,2,3,4,5,6,7,8,9,10,11]'::vector <+> '[2,3,4,5,6,7,8,9,10,11,12]' AS l1;
