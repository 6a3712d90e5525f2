-- Text and binary input/output, typmods: pgvector's syntax, output and errors.
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 , -2.5,3e2 ] '::vector;
SELECT '[1.5e-45,3.4028235e38,-0,0.1,1e20,123456789]'::vector;
SELECT '[0.30000001192092896]'::vector, '[1.00000011920928955]'::vector;
-- the output round-trips exactly
SELECT v::text::vector = v AS round_trip FROM (SELECT '[0.1,0.2,0.3,3.14159274,1e-30]'::vector AS v) s;

-- malformed text (22P02); empty, NaN, infinite, out of range (22000, 22003)
SELECT input, error_of(format('SELECT %L::vector', input))
FROM (VALUES ('1,2,3'), ('[1,2,3'), ('[1,2,]'), ('[1,,2]'), ('[1 2]'), ('[a]'), ('[1]x'), (''),
             ('[]'), ('[NaN]'), ('[1,Infinity]'), ('[-inf]'), ('[4e38]')) t(input);
-- too many dimensions (54000); 16,000 are fine
SELECT error_of($$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector$$);
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);

-- typmods
CREATE TABLE t3 (v vector(3));
INSERT INTO t3 VALUES ('[1,2,3]');
SELECT error_of($$INSERT INTO t3 VALUES ('[1,2]')$$), error_of($$SELECT '[1,2]'::vector(3)$$);
SELECT '[1,2,3]'::vector(3);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't3'::regclass AND attname = 'v';
SELECT error_of('CREATE TABLE bad (v vector(0))'), error_of('CREATE TABLE bad (v vector(16001))'),
       error_of('CREATE TABLE bad (v vector(2, 3))');
CREATE TABLE ok (v vector(16000));
DROP TABLE ok;

-- binary: the bytes are pgvector's (uint16 dim, uint16 zero, big-endian float4s)
SELECT vector_send('[1,-2,3.5]');
SELECT vector_send('[0]');

-- binary input from hand-made pgvector bytes, through COPY (FORMAT binary)
\getenv abs_builddir PG_ABS_BUILDDIR
\set binfile :abs_builddir '/results/vector_io.bin'
CREATE TABLE raw (b bytea);
CREATE TABLE vecs (v vector);
INSERT INTO raw VALUES ('\x000200003f800000c0600000');
COPY raw TO :'binfile' WITH (FORMAT binary);
COPY vecs FROM :'binfile' WITH (FORMAT binary);
SELECT v FROM vecs;
-- round trip of our own binary output
COPY vecs TO :'binfile' WITH (FORMAT binary);
TRUNCATE vecs;
COPY vecs FROM :'binfile' WITH (FORMAT binary);
SELECT v FROM vecs;
SELECT error_of(format('COPY t3 FROM %L WITH (FORMAT binary)', :'binfile'));

-- malformed binary input gets errors, never a wrong value
CREATE FUNCTION pg_temp.copy_in(bytes bytea, file text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', bytes, file);
	RETURN error_of(format('COPY vecs FROM %L WITH (FORMAT binary)', file));
END
$$;
SELECT what, pg_temp.copy_in(bytes::bytea, :'binfile') FROM (VALUES
	('unused is not zero', '\x000100013f800000'),
	('no dimensions', '\x00000000'),
	('NaN', '\x000100007fc00000'),
	('infinity', '\x000100007f800000'),
	('truncated', '\x000200003f800000'),
	('16001 dimensions', '\x3e810000')) t(what, bytes);
SELECT count(*) AS rows_after_errors FROM vecs;

-- COPY text format round trip
COPY vecs TO STDOUT;
DROP TABLE t3, raw, vecs;
