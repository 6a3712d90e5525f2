/*
 * compat.h
 *	  Differences between PostgreSQL major versions, in one place.
 *
 * Every PG_VERSION_NUM test and every work-around for an older server
 * belongs here, not in the files that use them.
 */
#ifndef LANCEDB_COMPAT_H
#define LANCEDB_COMPAT_H

#include "postgres.h"

#include "fmgr.h"

/*
 * The library is built with -fvisibility=hidden and PGDLLEXPORT made to mean
 * "visible" (see Makefile).  From PostgreSQL 16 on, PG_FUNCTION_INFO_V1
 * exports the function it declares; PostgreSQL 15's exports only the
 * pg_finfo_ record, so the function itself is declared exported here.
 */
#if PG_VERSION_NUM < 160000
#define LANCEDB_FUNCTION(name) PGDLLEXPORT PG_FUNCTION_INFO_V1(name)
#else
#define LANCEDB_FUNCTION(name) PG_FUNCTION_INFO_V1(name)
#endif

#endif							/* LANCEDB_COMPAT_H */
