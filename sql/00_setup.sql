-- Helpers for the other suites (run first: REGRESS is sorted by name).

-- The SQLSTATE, message and detail a statement fails with, so expected files
-- pin error codes without psql's verbose LOCATION lines (source line numbers).
CREATE FUNCTION error_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	EXECUTE statement;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN detail <> '' THEN ' (' || detail || ')' ELSE '' END;
END
$$;
SELECT error_of('SELECT 1/0');
SELECT error_of('SELECT 1');
