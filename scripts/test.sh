#!/usr/bin/env bash
# scripts/test.sh: install what the tests need, build with warnings as errors,
# run every suite, and end with one line "N passed, N failed".
#
# Suites: C unit tests (plain and under ASan/UBSan), a bounded libFuzzer run
# of the Lance decoders (test/fuzz/), pg_regress (sql/,
# expected/) on a temporary instance with lancedb preloaded, and TAP tests
# (test/t/) with PostgreSQL::Test::Cluster, the lance-inspect tool's tests
# (test/tools/), and the interop suite against the
# real LanceDB (test/interop/; its pinned npm packages are installed once).
# Each TAP assertion and each pg_regress test counts as one test; a suite
# that dies without reporting a failure counts as one failed test.  Exit
# status is non-zero on any failure.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

lancedb_require_root
# util-linux-extra: fincore(1), for the page cache check of test/t/031_ivf_prewarm.pl
lancedb_install_packages "${LANCEDB_BUILD_PACKAGES[@]}" libipc-run-perl util-linux-extra
lancedb_ensure_user

work=$(lancedb_stage_tree test)
logs="$work/log"
mkdir -p "$logs" && chown "$LANCEDB_USER:" "$logs"
passed=0
failed=0
skipped=0

# Stop any server a suite left behind, whatever happened.
cleanup() {
	local pidfile
	for pidfile in $(find "$work" -name postmaster.pid 2>/dev/null); do
		lancedb_as_user "$PG_BINDIR/pg_ctl" -D "$(dirname "$pidfile")" -m immediate stop >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

# run_suite NAME KIND COMMAND...: KIND is 'tap' (count ok / not ok lines) or
# 'regress' (count pg_regress's per-test ok / FAILED lines).
run_suite() {
	local name=$1 kind=$2 log="$logs/$1.log" status=0 p f s
	shift 2
	lancedb_log "suite $name"
	lancedb_as_user "$@" >"$log" 2>&1 || status=$?
	if [ "$kind" = tap ]; then
		p=$(grep -Ec '^\s*ok [0-9]+' "$log" || true)
		s=$(grep -Ec '^\s*ok [0-9]+.*# *SKIP' "$log" || true)
		f=$(grep -Ec '^\s*not ok [0-9]+' "$log" || true)
		p=$((p - s))
	else
		p=$(grep -Ec '\.\.\. ok' "$log" || true)
		s=0
		f=$(grep -Ec '\.\.\. (FAILED|failed)' "$log" || true)
	fi
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "suite $name exited with status $status without reporting a failed test"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	echo "$name: $p passed, $f failed, $s skipped (log: $log)"
	if [ "$f" != 0 ]; then
		grep -E '^\s*not ok|\.\.\. FAILED|error|Error' "$log" | head -n 40 || true
		[ -f "$work/regression.diffs" ] && head -n 200 "$work/regression.diffs"
		tail -n 30 "$log"
	fi
	return 0
}

build_status=0
lancedb_build_and_install "$work" || build_status=$?
if [ "$build_status" != 0 ]; then
	echo "build failed"
	failed=$((failed + 1))
else
	run_suite unit tap make -C "$work" -s unitcheck
	run_suite fuzz tap make -C "$work" -s fuzzcheck
	run_suite regress regress make -C "$work" -s installcheck
	run_suite tap tap make -C "$work" -s tapcheck PROVE_FLAGS=--verbose
	run_suite tools tap make -C "$work" -s toolcheck
	bash "$work/test/interop/install.sh" >/dev/null || echo "installing the interop suite's npm packages failed"
	run_suite interop tap make -C "$work" -s interopcheck
fi

echo
[ "$skipped" = 0 ] || echo "($skipped skipped tests are not counted as passed)"
echo "$passed passed, $failed failed"
if [ "$failed" = 0 ]; then
	rm -rf "$work"
	exit 0
fi
echo "the scratch tree with logs is kept at $work"
exit 1
