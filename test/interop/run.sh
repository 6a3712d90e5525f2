#!/usr/bin/env bash
# test/interop/run.sh: the interop suite against the real LanceDB, as TAP on
# stdout (what `make interopcheck` and scripts/test.sh run).
#
# Finds the pinned node_modules (install.sh: a no-op once cached), builds
# what the suite drives from our side (tools/lance-inspect, and
# test/interop/write_dataset, our writer), then runs
# driver.js in a scratch directory test/interop/tmp_check/, which is left in
# place after a failure for inspection.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

modules=$(bash "$here/install.sh")

if [ -f "$repo/tools/Makefile" ]; then
	make -C "$repo/tools" -s >&2
	[ -x "$repo/tools/lance-inspect" ] && export LANCE_INSPECT="$repo/tools/lance-inspect"
fi
if [ -f "$here/write_dataset.c" ]; then
	make -C "$here" -s write_dataset >&2
	export WRITE_DATASET="$here/write_dataset"
fi

scratch=$here/tmp_check
rm -rf "$scratch"
mkdir -p "$scratch"
status=0
NODE_PATH=$modules node "$here/driver.js" "$scratch" || status=$?
[ "$status" = 0 ] && rm -rf "$scratch"
exit "$status"
