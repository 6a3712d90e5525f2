#!/usr/bin/env bash
# bench/ivf.sh: benchmark of the lance_ivf index (not a test).  Like
# scripts/demo.sh, it installs what it needs, builds and installs the
# extension from a scratch copy, and starts a throwaway cluster as an
# unprivileged user; then bench/ivf.py loads the 60,000 Fashion-MNIST
# training images, builds a lance_ivf index and times kNN queries over a
# sweep of lance_ivf.probes and lance_ivf.rerank against the SQL round-trip
# floor and, when pgvector is installed in the same PostgreSQL (it is
# optional; this script does not install it), against pgvector's HNSW index
# over the same rows.  It prints a table and the goal checks as ratios, and
# draws recall-vs-QPS curves into a PNG.  The cluster and the scratch tree are
# removed when it ends, however it ends.
#
# Options are passed to bench/ivf.py (e.g. --queries 200 --warmup 10), except
# --png PATH (default bench/build/ivf.png), where the curves are copied.

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

png=$LANCEDB_REPO/bench/build/ivf.png
args=()
while [ $# -gt 0 ]; do
	case $1 in
		--png) png=$2; shift 2 ;;
		--png=*) png=${1#--png=}; shift ;;
		*) args+=("$1"); shift ;;
	esac
done

lancedb_require_root
lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}" \
	dataset-fashion-mnist python3 python3-numpy python3-psycopg2 python3-matplotlib
lancedb_ensure_user

work=$(lancedb_stage_tree ivf)
trap 'lancedb_stop_cluster "$work"; rm -rf "$work"' EXIT
lancedb_build_and_install "$work"

lancedb_log "starting a throwaway cluster"
# Room in shared buffers for both tables and the HNSW index.
# One session per case (see bench/ivf.py): more than the default 100.
lancedb_start_cluster "$work" 54331 "shared_buffers = 2GB
max_connections = 250"

lancedb_as_user /usr/bin/python3 "$work/bench/ivf.py" --host "$work" --port 54331 \
	--png "$work/ivf.png" "${args[@]}"
mkdir -p "$(dirname "$png")"
cp "$work/ivf.png" "$png"
echo "(copied to $png)"
