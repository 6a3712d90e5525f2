#!/usr/bin/env bash
# test/interop/run.sh: the interop suite against the real LanceDB, as TAP on
# stdout (what `make interopcheck` and scripts/test.sh run).
#
# Finds the pinned node_modules (install.sh: a no-op once cached), builds
# what the suite drives from our side (tools/lance-inspect, our reader, and
# build/write_dataset, our writer), then runs driver.js in a scratch
# directory test/interop/tmp_check/, left in place after a failure.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

modules=$(bash "$here/install.sh")

# Our reader's CLI (tools/README.md) and our writer (build/write_dataset)
# are part of the tree: building them must work, so a missing one is a
# failure of the suite, never a reason to skip its comparisons.
make -C "$repo/tools" -s >&2
make -C "$here" -s >&2
export LANCE_INSPECT=${LANCE_INSPECT:-$repo/tools/lance-inspect}
export WRITE_DATASET=$here/build/write_dataset

scratch=$here/tmp_check
rm -rf "$scratch"
mkdir -p "$scratch"
status=0
NODE_PATH=$modules node "$here/driver.js" "$scratch" || status=$?
[ "$status" = 0 ] && rm -rf "$scratch"
exit "$status"
