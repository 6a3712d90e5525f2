#!/usr/bin/env bash
# scripts/demo.sh: the lancedb demo.  Installs what it needs, builds and
# installs the extension, starts a throwaway cluster as an unprivileged user,
# loads the 60,000 Fashion-MNIST training images as 784-dim vectors, answers
# nearest-neighbour queries for test images with ORDER BY embedding <-> $1
# LIMIT 10, and draws the queries and their neighbours in the terminal.
# The cluster and the scratch tree are removed when it ends, however it ends.
#
# Options are passed to scripts/demo.py (e.g. --queries 200 --show 3).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lancedb_require_root
lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}" \
	dataset-fashion-mnist python3 python3-numpy python3-psycopg2
lancedb_ensure_user

work=$(lancedb_stage_tree demo)
trap 'lancedb_stop_cluster "$work"; rm -rf "$work"' EXIT
lancedb_build_and_install "$work"

lancedb_log "starting a throwaway cluster"
lancedb_start_cluster "$work" 54329

lancedb_as_user /usr/bin/python3 "$work/scripts/demo.py" --host "$work" --port 54329 "$@"
