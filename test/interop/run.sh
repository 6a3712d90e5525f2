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

# Our reader's CLI (tools/README.md), built with the extension; without it
# the comparisons with our reader report themselves as skipped.
if [ -z "${LANCE_INSPECT:-}" ]; then
	if [ ! -x "$repo/tools/lance-inspect" ] && [ -f "$repo/tools/Makefile" ]; then
		make -C "$repo/tools" -s >&2
	fi
	if [ -x "$repo/tools/lance-inspect" ]; then
		export LANCE_INSPECT="$repo/tools/lance-inspect"
	fi
fi
# Our writer needs the public write API of the Lance library; until both
# headers are there, parts B and C report themselves as skipped.
if [ -f "$repo/src/lance/lance_file.h" ] && [ -f "$repo/src/lance/lance_dataset.h" ]; then
	make -C "$here" -s >&2
	export WRITE_DATASET="$here/build/write_dataset"
fi

scratch=$here/tmp_check
rm -rf "$scratch"
mkdir -p "$scratch"
status=0
NODE_PATH=$modules node "$here/driver.js" "$scratch" || status=$?
[ "$status" = 0 ] && rm -rf "$scratch"
exit "$status"
