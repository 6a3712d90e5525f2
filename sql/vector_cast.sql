-- Casts from and to arrays, as pgvector defines them.
SELECT ARRAY[1,2,3]::vector, ARRAY[1.5,2.5]::real[]::vector,
       ARRAY[1.25,-2]::double precision[]::vector, ARRAY[1.5,2]::numeric[]::vector;
SELECT '[1,2.5,-3]'::vector::real[];
SELECT ARRAY[1,2,3]::vector(3);
CREATE TABLE casted (v vector(2));
INSERT INTO casted VALUES (ARRAY[1,2]), (ARRAY[1.5,2.5]::real[]);
SELECT v FROM casted;
DROP TABLE casted;
SELECT cast_expr, error_of('SELECT ' || cast_expr) FROM (VALUES
	('ARRAY[1,2]::vector(3)'), ('ARRAY[[1,2],[3,4]]::vector'), ('ARRAY[1,NULL]::vector'),
	($$'{}'::int[]::vector$$), ($$ARRAY['NaN']::real[]::vector$$),
	('ARRAY[1e300]::double precision[]::vector'), ('ARRAY[1e39]::numeric[]::vector'),
	('array_fill(1, ARRAY[16001])::vector')) t(cast_expr);
