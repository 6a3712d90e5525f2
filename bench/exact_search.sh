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

lancedb_fashion_client bench 54330 bench/exact_search.py "$@"
