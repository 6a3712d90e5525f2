/*
 * io_debug.c
 *	  Internal SQL functions that drive the I/O runtime from SQL, for the TAP
 *	  tests (test/t/0NN_runtime_...pl).  They are not part of the extension's
 *	  interface: EXECUTE is revoked from PUBLIC and they may change or go.
 *
 *	lancedb_debug_read(path, offsets, length) -> bytea
 *		One batch: a read of 'length' bytes at each offset, waited for with
 *		the backend's interruptible wait, the results concatenated (each is
 *		short only at EOF).  A FIFO is opened O_RDWR and read as a stream
 *		(offsets are ignored): with no writer data the read never ends,
 *		which is how the tests make a read hang.
 *	lancedb_debug_io_stats() -> record
 *		This process's runtime: method, pids, threads, batches, bytes.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "compat.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/io.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

#define MAX_DEBUG_READS 65536

LANCEDB_FUNCTION(lancedb_debug_read);
Datum
lancedb_debug_read(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *offsets = PG_GETARG_ARRAYTYPE_P(1);
	int32		length = PG_GETARG_INT32(2);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	LanceIoBatch *batch;
	struct stat st;
	bool		fifo;
	int			fd;
	bytea	   *result;
	char	   *out;
	int			i;

	/* it reads any file the server can: the same rule as pg_read_binary_file */
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read server files"),
				 errdetail("Only roles with privileges of pg_read_server_files may use lancedb_debug_read.")));

	deconstruct_array(offsets, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n < 1 || n > MAX_DEBUG_READS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected 1 to %d offsets but found %d", MAX_DEBUG_READS, n)));
	if (length < 1 || (int64) length * n > (int64) (MaxAllocSize - VARHDRSZ))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("expected 1 to %d bytes in all but found %lld",
						(int) (MaxAllocSize - VARHDRSZ), (long long) length * n)));
	for (i = 0; i < n; i++)
		if (nulls[i] || DatumGetInt64(elems[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("offsets must be non-negative and not null")));

	/* the batch first, so that it owns the fd from the moment it is open */
	batch = LanceIoBatchBegin(n, (size_t) n * TYPEALIGN(RUNTIME_READ_ALIGN, length));
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	fifo = S_ISFIFO(st.st_mode);
	fd = open(path, (fifo ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", path)));
	LanceIoBatchAdoptFd(batch, fd);

	for (i = 0; i < n; i++)
		LanceIoBatchRead(batch, fd, fifo ? RUNTIME_OFFSET_CURRENT : DatumGetInt64(elems[i]),
						 (size_t) length);
	LanceIoBatchSubmit(batch);
	LanceIoBatchWaitAll(batch);

	result = palloc(VARHDRSZ + (Size) length * n);
	out = VARDATA(result);
	for (i = 0; i < n; i++)
	{
		size_t		len;
		const void *data = LanceIoBatchData(batch, i, &len);

		memcpy(out, data, len);
		out += len;
	}
	SET_VARSIZE(result, out - (char *) result);
	LanceIoBatchEnd(batch);
	PG_RETURN_BYTEA_P(result);
}

LANCEDB_FUNCTION(lancedb_debug_io_stats);
Datum
lancedb_debug_io_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[12];
	bool		isnull[12] = {false};
	Runtime    *rt = RuntimeProcessPeek();
	RuntimeStats st;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(&st, 0, sizeof(st));
	if (rt == NULL || RuntimeGetStats(rt, &st) != 0)
	{
		values[0] = CStringGetTextDatum("none");
		isnull[2] = true;
	}
	else
	{
		values[0] = CStringGetTextDatum(RuntimeMethodName(st.method));
		values[2] = Int32GetDatum(st.creator_pid);
	}
	values[1] = Int32GetDatum(MyProcPid);
	values[3] = Int32GetDatum(st.threads);
	values[4] = Int32GetDatum(st.live_batches);
	values[5] = Int32GetDatum(st.in_flight);
	values[6] = Int64GetDatum((int64) st.held_bytes);
	values[7] = Int64GetDatum((int64) st.reads_done);
	values[8] = CStringGetTextDatum(st.fallback_reason);
	values[9] = Int64GetDatum((int64) st.resident_reads);
	values[10] = Int64GetDatum((int64) st.seen_reads);
	values[11] = Int64GetDatum((int64) st.viewed_reads);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, isnull)));
}
