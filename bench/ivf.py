"""Benchmark: the lance_ivf index against exact search, the SQL floor and pgvector's HNSW (run by bench/ivf.sh).

On Fashion-MNIST (the 60,000 training images as the base table, the first
--queries test images as queries; the exact top-10 computed here with numpy)
it builds a lance_ivf index and times, with one client and prepared
statements,

  - SELECT id FROM fashion ORDER BY embedding <-> $1 LIMIT 10 over a sweep of
    lance_ivf.probes, lance_ivf.rerank and lance_ivf.probe_radius (the index
    is built WITH (lists) only, since an index's probes and rerank options
    override the settings);
  - the floor: SELECT vector_dims($1), the SQL round trip of a statement that
    only parses the same vector parameter; and beside it what every index scan
    pays besides the index, the vector parsed and 10 rows fetched by primary
    key;
  - when pgvector is available (pg_available_extensions has 'vector'), the
    same query on an HNSW index (m = 16, ef_construction = 64) over the same
    rows in a database of its own (both extensions define a type 'vector'),
    with hnsw.ef_search swept;
  - a filtered query, WHERE id % 100 = 7 (1% of the rows), with lance_ivf
    (and, for comparison, HNSW), against the exact filtered top-10;
  - for each of --bits, the same rows in a copy of the table with a lance_ivf
    index WITH (bits = B): B-bit codes, with re-ranking and without it
    (rerank 0: rows ordered by their estimated distances, no vector read),
    over --bits-probes, --bits-rerank and --bits-probe-radius.

Before the timed queries every lance_ivf index is read into the page cache
with lancedb_prewarm(), since a build writes its side files around it, while
the HNSW index is in shared_buffers after its build.

Both builds run with the same maintenance_work_mem and
max_parallel_maintenance_workers (and min_parallel_table_scan_size = 0, so
that the small heap of TOASTed vectors does not rule out parallel workers),
each --build-runs times after a checkpoint, the least time counting: one
build of a few seconds moves by a tenth or more on a shared machine.
Every case has a session of its own; after a warm-up the cases take turns
in blocks of --block queries run back to back, in an order that rotates from
block to block, so that drift in the machine's load spreads over all of them.
Where the client and the server processes run during the timed queries is
left to the kernel (--placement free), which tends to wake the floor's
server process on the client's CPU (a cheap wake-up) and the index scans'
on the other; --placement apart pins the client to one CPU and every
session's server process to another, --placement shared all of them to one,
so that every case pays the same wake-up.  Figures are printed as ratios against the floor
and HNSW measured in the same run, and recall-vs-QPS curves are drawn into a
PNG.  This is not a test: nothing fails on slow figures or low recall.

The 'server us' column is the CPU time of a case's server process per query
(/proc/<pid>/schedstat: the cluster runs on this machine).  The rest of a
query's time is the client, the socket and the wake-ups of both processes;
the goal lines print both parts, of which an index can only shorten the
first.

recall@10 counts returned rows whose true distance is within the exact 10th
nearest distance (so ties at the 10th place do not count against an index);
'unsorted' counts queries whose rows did not come back in distance order
(beyond float32 rounding).
"""

import argparse
import os
import sys
import time

import numpy as np
import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import fashion_mnist as fm  # noqa: E402
from bench_util import cpu_model  # noqa: E402

TABLE = "fashion"
IVF_INDEX = "fashion_ivf"
HNSW_INDEX = "fashion_hnsw"
K = 10
UNSORTED_TOLERANCE = 1e-6  # relative; see recall_at_k
ROUNDING_SWAPS = []  # relative size of each swap within it, over all cases

KNN = f"SELECT id FROM {TABLE} ORDER BY embedding <-> $1 LIMIT {K}"
FLOOR = "SELECT vector_dims($1)"
# What any index scan pays besides the index: the vector parsed and 10 rows fetched (by primary key here)
FLOOR_ROWS = f"SELECT id FROM {TABLE} WHERE id < {K} AND vector_dims($1) > 0"

GOAL_RECALLS = (0.95, 0.99)


def int_list(text):
    if not text:
        return []
    return [int(x) for x in text.split(",") if x.strip()]


def float_list(text):
    return [float(x) for x in text.split(",") if x.strip()]


def connect(args, dbname):
    conn = psycopg2.connect(host=args.host, port=args.port, dbname=dbname)
    conn.autocommit = True
    return conn


def open_case(args, dbname, statement, settings):
    """A session of its own for one case: its settings and PREPARE q."""
    conn = connect(args, dbname)
    cur = conn.cursor()
    for name, value in settings.items():
        cur.execute(f"SET {name} = %s", (str(value),))
    cur.execute(f"PREPARE q(vector) AS {statement}")
    return conn, cur


def place(placement, cursors):
    """Pins the client and the sessions' server processes (see the module docstring); says where."""
    cpus = sorted(os.sched_getaffinity(0))
    if placement == "free" or (placement == "apart" and len(cpus) < 2):
        return "client and server processes wherever the kernel puts them" + \
            (" (one CPU: nothing to keep apart)" if placement == "apart" else "")
    client = cpus[0]
    server = cpus[1] if placement == "apart" else cpus[0]
    os.sched_setaffinity(0, {client})
    for cur in cursors:
        cur.execute("SELECT pg_backend_pid()")
        os.sched_setaffinity(cur.fetchone()[0], {server})
    if placement == "apart":
        return f"the client on CPU {client}, every server process on CPU {server}"
    return f"the client and every server process on CPU {client}"


def plan_shape(cur, literal):
    """The plan of EXECUTE q(literal) as 'Limit > Index Scan using fashion_ivf on fashion'."""
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)", (literal,))
    nodes = []
    for (line,) in cur.fetchall():
        text = line.strip()
        if text.startswith("->") or not nodes:
            nodes.append(text.lstrip("-> ").strip())
    return " > ".join(nodes)


def server_cpu_ns(pid):
    """CPU time the server process 'pid' has run, in ns (/proc/<pid>/schedstat), or None."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run_rounds(cursors, pids, literals, warmup, block):
    """Latencies (s, case x query), the ids returned, per case and query, and
    the server CPU time of each case (s, None where it cannot be read).

    After a warm-up of every session, the queries are taken in blocks of
    'block'; every case runs each block in turn, in an order that rotates from
    block to block.  Within a block a session runs queries back to back, as a
    single client would, and drift in the machine's load spreads evenly over
    the cases instead of favouring one.  The server process of a case runs
    only its queries, so its CPU time over its blocks is theirs.
    """
    for cur in cursors:
        for literal in literals[:warmup]:
            cur.execute("EXECUTE q(%s)", (literal,))
            cur.fetchall()
    latencies = np.empty((len(cursors), len(literals)))
    results = [[None] * len(literals) for _ in cursors]
    server_ns = [0] * len(cursors)
    for b, start in enumerate(range(0, len(literals), block)):
        for j in range(len(cursors)):
            c = (b + j) % len(cursors)
            cur = cursors[c]
            before = server_cpu_ns(pids[c])
            for i in range(start, min(start + block, len(literals))):
                t0 = time.perf_counter()
                cur.execute("EXECUTE q(%s)", (literals[i],))
                rows = cur.fetchall()
                latencies[c, i] = time.perf_counter() - t0
                results[c][i] = [r[0] for r in rows]
            after = server_cpu_ns(pids[c])
            if server_ns[c] is not None and before is not None and after is not None:
                server_ns[c] += after - before
            else:
                server_ns[c] = None
    return latencies, results, [None if ns is None else ns / 1e9 for ns in server_ns]


def recall_at_k(base, queries, truth_dist, results, candidates=None):
    """(mean recall@K, min recall@K, queries that got fewer than K rows,
    queries whose rows did not come back in distance order).

    A returned row counts when its true distance is within the exact K-th
    distance; 'candidates', when given, is the set of ids the query may
    return (a filtered query), and any other id does not count.
    """
    recalls = np.empty(len(results))
    short = unsorted = 0
    for i, ids in enumerate(results):
        if len(ids) < K:
            short += 1
        ids = np.array(ids, dtype=np.int64)
        if len(ids) > 1:
            dist = fm.l2_distances(base, queries[i], ids)
            # float64 here, float32 sums in the operator: rows whose distances
            # lie within its rounding (a few 1e-7 relative at 784 dims) may
            # come back in either order, and are not counted
            swap = np.min(np.diff(dist) / np.maximum(dist[1:], 1e-30))
            if swap < -UNSORTED_TOLERANCE:
                unsorted += 1
            elif swap < 0:
                ROUNDING_SWAPS.append(-swap)
        if candidates is not None:
            ids = ids[np.isin(ids, candidates)]
        ids = np.unique(ids)
        if len(ids) == 0:
            recalls[i] = 0
            continue
        dist = fm.l2_distances(base, queries[i], ids)
        kth = truth_dist[i, K - 1]
        recalls[i] = min(K, int(np.sum(dist <= kth * (1 + 1e-9) + 1e-9))) / K
    return recalls.mean(), recalls.min(), short, unsorted


def ivf_size(cur, index=IVF_INDEX):
    cur.execute(f"SELECT pg_relation_size('{index}')")
    pages = cur.fetchone()[0]
    cur.execute("SELECT coalesce(sum(f.size), 0), count(f.*) FROM lancedb_catalog.side_file f "
                "JOIN lancedb_catalog.storage s USING (storage_id) WHERE s.relid = %s::regclass",
                (index,))
    side, files = cur.fetchone()
    return int(pages), int(side), int(files)


def build_settings(args):
    return {"maintenance_work_mem": args.maintenance_work_mem,
            "max_parallel_maintenance_workers": args.maintenance_workers,
            "min_parallel_table_scan_size": "0"}


def timed_build(cur, args, index, statement, runs=1):
    """The least time of 'runs' builds of 'index' by 'statement' (CREATE INDEX),
    each after a checkpoint; the index is dropped between them.  Prints every
    time, and a lance_ivf build's phases (its DEBUG2 messages)."""
    for name, value in build_settings(args).items():
        cur.execute(f"SET {name} = %s", (str(value),))
    notices = cur.connection.notices
    times = []
    for run in range(runs):
        if run > 0:
            cur.execute(f"DROP INDEX {index}")
        cur.execute("CHECKPOINT")
        cur.execute("SET client_min_messages = debug2")
        del notices[:]
        t0 = time.perf_counter()
        cur.execute(statement)
        times.append(time.perf_counter() - t0)
        cur.execute("RESET client_min_messages")
        phases = [m.split("lance_ivf build: ", 1)[1].strip() for m in notices if "lance_ivf build: " in m]
        print(f"  {index} build {run + 1} of {runs}: {times[-1]:.2f} s" +
              (f" ({', '.join(phases)})" if phases else ""))
    return min(times)


def load(cur, conn, train_images, train_labels):
    t0 = time.perf_counter()
    fm.load_table(conn, TABLE, train_images, train_labels)
    cur.execute(f"VACUUM ANALYZE {TABLE}")
    return time.perf_counter() - t0


def mib(n):
    return n / (1 << 20)


def best_at(rows, system, threshold):
    """The fastest case of 'system' whose mean recall reaches 'threshold'."""
    ok = [r for r in rows if r["system"] == system and r["recall"] >= threshold]
    return max(ok, key=lambda r: r["qps"]) if ok else None


def draw(path, rows, floor_qps, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for r in rows:
        if r["system"] in ("lance_ivf", "lance_ivf_bits", "hnsw") and not r.get("filtered"):
            curves.setdefault(r["curve"], []).append(r)
    # the whole sweep, and the high-recall end where the goals are
    fig, axes = plt.subplots(1, 2, figsize=(14, 6))
    for ax, low in zip(axes, (None, 0.9)):
        for name, pts in curves.items():
            pts = sorted(pts, key=lambda r: r["knob"])
            if low is not None:
                pts = [p for p in pts if p["recall"] >= low]
            style = "s-" if name.startswith("hnsw") else "o-"
            ax.plot([p["recall"] for p in pts], [p["qps"] for p in pts], style, label=name, markersize=4)
            for p in pts:
                ax.annotate(str(p["knob"]), (p["recall"], p["qps"]), textcoords="offset points",
                            xytext=(3, 3), fontsize=7)
        ax.axhline(floor_qps, color="grey", linestyle="--", label="floor: vector_dims($1)")
        ax.axhline(floor_qps / 2, color="grey", linestyle=":", label="half the floor")
        for t in GOAL_RECALLS:
            ax.axvline(t, color="lightgrey", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("recall@10 (mean)" + ("" if low is None else f", from {low}"))
        ax.set_ylabel("queries per second (one client)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="server host or Unix socket directory")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--dbname", default="postgres", help="database for lancedb")
    ap.add_argument("--pgvector-dbname", default="bench_pgvector",
                    help="database created (afresh) for pgvector")
    ap.add_argument("--no-pgvector", action="store_true", help="skip pgvector even when available")
    ap.add_argument("--queries", type=int, default=1000, help="test images to search for, per case")
    ap.add_argument("--warmup", type=int, default=50, help="untimed queries before each case")
    ap.add_argument("--block", type=int, default=50, help="queries a case runs back to back per turn")
    ap.add_argument("--lists", type=int, default=0, help="lance_ivf lists (0: the index's default)")
    ap.add_argument("--probes", type=int_list, default=int_list("1,2,3,4,6,8,12,16,24,32"))
    ap.add_argument("--rerank", type=int_list, default=int_list("10,40"))
    ap.add_argument("--probe-radius", type=float_list, default=float_list("1.1,1.25,1.5"),
                    help="lance_ivf.probe_radius values swept")
    ap.add_argument("--ef-search", type=int_list, default=int_list("10,20,40,64,100,160,250,400"))
    ap.add_argument("--bits", type=int_list, default=int_list("1,4,8"),
                    help="bits of the B-bit indexes, each on a copy of the table (empty: none)")
    ap.add_argument("--bits-probes", type=int_list, default=int_list("2,4,8,16"),
                    help="lance_ivf.probes swept on the B-bit indexes")
    ap.add_argument("--bits-rerank", type=int_list, default=int_list("0,40"),
                    help="lance_ivf.rerank swept on the B-bit indexes (0: no re-ranking)")
    ap.add_argument("--bits-probe-radius", type=float_list, default=float_list("1.1"),
                    help="lance_ivf.probe_radius swept on the B-bit indexes")
    ap.add_argument("--filter-probes", type=int_list, default=int_list("1,10,32"),
                    help="lance_ivf.probes of the filtered query (rerank at its default)")
    ap.add_argument("--maintenance-work-mem", default="1GB", help="for both index builds")
    ap.add_argument("--build-runs", type=int, default=2,
                    help="builds of the lance_ivf and HNSW indexes timed, the least counting")
    ap.add_argument("--maintenance-workers", type=int, default=1,
                    help="max_parallel_maintenance_workers for both index builds")
    ap.add_argument("--placement", choices=("free", "apart", "shared"), default="free",
                    help="CPUs of the client and the server processes during the timed queries")
    ap.add_argument("--png", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "build", "ivf.png"),
                    help="where to draw the recall-vs-QPS curves")
    args = ap.parse_args()

    conn = connect(args, args.dbname)
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS lancedb")
    cur.execute("SELECT version()")
    server = cur.fetchone()[0].split(" on ")[0]
    cur.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    row = cur.fetchone()
    pgvector = None if (row is None or args.no_pgvector) else row[0]

    train_images, train_labels = fm.load("train")
    test_images, _ = fm.load("test")
    queries = test_images[:args.queries]
    literals = [fm.vector_literal(q) for q in queries]
    t0 = time.perf_counter()
    _, truth_dist = fm.exact_topk(train_images, queries, K)
    filter_ids = np.arange(len(train_images))[np.arange(len(train_images)) % 100 == 7]
    _, ftruth_dist = fm.exact_topk(train_images[filter_ids], queries, K)
    truth_time = time.perf_counter() - t0

    print(f"lance_ivf benchmark: {len(train_images)} x {fm.DIM} vectors (Fashion-MNIST), k = {K}, "
          f"{len(literals)} queries per case (+{args.warmup} warm-up), one client, prepared statements")
    print(f"{server}; {cpu_model()}")
    print(f"exact top-{K} (and filtered top-{K}) in numpy: {truth_time:.1f} s")
    bs = build_settings(args)
    print(f"both builds: maintenance_work_mem = {bs['maintenance_work_mem']}, "
          f"max_parallel_maintenance_workers = {bs['max_parallel_maintenance_workers']}, "
          f"min_parallel_table_scan_size = 0")

    # -- lance_ivf ------------------------------------------------------------
    load_time = load(cur, conn, train_images, train_labels)
    with_opts = f" WITH (lists = {args.lists})" if args.lists > 0 else ""
    ivf_build = timed_build(cur, args, IVF_INDEX, f"CREATE INDEX {IVF_INDEX} ON {TABLE} USING lance_ivf "
                                                  f"(embedding vector_l2_ops){with_opts}", args.build_runs)
    ivf_pages, ivf_side, ivf_files = ivf_size(cur)
    ivf_total = ivf_pages + ivf_side
    print(f"table loaded and vacuumed in {load_time:.1f} s")
    print(f"lance_ivf{with_opts or ' (default lists)'}: built in {ivf_build:.2f} s (best of {args.build_runs}); "
          f"size {mib(ivf_total):.1f} MiB = {mib(ivf_pages):.2f} MiB of pages + "
          f"{mib(ivf_side):.1f} MiB in {ivf_files} side file(s)")

    # -- lance_ivf with B-bit codes and no re-ranking, each on a copy of the table
    bits_tables = []
    for b in args.bits:
        table, index = f"{TABLE}_bits{b}", f"{IVF_INDEX}_bits{b}"
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} AS SELECT * FROM {TABLE}")
        cur.execute(f"VACUUM ANALYZE {table}")
        opts = f"bits = {b}" + (f", lists = {args.lists}" if args.lists > 0 else "")
        build = timed_build(cur, args, index, f"CREATE INDEX {index} ON {table} USING lance_ivf "
                                              f"(embedding vector_l2_ops) WITH ({opts})")
        pages, side, files = ivf_size(cur, index)
        print(f"lance_ivf WITH ({opts}) on a copy of the table: built in {build:.2f} s "
              f"({build / ivf_build:.2f} x the 1-bit build); size {mib(pages + side):.1f} MiB "
              f"({(pages + side) / ivf_total:.2f} x)")
        bits_tables.append((b, table, index))
    conn.close()

    # -- pgvector HNSW ----------------------------------------------------------
    hnsw_build = hnsw_size = None
    if pgvector:
        conn = connect(args, args.dbname)
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {args.pgvector_dbname}")
        conn.cursor().execute(f"CREATE DATABASE {args.pgvector_dbname}")
        conn.close()
        pconn = connect(args, args.pgvector_dbname)
        pcur = pconn.cursor()
        pcur.execute("CREATE EXTENSION vector")
        pcur.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector = pcur.fetchone()[0]
        load(pcur, pconn, train_images, train_labels)
        hnsw_build = timed_build(pcur, args, HNSW_INDEX, f"CREATE INDEX {HNSW_INDEX} ON {TABLE} USING hnsw "
                                                         "(embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)",
                                 args.build_runs)
        pcur.execute(f"SELECT pg_relation_size('{HNSW_INDEX}')")
        hnsw_size = pcur.fetchone()[0]
        print(f"pgvector {pgvector} HNSW (m = 16, ef_construction = 64) in database {args.pgvector_dbname}: "
              f"built in {hnsw_build:.2f} s (best of {args.build_runs}); size {mib(hnsw_size):.1f} MiB")
        pconn.close()
    else:
        print("pgvector: not available in this cluster (no 'vector' in pg_available_extensions); "
              "HNSW figures are skipped")

    # -- the cases ----------------------------------------------------------------
    filtered_knn = KNN.replace(" ORDER BY", " WHERE id % 100 = 7 ORDER BY")
    cases = [dict(system="floor", label="floor: vector_dims($1)", db=args.dbname, sql=FLOOR, settings={}),
             dict(system="floor_rows", label="floor + 10 rows by primary key", db=args.dbname,
                  sql=FLOOR_ROWS, settings={})]
    for radius in args.probe_radius:
        for r in args.rerank:
            for p in args.probes:
                cases.append(dict(system="lance_ivf", label=f"lance_ivf probes={p} rerank={r} radius={radius:g}",
                                  db=args.dbname, sql=KNN,
                                  settings={"lance_ivf.probes": p, "lance_ivf.rerank": r,
                                            "lance_ivf.probe_radius": radius},
                                  curve=f"lance_ivf rerank={r} radius={radius:g}", knob=p))
    for b, table, index in bits_tables:
        for r in args.bits_rerank:
            for radius in args.bits_probe_radius:
                for p in args.bits_probes:
                    cases.append(dict(system="lance_ivf" if r > 0 else "lance_ivf_bits",
                                      label=f"lance_ivf bits={b} probes={p} rerank={r} radius={radius:g}",
                                      db=args.dbname, sql=KNN.replace(f"FROM {TABLE} ", f"FROM {table} "),
                                      settings={"lance_ivf.probes": p, "lance_ivf.rerank": r,
                                                "lance_ivf.probe_radius": radius},
                                      index=index, curve=f"lance_ivf bits={b} rerank={r} radius={radius:g}",
                                      knob=p))
    if pgvector:
        for ef in args.ef_search:
            cases.append(dict(system="hnsw", label=f"hnsw ef_search={ef}", db=args.pgvector_dbname,
                              sql=KNN, settings={"hnsw.ef_search": ef}, curve="hnsw (pgvector)", knob=ef))
    for p in args.filter_probes:
        cases.append(dict(system="lance_ivf", label=f"filtered lance_ivf probes={p}", db=args.dbname,
                          sql=filtered_knn, settings={"lance_ivf.probes": p}, filtered=True))
    if pgvector:
        cases.append(dict(system="hnsw", label="filtered hnsw ef_search=40", db=args.pgvector_dbname,
                          sql=filtered_knn, settings={"hnsw.ef_search": 40}, filtered=True))
        # pgvector's planner picks an exact scan for this filter; the index, forced, with its iterative scan
        cases.append(dict(system="hnsw", label="filtered hnsw iterative, forced", db=args.pgvector_dbname,
                          sql=filtered_knn, settings={"hnsw.ef_search": 40, "hnsw.iterative_scan": "strict_order",
                                                      "enable_seqscan": "off"},
                          filtered=True))

    sessions = [open_case(args, c["db"], c["sql"], c["settings"]) for c in cases]
    odd_plans = []
    for c, (_, scur) in zip(cases, sessions):
        c["plan"] = plan_shape(scur, literals[0])
        want = c.get("index") or {"lance_ivf": IVF_INDEX, "hnsw": HNSW_INDEX}.get(c["system"])
        if want and f"Index Scan using {want}" not in c["plan"]:
            odd_plans.append(f"  {c['label']}: {c['plan']}")
    shown = set()
    for c in cases:
        kind = (c["system"], bool(c.get("filtered")))
        if kind not in shown and c["system"] not in ("floor", "floor_rows"):
            shown.add(kind)
            print(f"plan of {c['label']}: {c['plan']}")
    if odd_plans:
        print("cases whose plan does not scan the index:")
        print("\n".join(odd_plans))
    # Every index starts in memory, as the HNSW index does in shared_buffers after its build:
    # a lance_ivf build writes its files around the page cache
    wconn = connect(args, args.dbname)
    wcur = wconn.cursor()
    for index in [IVF_INDEX] + [index for _, _, index in bits_tables]:
        wcur.execute("SELECT lancedb_prewarm(%s)", (index,))
        print(f"{index}: {mib(wcur.fetchone()[0]):.1f} MiB read into the page cache (lancedb_prewarm)")
    wconn.close()
    placement = place(args.placement, [scur for _, scur in sessions])
    print(f"placement: {placement}")
    t0 = time.perf_counter()
    pids = []
    for _, scur in sessions:
        scur.execute("SELECT pg_backend_pid()")
        pids.append(scur.fetchone()[0])
    latencies, results, server_times = run_rounds([scur for _, scur in sessions], pids, literals,
                                                  args.warmup, args.block)
    print(f"timed {len(cases)} x {len(literals)} queries, in turns of {args.block}, in {time.perf_counter() - t0:.1f} s")
    for sconn, _ in sessions:
        sconn.close()

    floor_qps = None
    for c, lat, res, server in zip(cases, latencies, results, server_times):
        c["qps"] = len(lat) / lat.sum()
        c["lat"] = lat
        c["server_us"] = float("nan") if server is None else server / len(lat) * 1e6
        if c["system"] in ("floor", "floor_rows"):
            if c["system"] == "floor":
                floor_qps = c["qps"]
            c["recall"] = c["min_recall"] = float("nan")
            c["short"] = c["unsorted"] = 0
        elif c.get("filtered"):
            c["recall"], c["min_recall"], c["short"], c["unsorted"] = recall_at_k(
                train_images, queries, ftruth_dist, res, candidates=filter_ids)
        else:
            c["recall"], c["min_recall"], c["short"], c["unsorted"] = recall_at_k(
                train_images, queries, truth_dist, res)

    print()
    header = (f"{'case':<46} {'QPS':>8} {'p50 ms':>7} {'p99 ms':>7} {'recall@10':>9} {'min rec':>7} "
              f"{'<10 rows':>8} {'unsorted':>8} {'QPS/floor':>9} {'server us':>9}")
    print(header)
    print("-" * len(header))
    for c in cases:
        p50, p99 = np.percentile(c["lat"], [50, 99]) * 1000
        rec = "" if c["system"] in ("floor", "floor_rows") else (f"{c['recall']:9.4f} {c['min_recall']:7.2f} {c['short']:8d} "
                                                 f"{c['unsorted']:8d}")
        print(f"{c['label']:<46} {c['qps']:8.1f} {p50:7.3f} {p99:7.3f} {rec:>35} {c['qps'] / floor_qps:9.3f} "
              f"{c['server_us']:9.1f}")
    print()

    # -- goals ----------------------------------------------------------------------
    def verdict(ok):
        return "met" if ok else "NOT met"

    sweep = [c for c in cases if not c.get("filtered")]
    floor_case = next(c for c in cases if c["system"] == "floor")
    rows_floor = next(c for c in cases if c["system"] == "floor_rows")
    print("goal checks (ratios of figures measured in this run):")
    for t in GOAL_RECALLS:
        ivf = best_at(sweep, "lance_ivf", t)
        if ivf is None:
            print(f"  recall >= {t}: lance_ivf does not reach it (best {max(c['recall'] for c in sweep if c['system'] == 'lance_ivf'):.4f})")
            continue
        line = (f"  recall >= {t}: lance_ivf {ivf['qps']:.0f} QPS ({ivf['label'][10:]}, recall {ivf['recall']:.4f}, "
                f"{ivf['unsorted']} queries unsorted)")
        print(line)
        ratio = ivf["qps"] / floor_qps
        print(f"    lance_ivf / floor QPS = {ratio:.3f} (goal >= 0.5: {verdict(ratio >= 0.5)})")
        print("    a query's time, server CPU + the rest of the round trip (client, socket, wake-ups): "
              + "; ".join(f"{name} {1e6 / c['qps']:.0f} us = {c['server_us']:.0f} + {1e6 / c['qps'] - c['server_us']:.0f}"
                          for name, c in (("lance_ivf", ivf), ("floor", floor_case),
                                          (f"floor + {K} rows", rows_floor))))
        if pgvector:
            hnsw = best_at(sweep, "hnsw", t)
            if hnsw is None:
                print("    HNSW does not reach this recall with the ef_search swept")
            else:
                ratio = ivf["qps"] / hnsw["qps"]
                print(f"    lance_ivf / HNSW QPS = {ratio:.3f} (HNSW {hnsw['qps']:.0f} QPS at "
                      f"{hnsw['label'][5:]}, recall {hnsw['recall']:.4f}; goal >= 2: {verdict(ratio >= 2)})")
    for t in GOAL_RECALLS:
        best = best_at(sweep, "lance_ivf_bits", t)
        if best is not None:
            line = (f"  recall >= {t} without re-ranking: {best['qps']:.0f} QPS ({best['label'][10:]}, "
                    f"recall {best['recall']:.4f}, {best['unsorted']} queries not in exact order)")
            hnsw = best_at(sweep, "hnsw", t) if pgvector else None
            if hnsw is not None:
                line += f"; / HNSW = {best['qps'] / hnsw['qps']:.3f}"
            print(line + f"; / floor = {best['qps'] / floor_qps:.3f}")
    if ROUNDING_SWAPS:
        print(f"  ({len(ROUNDING_SWAPS)} queries over all cases returned two rows swapped within float32 "
              f"rounding, by at most {max(ROUNDING_SWAPS):.1e} of their distance: not counted as unsorted)")
    print(f"  (no index reaches the floor: parsing the vector and fetching {K} rows by primary key, "
          f"without any index search, is {rows_floor['qps'] / floor_qps:.3f} of it)")
    if pgvector:
        ratio = ivf_build / hnsw_build
        print(f"  build time lance_ivf / HNSW = {ivf_build:.2f} s / {hnsw_build:.2f} s = {ratio:.3f} "
              f"(goal <= 0.1: {verdict(ratio <= 0.1)})")
        ratio = ivf_total / hnsw_size
        print(f"  index size lance_ivf / HNSW = {mib(ivf_total):.1f} MiB / {mib(hnsw_size):.1f} MiB = {ratio:.3f} "
              f"(goal <= 1: {verdict(ratio <= 1)})")
    for c in cases:
        if c.get("filtered") and c["system"] == "lance_ivf":
            ok = c["recall"] >= 0.95 and c["short"] == 0
            print(f"  filtered (id % 100 = 7, 1% of rows), {c['label'][19:]}: recall@10 {c['recall']:.4f}, "
                  f"{len(literals) - c['short']}/{len(literals)} queries got all {K} rows "
                  f"(goal >= 0.95 and {K} rows: {verdict(ok)})")

    title = (f"Fashion-MNIST 60k x 784, {len(literals)} queries, one client, prepared statements\n"
             f"lance_ivf (labels: probes)" + (f" vs pgvector {pgvector} HNSW m=16 ef_construction=64 "
                                               "(labels: ef_search)" if pgvector else ""))
    draw(args.png, [c for c in cases if c["system"] not in ("floor", "floor_rows")], floor_qps, title)
    print(f"\nrecall-vs-QPS curves: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
