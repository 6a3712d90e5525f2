"""The lancedb demo client (run by scripts/demo.sh).

Loads the 60,000 Fashion-MNIST training images into a table of vector(784),
answers k-nearest-neighbour queries for test images with
ORDER BY embedding <-> $1 LIMIT 10, checks the answers against exact search in
numpy, draws a few queries and their neighbours in the terminal and prints a
summary.  Exits non-zero if recall or distances are off.
"""

import argparse
import os
import re
import shutil
import sys
import time

import numpy as np
import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist as fm  # noqa: E402

TABLE = "fashion"
K = 10
DIST_RTOL = 1e-3


def step(title):
    """Print a step heading; returns a function that prints its wall time."""
    print(f"\n== {title}", flush=True)
    start = time.perf_counter()

    def done(note=""):
        elapsed = time.perf_counter() - start
        print(f"   {note}{'; ' if note else ''}{elapsed:.2f} s", flush=True)
        return elapsed
    return done


def search_method(conn, probes):
    """Build the lance_ivf index on TABLE and describe the search in a few words.

    The index keeps its lists in Lance-format side files (RaBitQ codes for the
    estimate, the vectors for exact re-ranking): a query probes the `probes`
    lists nearest to it and re-ranks the best candidates exactly, so the
    distances it returns are exact and only rows in lists it did not probe can
    be missed.  Returns the description and the build time in seconds.
    """
    cur = conn.cursor()
    start = time.perf_counter()
    cur.execute(f"CREATE INDEX {TABLE}_ivf ON {TABLE} USING lance_ivf (embedding vector_l2_ops)")
    conn.commit()
    build = time.perf_counter() - start
    cur.execute("SELECT pg_relation_size(%s) + coalesce((SELECT sum(f.size) "
                "FROM lancedb_catalog.side_file f JOIN lancedb_catalog.storage s USING (storage_id) "
                "WHERE s.relid = %s::regclass), 0)", (f"{TABLE}_ivf", f"{TABLE}_ivf"))
    size = cur.fetchone()[0]
    # the build writes its side files around the page cache: read them in, as pg_prewarm would
    cur.execute("SELECT lancedb_prewarm(%s)", (f"{TABLE}_ivf",))
    cur.execute("SET lance_ivf.probes = %s", (probes,))
    conn.commit()
    return (f"lance_ivf index (IVF + RaBitQ, exact re-ranking), built in {build:.2f} s, "
            f"{size / 2**20:.1f} MiB with its side files (read into the page cache with "
            f"lancedb_prewarm); lance_ivf.probes = {probes}", build)


# -- drawing ------------------------------------------------------------------

ASCII_RAMP = " .:-=+*#%@"
# ANSI 256-colour grays, darkest to lightest: black, the 24-step gray ramp, white.
GRAYS = [16] + list(range(232, 256)) + [231]
CELL_GAP = 2


def use_color():
    """Colour blocks on a UTF-8 terminal unless NO_COLOR is set (no-color.org)."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return False
    try:
        "\u2580".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def render(image, color):
    """A 28x28 image (values 0..255) as 14 text lines, 28 columns each."""
    img = np.asarray(image, dtype=np.float64).reshape(fm.SIDE, fm.SIDE)
    lines = []
    if color:
        shade = np.rint(img * (len(GRAYS) - 1) / 255).astype(int)
        for top, bottom in zip(shade[0::2], shade[1::2]):
            # '▀' in the top pixel's colour on the bottom pixel's; escapes only on change
            line, last = [], None
            for t, b in zip(top, bottom):
                if (t, b) != last:
                    line.append(f"\x1b[38;5;{GRAYS[t]};48;5;{GRAYS[b]}m")
                    last = (t, b)
                line.append("\u2580")
            lines.append("".join(line) + "\x1b[0m")
    else:
        pairs = (img[0::2] + img[1::2]) / 2
        level = np.minimum((pairs * len(ASCII_RAMP) / 256).astype(int), len(ASCII_RAMP) - 1)
        lines = ["".join(ASCII_RAMP[v] for v in row) for row in level]
    return lines


def draw_row(cells, color):
    """Print (image, caption lines) cells side by side, wrapping at the terminal width."""
    width = shutil.get_terminal_size(fallback=(120, 24)).columns
    per_line = max(1, (width + CELL_GAP) // (fm.SIDE + CELL_GAP))
    gap = " " * CELL_GAP
    for start in range(0, len(cells), per_line):
        group = cells[start:start + per_line]
        pictures = [render(img, color) for img, _ in group]
        for i in range(len(pictures[0])):
            print(gap.join(p[i] for p in pictures))
        for i in range(len(group[0][1])):
            print(gap.join(caption[i][:fm.SIDE].ljust(fm.SIDE) for _, caption in group).rstrip())
        print()


def show(query_no, query, label, rows, train_images, color):
    print(f"-- query {query_no} ({fm.CLASS_NAMES[label]}) and its {len(rows)} nearest neighbours; "
          f"(x) marks another class")
    cells = [(query, [f"query {query_no}", fm.CLASS_NAMES[label]])]
    for rank, (row_id, row_label, dist) in enumerate(rows, 1):
        mark = "" if row_label == label else " (x)"
        cells.append((train_images[row_id],
                      [f"{rank}. {fm.CLASS_NAMES[row_label]}{mark}", f"d={dist:.1f}  id={row_id}"]))
    draw_row(cells, color)


# -- the demo -----------------------------------------------------------------

def percentile_ms(latencies, p):
    return float(np.percentile(latencies, p)) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True, help="server host or Unix socket directory")
    ap.add_argument("--port", type=int, default=5432)
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--queries", type=int, default=100, help="test images to search for (max 10000)")
    ap.add_argument("--show", type=int, default=3, help="queries to draw with their neighbours")
    ap.add_argument("--min-recall", type=float, default=0.95, help="fail below this recall@10")
    ap.add_argument("--probes", type=int, default=10, help="lists each query probes (lance_ivf.probes)")
    args = ap.parse_args()
    if not 1 <= args.queries <= 10000:
        ap.error("--queries must be between 1 and 10000")

    conn = psycopg2.connect(host=args.host, port=args.port, dbname=args.dbname)
    cur = conn.cursor()

    done = step("CREATE EXTENSION lancedb")
    cur.execute("CREATE EXTENSION IF NOT EXISTS lancedb")
    conn.commit()
    done()

    done = step("reading Fashion-MNIST")
    train_images, train_labels = fm.load("train")
    test_images, test_labels = fm.load("test")
    queries = test_images[:args.queries]
    query_labels = test_labels[:args.queries]
    done(f"{len(train_images)} training and {len(test_images)} test images of {fm.DIM} pixels")

    done = step(f"loading {len(train_images)} training images into {TABLE} (binary COPY)")
    fm.load_table(conn, TABLE, train_images, train_labels)
    load_time = done()

    done = step(f"ANALYZE {TABLE}")
    cur.execute(f"ANALYZE {TABLE}")
    conn.commit()
    done()

    done = step("CREATE INDEX ... USING lance_ivf and preparing the search")
    method, build_time = search_method(conn, args.probes)
    cur.execute(f"PREPARE knn(vector) AS SELECT id, label, embedding <-> $1 AS distance "
                f"FROM {TABLE} ORDER BY embedding <-> $1 LIMIT {K}")
    literals = [fm.vector_literal(q) for q in queries]
    cur.execute("EXPLAIN (COSTS OFF) EXECUTE knn(%s)", (literals[0],))
    # the plan for the first query, its vector literal shortened to $1
    plan = "; ".join(re.sub(r"'\[[^']*\]'::vector", "$1", line.strip().removeprefix("->").strip())
                     for (line,) in cur.fetchall())
    done(f"{method}\n   plan: {plan}")

    done = step(f"{len(queries)} queries: EXECUTE knn(<test image>), timed one by one")
    latencies = np.empty(len(queries))
    results = []
    for i, literal in enumerate(literals):
        t0 = time.perf_counter()
        cur.execute("EXECUTE knn(%s)", (literal,))
        rows = cur.fetchall()
        latencies[i] = time.perf_counter() - t0
        results.append(rows)
    conn.commit()
    done()

    done = step("exact search in numpy (ground truth)")
    _, truth_dist = fm.exact_topk(train_images, queries, K)
    hits = wrong_dist = short = same_label = 0
    worst_err = 0.0
    for q, rows in enumerate(results):
        short += K - len(rows)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        if len(ids) == 0:
            continue
        true_d = fm.l2_distances(train_images, queries[q], ids)
        kth = truth_dist[q, K - 1]
        hits += int(np.sum(true_d <= kth * (1 + DIST_RTOL)))
        err = np.abs(np.array([r[2] for r in rows]) - true_d) / np.maximum(true_d, 1.0)
        worst_err = max(worst_err, float(err.max()))
        wrong_dist += int(np.sum(err > DIST_RTOL))
        same_label += sum(1 for r in rows if r[1] == query_labels[q])
    recall = hits / (K * len(results))
    done()

    color = use_color()
    for q in range(min(args.show, len(results))):
        print()
        show(q, queries[q], int(query_labels[q]), results[q], train_images, color)

    cur.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", (TABLE,))
    size = cur.fetchone()[0]
    conn.close()

    total = float(latencies.sum())
    print("\n== summary")
    print(f"   search            {method}")
    print(f"   index build       {build_time:.2f} s for {len(train_images)} rows")
    print(f"   rows loaded       {len(train_images)} in {load_time:.2f} s "
          f"({len(train_images) / load_time:,.0f} rows/s)")
    print(f"   table size        {size} (pg_total_relation_size, with TOAST and primary key)")
    print(f"   latency           mean {latencies.mean() * 1000:.1f} ms, "
          f"p50 {percentile_ms(latencies, 50):.1f} ms, p95 {percentile_ms(latencies, 95):.1f} ms "
          f"({len(latencies)} queries, client side)")
    print(f"   throughput        {len(latencies) / total:.1f} queries/s (one client)")
    print(f"   recall@{K}         {recall:.4f} (a hit is within {DIST_RTOL:g} relative of the "
          f"exact {K}th distance)")
    print(f"   distances         {wrong_dist} off by more than {DIST_RTOL:g} relative "
          f"(worst {worst_err:.2g})")
    print(f"   same label        {same_label}/{K * len(results)} neighbours "
          f"({100 * same_label / (K * len(results)):.1f}%) share the query's class")

    failures = []
    if recall < args.min_recall:
        failures.append(f"recall@{K} {recall:.4f} < {args.min_recall}")
    if wrong_dist:
        failures.append(f"{wrong_dist} distances disagree with numpy")
    if short:
        failures.append(f"{short} rows missing (queries returned fewer than {K})")
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
