-- Exact nearest-neighbour search with ORDER BY ... LIMIT on a heap table.
CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
INSERT INTO items VALUES (1, '[1,1,1]'), (2, '[2,2,2]'), (3, '[1,1,2]'), (4, '[-1,0,0]'),
                         (5, '[10,10,10]'), (6, NULL);
SELECT id, embedding <-> '[1,1,1]' AS dist FROM items ORDER BY embedding <-> '[1,1,1]', id LIMIT 3;
SELECT id, embedding <#> '[1,1,1]' AS dist FROM items ORDER BY embedding <#> '[1,1,1]', id LIMIT 3;
SELECT id, embedding <=> '[1,1,1]' AS dist FROM items ORDER BY embedding <=> '[1,1,1]', id LIMIT 3;
SELECT id, embedding <+> '[1,1,1]' AS dist FROM items ORDER BY embedding <+> '[1,1,1]', id LIMIT 3;
SELECT id FROM items ORDER BY embedding <-> '[1,1]' LIMIT 1;
PREPARE knn(vector) AS SELECT id FROM items ORDER BY embedding <-> $1, id LIMIT 2;
EXECUTE knn('[9,9,9]');
DROP TABLE items;

-- on 2,000 deterministic 100-dim vectors, both kernel sets give the same top 10
CREATE TABLE points AS
SELECT i AS id, array_agg(sin(i * 7 + d * 13) ORDER BY d)::vector(100) AS embedding
FROM generate_series(1, 2000) i, generate_series(1, 100) d GROUP BY i;
CREATE TABLE q AS SELECT embedding AS qv FROM points WHERE id = 17;
SET lancedb.distance_kernels = 'scalar';
CREATE TABLE top_scalar AS SELECT id, embedding <-> qv AS d FROM points, q ORDER BY d LIMIT 10;
RESET lancedb.distance_kernels;
CREATE TABLE top_auto AS SELECT id, embedding <-> qv AS d FROM points, q ORDER BY d LIMIT 10;
SELECT count(*) AS same_ids FROM top_scalar s JOIN top_auto a USING (id);
SELECT max(abs(s.d - a.d)) < 1e-5 AS same_distances FROM top_scalar s JOIN top_auto a USING (id);
SELECT id, round(d::numeric, 4) FROM top_auto ORDER BY d LIMIT 3;
DROP TABLE points, q, top_scalar, top_auto;
