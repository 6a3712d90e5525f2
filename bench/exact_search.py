"""Benchmark: exact k-nearest-neighbour search through SQL (run by bench/exact_search.sh).

Loads the 60,000 Fashion-MNIST training images into a heap table of
vector(784) and times, with one client and prepared statements, over the
first --queries test images:

  - the kNN query  SELECT id FROM fashion ORDER BY embedding <-> $1 LIMIT 10
    with the default settings (the baseline), with
    lancedb.distance_kernels = 'scalar', with max_parallel_workers_per_gather
    = 0, with a parallel plan forced by zero parallel costs, and on a copy of
    the table whose embedding column has STORAGE plain (no TOAST);
  - the floor: SELECT vector_dims($1), the SQL round trip of a statement that
    only parses the same vector parameter.

Every case is timed on the client, query by query, after a warm-up; figures
are printed as ratios against the baseline measured in the same run.  This is
not a test: nothing fails on slow figures, only on kNN answers that disagree.
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
PLAIN_TABLE = "fashion_plain"  # the same rows with the embedding column's STORAGE plain
K = 10

KNN = f"SELECT id, embedding <-> $1 AS distance FROM {TABLE} ORDER BY embedding <-> $1 LIMIT {K}"
KNN_PLAIN = KNN.replace(f"FROM {TABLE} ", f"FROM {PLAIN_TABLE} ")
FLOOR = "SELECT vector_dims($1)"

# (key, name, statement, settings); the first case is the baseline.
CASES = [
    ("base", "kNN, defaults (baseline)", KNN, {}),
    ("scalar", "kNN, scalar kernels", KNN, {"lancedb.distance_kernels": "scalar"}),
    ("serial", "kNN, no parallel workers", KNN, {"max_parallel_workers_per_gather": "0"}),
    ("forced", "kNN, parallel plan forced", KNN, {"parallel_setup_cost": "0", "parallel_tuple_cost": "0",
                                                  "min_parallel_table_scan_size": "0"}),
    ("plain", "kNN, STORAGE plain table", KNN_PLAIN, {}),
    ("floor", "floor: vector_dims($1)", FLOOR, {}),
]


def plan_shape(cur, literal):
    """The plan of EXECUTE q(literal) as 'Limit > Sort > Seq Scan on fashion'."""
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE q(%s)", (literal,))
    nodes, workers = [], ""
    for (line,) in cur.fetchall():
        text = line.strip()
        if text.startswith("Workers Planned:"):
            workers = f" ({text.split(':')[1].strip()} workers)"
        elif text.startswith("->") or not nodes:
            nodes.append(text.lstrip("-> ").strip())
    if workers:
        nodes = [n + workers if n.startswith("Gather") else n for n in nodes]
    return " > ".join(nodes)


def open_case(args, statement, settings):
    """A session of its own for one case: its settings and PREPARE q."""
    conn = psycopg2.connect(host=args.host, port=args.port, dbname=args.dbname)
    conn.autocommit = True
    cur = conn.cursor()
    for name, value in settings.items():
        cur.execute(f"SET {name} = %s", (value,))
    cur.execute(f"PREPARE q(vector) AS {statement}")
    return conn, cur


def run_interleaved(cursors, literals, warmup):
    """Latencies (s, case x query) and rows of EXECUTE q(literal) in every session.

    The cases take turns query by query, in a rotating order, so that drift in
    the machine's load spreads evenly over them instead of favouring one.
    """
    for cur in cursors:
        for literal in literals[:warmup]:
            cur.execute("EXECUTE q(%s)", (literal,))
            cur.fetchall()
    latencies = np.empty((len(cursors), len(literals)))
    results = [[] for _ in cursors]
    for i, literal in enumerate(literals):
        for j in range(len(cursors)):
            c = (i + j) % len(cursors)
            t0 = time.perf_counter()
            cursors[c].execute("EXECUTE q(%s)", (literal,))
            rows = cursors[c].fetchall()
            latencies[c, i] = time.perf_counter() - t0
            results[c].append(rows)
    return latencies, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="server host or Unix socket directory")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--queries", type=int, default=200, help="test images to search for, per case")
    ap.add_argument("--warmup", type=int, default=5, help="untimed queries before each case")
    args = ap.parse_args()

    conn = psycopg2.connect(host=args.host, port=args.port, dbname=args.dbname)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION IF NOT EXISTS lancedb")
    cur.execute("SELECT version()")
    server = cur.fetchone()[0].split(" on ")[0]

    train_images, train_labels = fm.load("train")
    test_images, _ = fm.load("test")
    t0 = time.perf_counter()
    fm.load_table(conn, TABLE, train_images, train_labels)
    cur.execute(f"VACUUM ANALYZE {TABLE}")
    load_time = time.perf_counter() - t0
    # A 784-dim vector (3,144 bytes) is over the TOAST threshold, so with the type's
    # STORAGE external it lives out of line; the plain copy keeps it in the heap row.
    cur.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
    cur.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE {TABLE} INCLUDING ALL)")
    cur.execute(f"ALTER TABLE {PLAIN_TABLE} ALTER embedding SET STORAGE plain")
    cur.execute(f"INSERT INTO {PLAIN_TABLE} SELECT * FROM {TABLE}")
    cur.execute(f"VACUUM ANALYZE {PLAIN_TABLE}")
    sizes = []
    for table in (TABLE, PLAIN_TABLE):
        cur.execute("SELECT pg_size_pretty(pg_relation_size(%s)), pg_size_pretty(pg_total_relation_size(%s))",
                    (table, table))
        sizes.append("%s: heap %s, %s with TOAST and index" % ((table,) + cur.fetchone()))
    conn.close()
    literals = [fm.vector_literal(q) for q in test_images[:args.queries]]

    print(f"exact kNN through SQL: {len(train_images)} x {fm.DIM} vectors (Fashion-MNIST), "
          f"k = {K}, {len(literals)} queries per case, one client, prepared statements")
    print(f"{server}; {cpu_model()}")
    print(f"{sizes[0]} (loaded and vacuumed in {load_time:.1f} s); {sizes[1]}")

    sessions = [open_case(args, statement, settings) for _, _, statement, settings in CASES]
    plans = [plan_shape(cur, literals[0]) for _, cur in sessions]
    for (_, name, _, _), plan in zip(CASES, plans):
        print(f"  {name:<28} plan: {plan}")
    # The warm-up of the first session also brings the heap and its TOAST into
    # shared buffers before anything is timed.
    t0 = time.perf_counter()
    latencies, results = run_interleaved([cur for _, cur in sessions], literals, args.warmup)
    print(f"  timed {len(CASES)} x {len(literals)} queries, interleaved, in {time.perf_counter() - t0:.1f} s")
    for sess, _ in sessions:
        sess.close()
    rows = [(name, lat) for (_, name, _, _), lat in zip(CASES, latencies)]
    knn_results = {name: res for (_, name, statement, _), res in zip(CASES, results) if statement != FLOOR}

    # Every kNN case must return the same distances, rank by rank, as the baseline.
    base_name = CASES[0][1]
    base_dist = np.array([[r[1] for r in res] for res in knn_results[base_name]])
    disagree = []
    for name, results in knn_results.items():
        dist = np.array([[r[1] for r in res] for res in results])
        if dist.shape != base_dist.shape or not np.allclose(dist, base_dist, rtol=1e-4):
            disagree.append(name)

    def qps(lat):
        return len(lat) / lat.sum()

    base_qps = qps(rows[0][1])
    print()
    header = f"{'case':<28} {'QPS':>8} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'QPS/base':>9}"
    print(header)
    print("-" * len(header))
    for name, lat in rows:
        p50, p95, p99 = np.percentile(lat, [50, 95, 99]) * 1000
        print(f"{name:<28} {qps(lat):8.1f} {lat.mean() * 1000:8.2f} {p50:8.2f} {p95:8.2f} {p99:8.2f} "
              f"{qps(lat) / base_qps:9.3f}")
    print()

    by_key = {key: qps(lat) for (key, _, _, _), lat in zip(CASES, latencies)}
    ratios = [
        ("kNN QPS / floor QPS", f"{base_qps / by_key['floor']:.4f} "
                                f"(the floor is {by_key['floor'] / base_qps:.0f}x faster)"),
        ("SIMD gain (auto / scalar)", f"{base_qps / by_key['scalar']:.2f}x"),
        ("parallel workers (2 / 0)", f"{base_qps / by_key['serial']:.2f}x with the default plan, "
                                     f"{by_key['forced'] / by_key['serial']:.2f}x with a parallel plan forced"),
        ("STORAGE plain / external", f"{by_key['plain'] / base_qps:.2f}x"),
    ]
    for label, value in ratios:
        print(f"{label + ':':<28} {value}")
    if disagree:
        print(f"\nFAILED: kNN distances differ from the baseline in: {', '.join(disagree)}")
        return 1
    print("all kNN cases returned the same distances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
