#!/usr/bin/env bash
# bench/exact_search.sh: benchmark of exact nearest-neighbour search through
# SQL (not a test).  Like scripts/demo.sh, it installs what it needs, builds
# and installs the extension, and starts a throwaway cluster as an
# unprivileged user; then it loads the 60,000 Fashion-MNIST training images
# into a heap table and runs bench/exact_search.py, which times
# ORDER BY embedding <-> $1 LIMIT 10 against the SQL round-trip floor, with
# scalar vs SIMD kernels and with and without parallel workers.  The cluster
# and the scratch tree are removed when it ends, however it ends.
#
# Options are passed to bench/exact_search.py (e.g. --queries 100 --warmup 5).

source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

lancedb_require_root
lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}" \
	dataset-fashion-mnist python3 python3-numpy python3-psycopg2
lancedb_ensure_user

work=$(lancedb_stage_tree bench)
trap 'lancedb_stop_cluster "$work"; rm -rf "$work"' EXIT
lancedb_build_and_install "$work"

lancedb_log "starting a throwaway cluster"
lancedb_start_cluster "$work" 54330

lancedb_log "benchmark: exact search"
lancedb_as_user /usr/bin/python3 "$work/bench/exact_search.py" --host "$work" --port 54330 "$@"
