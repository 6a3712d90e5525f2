/*
 * lancedb.c
 *	  Entry point of the lancedb extension.
 *
 * _PG_init runs in the postmaster when lancedb is listed in
 * shared_preload_libraries (and in a backend that loads the library on
 * demand).  It registers GUCs, the WAL resource manager (preloaded only),
 * a drop hook and a planner hook, and picks the distance kernels.  It must
 * never start a thread or an I/O ring: the postmaster forks every backend
 * without exec, and threads do not survive fork() (see ARCHITECTURE.md,
 * invariant 6).
 */
#include "postgres.h"

#include "fmgr.h"
#include "ivf/ivf.h"
#include "storage/io.h"
#include "storage/side_storage.h"
#include "utils/guc.h"
#include "vector/vector.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	VectorInit();
	LanceIoInit();				/* settings only, unless a debug setting says so */
	SideStorageInit();			/* WAL resource manager, drop hook */
	IvfInit();					/* lance_ivf's index options and settings */
	IvfReuseInit();				/* planner hook: projections reuse scan distances */
	MarkGUCPrefixReserved("lancedb");
}
