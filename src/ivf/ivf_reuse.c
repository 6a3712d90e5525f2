/*
 * ivf_reuse.c
 *	  Lets a query's projection reuse the exact distance a lance_ivf scan
 *	  already computed, instead of detoasting the row's vector again.
 *
 * In "SELECT ... ORDER BY embedding <-> $1 LIMIT k" the planner keeps the
 * ORDER BY expression in the index scan's target list (as a resjunk column,
 * or as a column the query selects), so the executor evaluates it for every
 * row the index returns: it reads the row's vector back, from TOAST when it
 * is long, which costs about as much as the rest of a lance_ivf scan.  The
 * scan has just computed that very distance, bit for bit the same way as the
 * operator (same kernel, same vectors) for <-> and <#>.
 *
 * So a planner hook rewrites such a target entry of an index scan on a
 * lance_ivf index into
 *
 *		COALESCE(lance_ivf_scan_distance(ctid, index, query), <expression>)
 *
 * and the scan remembers, for the row it returned last, its index, TID and
 * query (IvfRememberReturned).  lance_ivf_scan_distance() answers only when
 * all three match the row being projected, which makes it a cache keyed by
 * (index, TID, query) whose value is a pure function of its key: it cannot
 * be wrong, whichever scans ran in between (a subplan's, another loop's).
 * Otherwise it returns NULL and COALESCE evaluates the expression as before;
 * that is also what happens for a heap-only tuple reached through a HOT
 * chain, whose TID differs from the one the index returned.
 *
 * Cosine distances are left alone: the index ranks normalised vectors, whose
 * distances can differ from the operator's in the last bits.  So are the
 * estimated distances of a scan without re-ranking (rerank 0).
 *
 * Except where nobody reads the value but the sort: when the plan is the
 * index scan or a Limit right above it and the entry is only resjunk at the
 * top (SELECT id ... ORDER BY embedding <-> $1 LIMIT k), the value is thrown
 * away once the row is out, so any value in the scan's order will do.  Such
 * entries become
 *
 *		COALESCE(lance_ivf_scan_order_distance(ctid, index, query), <expression>)
 *
 * which answers with the distance the scan ordered the row by, exact or
 * estimated, for every metric: without re-ranking nothing reads the row's
 * vector at all.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "ivf/ivf.h"
#include "vector/vector.h"

#define SCAN_DISTANCE_FUNCTION "lance_ivf_scan_distance"
#define SCAN_ORDER_DISTANCE_FUNCTION "lance_ivf_scan_order_distance"

LANCEDB_FUNCTION(lance_ivf_scan_distance);
LANCEDB_FUNCTION(lance_ivf_scan_order_distance);

/* The row a lance_ivf scan of this backend returned last. */
static struct
{
	uint64		scan;			/* IvfReuseScanId() of the scan; 0: none */
	Oid			index;
	ItemPointerData tid;
	double		distance;
	bool		exact;			/* what the operator computes, bit for bit */
	int			dims;
	float	   *query;			/* in TopMemoryContext, 'capacity' floats */
	int			capacity;
	/* a TOAST pointer found to hold the query (IsReturnedRow) */
	bool		toast_known;
	struct varatt_external toast;
} returned;

static uint64 next_scan_id = 1;
static planner_hook_type prev_planner_hook = NULL;

uint64
IvfReuseScanId(void)
{
	return next_scan_id++;
}

void
IvfRememberReturned(uint64 scan, Oid index, const float *query, int dims,
					ItemPointer tid, double distance, bool exact)
{
	if (returned.scan != scan)
	{
		returned.toast_known = false;
		/* the first row of this scan (or of its latest rescan) */
		if (returned.capacity < dims)
		{
			if (returned.query != NULL)
				pfree(returned.query);
			returned.query = MemoryContextAlloc(TopMemoryContext, sizeof(float) * dims);
			returned.capacity = dims;
		}
		memcpy(returned.query, query, sizeof(float) * dims);
		returned.dims = dims;
		returned.index = index;
		returned.scan = scan;
	}
	returned.tid = *tid;
	returned.distance = distance;
	returned.exact = exact;
}

/*
 * A scan that ended forgets its row: a TID means another row once VACUUM has
 * freed it.  Scans that end in an error never get here; the end of their
 * transaction forgets.
 */
void
IvfForgetScan(uint64 scan)
{
	if (returned.scan == scan)
		returned.scan = 0;
}

static void
ForgetAtTransactionEnd(XactEvent event, void *arg)
{
	(void) event, (void) arg;
	returned.scan = 0;
}

/* Is the row at ctid, for this index and query, the one a scan returned last? */
static bool
IsReturnedRow(FunctionCallInfo fcinfo)
{
	Vector	   *query;
	struct varatt_external toast = {0};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || returned.scan == 0)
		return false;
	if (PG_GETARG_OID(1) != returned.index ||
		!ItemPointerEquals((ItemPointer) PG_GETARG_POINTER(0), &returned.tid))
		return false;

	/*
	 * A query vector taken from a table (ORDER BY embedding <-> (SELECT
	 * embedding ...)) reaches the projection as a TOAST pointer, though the
	 * scan got it detoasted: read it back once per scan, not for every row.
	 * A TOAST value is never changed, and its id is not given to another
	 * value while a snapshot of this statement can see it.
	 */
	if (VARATT_IS_EXTERNAL_ONDISK(PG_GETARG_POINTER(2)))
	{
		VARATT_EXTERNAL_GET_POINTER(toast, PG_GETARG_POINTER(2));
		if (returned.toast_known && toast.va_valueid == returned.toast.va_valueid &&
			toast.va_toastrelid == returned.toast.va_toastrelid)
			return true;
	}
	query = PG_GETARG_VECTOR_P(2);
	if (query->dim != returned.dims ||
		memcmp(query->x, returned.query, sizeof(float) * query->dim) != 0)
		return false;
	if (VARATT_IS_EXTERNAL_ONDISK(PG_GETARG_POINTER(2)))
	{
		returned.toast = toast;
		returned.toast_known = true;
	}
	return true;
}

/*
 * lance_ivf_scan_distance(ctid, index, query): the distance the index's scan
 * computed for the row at ctid and this query, if it was the row it
 * returned last and the distance is exact; else NULL.
 */
Datum
lance_ivf_scan_distance(PG_FUNCTION_ARGS)
{
	if (!IsReturnedRow(fcinfo) || !returned.exact)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(returned.distance);
}

/*
 * lance_ivf_scan_order_distance(ctid, index, query): the same, exact or
 * estimated: the distance the scan ordered that row by.
 */
Datum
lance_ivf_scan_order_distance(PG_FUNCTION_ARGS)
{
	if (!IsReturnedRow(fcinfo))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(returned.distance);
}

/*
 * The OID of the function 'name'(tid, regclass, vector), or InvalidOid.  It
 * lives in the schema of the extension's vector type.
 */
static Oid
ScanDistanceFunction(const char *name, Oid vector_type)
{
	Oid			argtypes[3] = {TIDOID, REGCLASSOID, vector_type};
	HeapTuple	type;
	char	   *schema;

	type = SearchSysCache1(TYPEOID, ObjectIdGetDatum(vector_type));
	if (!HeapTupleIsValid(type))
		return InvalidOid;
	schema = get_namespace_name(((Form_pg_type) GETSTRUCT(type))->typnamespace);
	ReleaseSysCache(type);
	if (schema == NULL)
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(schema), makeString((char *) name)),
						  3, argtypes, true);
}

/*
 * Is indexid a lance_ivf index, and (in *exact) are its distances its
 * operator's when it re-ranks?
 */
static bool
IvfIndex(Oid indexid, bool *exact)
{
	Relation	index;
	bool		result;
	HeapTuple	am;
	char	   *amname;

	index = relation_open(indexid, NoLock);		/* the planner holds a lock */
	am = SearchSysCache1(AMOID, ObjectIdGetDatum(index->rd_rel->relam));
	result = false;
	if (HeapTupleIsValid(am))
	{
		amname = NameStr(((Form_pg_am) GETSTRUCT(am))->amname);
		result = strcmp(amname, IVF_AM_NAME) == 0;
		ReleaseSysCache(am);
	}
	if (result)
		*exact = IvfIndexMetric(index) != IVF_METRIC_COSINE;
	relation_close(index, NoLock);
	return result;
}

/*
 * Rewrites the target entries of a lance_ivf index scan that are its ORDER
 * BY expression; those whose resno is in 'order_only' are read for nothing
 * but the order (see the header comment).
 */
static void
RewriteIndexScan(IndexScan *scan, Bitmapset *order_only)
{
	OpExpr	   *orderby;
	Node	   *query;
	bool		checked = false;
	bool		exact = false;
	ListCell   *lc;

	if (list_length(scan->indexorderbyorig) != 1 ||
		!IsA(linitial(scan->indexorderbyorig), OpExpr))
		return;
	orderby = linitial_node(OpExpr, scan->indexorderbyorig);
	if (list_length(orderby->args) != 2 || orderby->opresulttype != FLOAT8OID)
		return;
	query = lsecond(orderby->args);

	foreach(lc, scan->scan.plan.targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		bool		for_order = bms_is_member(tle->resno, order_only);
		CoalesceExpr *coalesce;
		FuncExpr   *reused;
		Var		   *ctid;
		Oid			function;

		if (!equal(tle->expr, orderby))
			continue;
		if (!checked)
		{
			if (!IvfIndex(scan->indexid, &exact))
				return;
			checked = true;
		}
		if (!for_order && !exact)
			continue;
		function = ScanDistanceFunction(for_order ? SCAN_ORDER_DISTANCE_FUNCTION :
										SCAN_DISTANCE_FUNCTION, exprType(query));
		if (!OidIsValid(function))
			return;
		ctid = makeVar(scan->scan.scanrelid, SelfItemPointerAttributeNumber,
					   TIDOID, -1, InvalidOid, 0);
		reused = makeFuncExpr(function, FLOAT8OID,
							  list_make3(ctid,
										 makeConst(REGCLASSOID, -1, InvalidOid, sizeof(Oid),
												   ObjectIdGetDatum(scan->indexid),
												   false, true),
										 copyObject(query)),
							  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		coalesce = makeNode(CoalesceExpr);
		coalesce->coalescetype = FLOAT8OID;
		coalesce->coalescecollid = InvalidOid;
		coalesce->args = list_make2(reused, tle->expr);
		coalesce->location = -1;
		tle->expr = (Expr *) coalesce;
	}
}

static void
RewritePlan(Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			RewriteIndexScan((IndexScan *) plan, NULL);
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				RewritePlan(lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				RewritePlan(lfirst(lc));
			break;
		case T_SubqueryScan:
			RewritePlan(((SubqueryScan *) plan)->subplan);
			break;
		case T_CustomScan:
			foreach(lc, ((CustomScan *) plan)->custom_plans)
				RewritePlan(lfirst(lc));
			break;
		default:
			break;
	}
	RewritePlan(plan->lefttree);
	RewritePlan(plan->righttree);
}

/* Does 'node' contain a Var of varno OUTER_VAR and attno 'attno'? */
static bool
ReadsOuterColumn(Node *node, void *attno)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varno == OUTER_VAR &&
			((Var *) node)->varattno == *(AttrNumber *) attno;
	return expression_tree_walker(node, ReadsOuterColumn, attno);
}

/*
 * A plan that is an index scan, or a Limit right above one, that a SELECT
 * returns from: the scan's target entries that only the top's resjunk
 * entries read.  Rows leave the executor without resjunk columns, so nothing
 * reads those but the order.  NULL for any other plan.
 */
static Bitmapset *
OrderOnlyColumns(PlannedStmt *stmt, IndexScan **scan)
{
	Plan	   *top = stmt->planTree;
	Bitmapset  *result = NULL;
	ListCell   *lc;

	if (stmt->commandType != CMD_SELECT || stmt->rowMarks != NIL)
		return NULL;
	if (IsA(top, IndexScan))
	{
		*scan = (IndexScan *) top;
		foreach(lc, top->targetlist)
			if (lfirst_node(TargetEntry, lc)->resjunk)
				result = bms_add_member(result, lfirst_node(TargetEntry, lc)->resno);
		return result;
	}
	if (!IsA(top, Limit) || top->lefttree == NULL || !IsA(top->lefttree, IndexScan))
		return NULL;
	*scan = (IndexScan *) top->lefttree;
	foreach(lc, top->lefttree->targetlist)
	{
		AttrNumber	resno = lfirst_node(TargetEntry, lc)->resno;
		bool		visible = false;
		ListCell   *lc2;

		foreach(lc2, top->targetlist)
		{
			TargetEntry *tle = lfirst_node(TargetEntry, lc2);

			if (!tle->resjunk && ReadsOuterColumn((Node *) tle->expr, &resno))
				visible = true;
		}
		if (!visible)
			result = bms_add_member(result, resno);
	}
	return result;
}

static PlannedStmt *
IvfPlanner(Query *parse, const char *query_string, int cursor_options,
		   ParamListInfo bound_params)
{
	PlannedStmt *stmt;
	IndexScan  *top_scan = NULL;
	Bitmapset  *order_only;
	ListCell   *lc;

	if (prev_planner_hook)
		stmt = prev_planner_hook(parse, query_string, cursor_options, bound_params);
	else
		stmt = standard_planner(parse, query_string, cursor_options, bound_params);
	order_only = OrderOnlyColumns(stmt, &top_scan);
	if (order_only != NULL)
		RewriteIndexScan(top_scan, order_only);
	else
		RewritePlan(stmt->planTree);
	foreach(lc, stmt->subplans)
		RewritePlan(lfirst(lc));
	return stmt;
}

void
IvfReuseInit(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = IvfPlanner;
	RegisterXactCallback(ForgetAtTransactionEnd, NULL);
}
