#!/usr/bin/env bash
# bench/side_write.sh: what WAL-logging side files costs (not a test).
#
# Writes ~100 MB of vectors (32,000 rows x 784 float32, one Lance file, through
# the side-storage writer: write, fsync, rename, then WAL) into side storage
# of two throwaway clusters started in the same run:
#	wal		wal_level = replica: every byte of the file is logged in WAL
#			records of at most 1 MB (what standbys and backups need)
#	no wal	wal_level = minimal: the file is made durable and only a DONE
#			record is logged (nothing can replay the bytes there)
# The two are interleaved, REPS times each; figures are medians.  Printed:
# seconds per write in each, their ratio, and WAL bytes per byte of side file.
# Like scripts/demo.sh it installs what it needs and builds the extension in a
# scratch copy; the clusters and the copy are removed however it ends.
#
#	usage: bench/side_write.sh [REPS]	(default 5)

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

REPS=${1:-5}
ROWS=32000
DIMS=784

lancedb_require_root
lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}"
lancedb_ensure_user
work=$(lancedb_stage_tree side-write)
trap 'lancedb_stop_cluster "$work/wal"; lancedb_stop_cluster "$work/nowal"; rm -rf "$work"' EXIT
lancedb_build_and_install "$work"

mkdir -p "$work/wal" "$work/nowal"
chown "$LANCEDB_USER:" "$work/wal" "$work/nowal"
lancedb_start_cluster "$work/wal" 54340 "wal_level = replica"
lancedb_start_cluster "$work/nowal" 54341 "wal_level = minimal
max_wal_senders = 0"

psql_in() {
	local dir=$1 port=$2
	shift 2
	lancedb_as_user psql -h "$dir" -p "$port" -d postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

for c in "wal 54340" "nowal 54341"; do
	set -- $c
	psql_in "$work/$1" "$2" -c "CREATE EXTENSION lancedb" \
		-c "CREATE TABLE t (id int)" -c "CREATE INDEX ti ON t USING lancedb_side_debug (id)"
done

# one write: prints "seconds wal_bytes file_bytes", then retires and collects it
one_write() {
	psql_in "$work/$1" "$2" <<SQL
SELECT pg_current_wal_insert_lsn() AS lsn0, clock_timestamp() AS t0 \gset
SELECT lancedb_debug_side_write('ti', 1, $ROWS, $DIMS) AS name \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) || ' ' ||
       pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'lsn0') || ' ' ||
       (SELECT size FROM lancedb_debug_side_files('ti') WHERE name = :'name');
SELECT lancedb_debug_side_retire('ti', :'name');
SELECT lancedb_collect_garbage();
CHECKPOINT;
SQL
}

lancedb_log "writing $ROWS x $DIMS float32 vectors, $REPS times in each cluster (interleaved)"
: >"$work/wal.txt"
: >"$work/nowal.txt"
for ((i = 0; i < REPS; i++)); do
	one_write wal 54340 | sed -n 1p >>"$work/wal.txt"
	one_write nowal 54341 | sed -n 1p >>"$work/nowal.txt"
done

python3 - "$work/wal.txt" "$work/nowal.txt" <<'PY'
import statistics, sys
def load(path):
    rows = [tuple(float(x) for x in line.split()) for line in open(path) if line.strip()]
    return (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
            statistics.median(r[2] for r in rows))
wal, nowal = load(sys.argv[1]), load(sys.argv[2])
mb = wal[2] / 1e6
print(f"side file: {wal[2]:,.0f} bytes ({mb:.1f} MB)")
print(f"{'':22}{'s/write':>10}{'MB/s':>10}{'WAL bytes':>16}{'WAL/file':>10}")
for name, r in (("wal_level=replica", wal), ("wal_level=minimal", nowal)):
    print(f"{name:22}{r[0]:10.3f}{r[2] / 1e6 / r[0]:10.1f}{r[1]:16,.0f}{r[1] / r[2]:10.4f}")
print(f"time with WAL / without: {wal[0] / nowal[0]:.2f}x")
PY
