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

lancedb_fashion_client demo 54329 scripts/demo.py "$@"
