#!/usr/bin/env bash
# test/tools/run.sh: behaviour tests of tools/lance-inspect, as TAP on stdout
# (`make toolcheck`; scripts/test.sh runs it as suite "tools").
#
# Builds the tool and build/make_fixtures (which writes a data file of every
# JSON rule's edge cases, the same in format 2.0, and a two-fragment dataset
# with a deletion, all with our library), then checks `dump` byte for byte
# against expected/ and inline expectations, `info` for the facts it must
# show, and the exit status and single stderr line of every kind of error.
# LanceDB-written input is the interop suite's job (test/interop/).

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
make -C "$repo/tools" -s >&2 || { echo "not ok 1 - build tools/lance-inspect"; exit 1; }
make -C "$here" -s >&2 || { echo "not ok 1 - build make_fixtures"; exit 1; }
tool=$repo/tools/lance-inspect
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$here/build/make_fixtures" "$scratch" || { echo "not ok 1 - make_fixtures"; exit 1; }

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1)); failures=$((failures + 1))
	echo "not ok $n - $1"
	shift
	printf '#   %s\n' "$@"
}

# run ARGS...: sets out, err, status
run() {
	status=0
	out=$("$tool" "$@" 2>"$scratch/err") || status=$?
	err=$(cat "$scratch/err")
}

# expect_output NAME EXPECTED ARGS...: exit 0, empty stderr, stdout exactly EXPECTED
expect_output() {
	local name=$1 want=$2
	shift 2
	run "$@"
	if [ "$status" = 0 ] && [ -z "$err" ] && [ "$out" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name" "status $status, stderr: $err" "got:" "$out" "expected:" "$want"
	fi
}

# expect_lines NAME ARGS... -- PATTERN...: exit 0 and every grep -E PATTERN found
expect_lines() {
	local name=$1 missing=()
	shift
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	run "${args[@]}"
	for p in "$@"; do
		grep -Eq -- "$p" <<<"$out" || missing+=("$p")
	done
	if [ "$status" = 0 ] && [ ${#missing[@]} = 0 ]; then
		ok "$name"
	else
		not_ok "$name" "status $status, stderr: $err" "missing: ${missing[*]:-}" "output:" "$out"
	fi
}

# expect_error NAME STATUS PATTERN ARGS...: that exit status, nothing on
# stdout, and (status 1) exactly one stderr line "lance-inspect: ..." matching PATTERN
expect_error() {
	local name=$1 want=$2 pattern=$3
	shift 3
	run "$@"
	local lines
	lines=$(printf '%s\n' "$err" | wc -l)
	if [ "$status" = "$want" ] && [ -z "$out" ] && grep -Eq "^lance-inspect: .*$pattern" <<<"$err" &&
		{ [ "$want" != 1 ] || [ "$lines" = 1 ]; }; then
		ok "$name"
	else
		not_ok "$name" "expected status $want and an error matching '$pattern'" \
			"got status $status, stdout: ${out:0:200}" "stderr: $err"
	fi
}

ds=$scratch/ds

# --- dump: the JSON format ---------------------------------------------------
run dump "$scratch/special.lance" --with-rowaddr
if [ "$status" = 0 ] && [ -z "$err" ] && printf '%s\n' "$out" | cmp -s - "$here/expected/special.jsonl"; then
	ok "dump of a data file prints every JSON rule exactly (big integers, NaN, -0, float16, escapes, hex, dates, nulls)"
else
	not_ok "dump of a data file prints every JSON rule exactly" "status $status, stderr: $err" \
		"diff:" "$(printf '%s\n' "$out" | diff - "$here/expected/special.jsonl" | head -20)"
fi
run dump "$scratch/special_v20.lance" --with-rowaddr
if [ "$status" = 0 ] && printf '%s\n' "$out" | cmp -s - "$here/expected/special.jsonl"; then
	ok "dump of the same rows in a 2.0 file prints the same bytes"
else
	not_ok "dump of the same rows in a 2.0 file prints the same bytes" "status $status, stderr: $err"
fi
run dump "$scratch/special.lance"
if [ "$status" = 0 ] && [ -z "$(printf '%s\n' "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    assert list(row) == ["i64", "u64", "f32", "f64", "h", "b", "text", "bin", "d", "ts", "vec"], list(row)
' 2>&1)" ]; then
	ok "every dump line is a JSON object with the schema's keys in schema order"
else
	not_ok "every dump line is a JSON object with the schema's keys in schema order" "status $status" "$out"
fi

# --- dump: datasets ----------------------------------------------------------
expect_output "dump of a dataset skips deleted rows; row addresses are fragment << 32 | offset" \
'{"_rowaddr":0,"id":0,"name":"zero","score":0}
{"_rowaddr":2,"id":2,"name":null,"score":1}
{"_rowaddr":4294967296,"id":3,"name":"three","score":1.5}
{"_rowaddr":4294967297,"id":4,"name":"","score":2}
{"_rowaddr":4294967298,"id":5,"name":"five","score":2.5}' dump "$ds" --with-rowaddr
expect_output "dump --version 1 reads the version before the deletion" \
'{"id":0,"name":"zero","score":0}
{"id":1,"name":"one","score":0.5}
{"id":2,"name":null,"score":1}
{"id":3,"name":"three","score":1.5}
{"id":4,"name":"","score":2}
{"id":5,"name":"five","score":2.5}' dump "$ds" --version 1
expect_output "dump --columns keeps schema order; --offset/--limit count live rows across fragments" \
'{"_rowaddr":2,"id":2,"score":1}
{"_rowaddr":4294967296,"id":3,"score":1.5}' dump "$ds" --columns score,id --offset 1 --limit 2 --with-rowaddr
expect_output "dump --offset past the end prints nothing" "" dump "$ds" --offset 5
expect_output "dump --limit 0 prints nothing" "" dump "$ds" --limit 0
expect_output "dump --offset/--limit on a single file" \
'{"_rowaddr":3,"d":"0000-01-01"}' dump "$scratch/special.lance" --columns d --offset 3 --limit 1 --with-rowaddr

# --- info ----------------------------------------------------------------------
expect_lines "info on a dataset shows schema, versions, fragments, deletions and page encodings" \
	info "$ds" -- \
	'^version: 2 \(latest 2\)' '^versions \(2, V2 .*\): 1 2$' 'data format: lance 2\.1' \
	'reader feature flags: 1 \(deletion files\)' \
	' 0 +-1 +id: int64 not null$' ' 1 +-1 +name: string$' ' 2 +-1 +score: double$' \
	'fragment 0: 3 physical rows, 2 live rows' 'deletion file: _deletions/0-1-[0-9]+\.bin \(1 deleted' \
	'fragment 1: 3 physical rows, 3 live rows' 'data file part-1\.lance: version 2\.1, fields \[0, 1, 2\]' \
	'column 1 \(name\): 1 pages' 'page 0: rows 0\.\.3, .*mini_block\{.*value: variable\{offsets: flat\(32\)\}' \
	'mini_block\{value: flat\(64\)'
expect_lines "info --version 1 shows the older version without its deletion file" \
	info "$ds" --version 1 -- '^version: 1 \(latest 2\)' 'fragment 0: 3 physical rows, 3 live rows' \
	'deletion file: none'
expect_lines "info on a 2.1 data file shows its schema and pages" \
	info "$scratch/special.lance" -- '^file format: 2\.1, 5 rows, 11 columns' \
	'vec: fixed_size_list:float:2$' 'ts: timestamp:us:UTC not null$' 'h: halffloat not null$' \
	'column 10 \(vec\): 1 pages' 'full_zip|mini_block'
expect_lines "info on a 2.0 data file shows the 2.0 encoding trees" \
	info "$scratch/special_v20.lance" -- '^file format: 2\.0, 5 rows' \
	'nullable\{some_nulls\{validity: flat' 'fixed_size_list\{dimension: 2' 'binary\{indices: '

# --- errors ----------------------------------------------------------------------
head -c 300 "$scratch/special.lance" >"$scratch/truncated.lance"
cp "$scratch/special.lance" "$scratch/badmagic.lance"
printf 'XXXX' | dd of="$scratch/badmagic.lance" bs=1 seek=$(($(stat -c %s "$scratch/special.lance") - 4)) \
	conv=notrunc status=none
# Garbage over the metadata at the end, footer intact.
cp "$scratch/special.lance" "$scratch/garbled.lance"
size=$(stat -c %s "$scratch/special.lance")
head -c 400 /dev/urandom | dd of="$scratch/garbled.lance" bs=1 seek=$((size - 440)) conv=notrunc status=none
echo 'not a lance file' >"$scratch/text.lance"

expect_error "a path that does not exist: exit 1" 1 "No such file" dump "$scratch/nope"
expect_error "a truncated data file: exit 1" 1 "truncated\.lance" dump "$scratch/truncated.lance"
expect_error "a data file with a bad magic: exit 1 naming it" 1 "LANC" info "$scratch/badmagic.lance"
expect_error "a file that is not Lance: exit 1" 1 "text\.lance" dump "$scratch/text.lance"
run dump "$scratch/garbled.lance"
if [ "$status" -le 1 ] && { [ "$status" = 0 ] || grep -q '^lance-inspect: ' <<<"$err"; }; then
	ok "a data file with garbled metadata: an error or a valid dump, never a crash"
else
	not_ok "a data file with garbled metadata: an error or a valid dump, never a crash" "status $status" "$err"
fi
expect_error "a directory that is not a dataset: exit 1" 1 "not a Lance dataset" info "$scratch"
expect_error "a version that does not exist: exit 1" 1 "no version 7" dump "$ds" --version 7
expect_error "an unknown column: exit 1 naming it" 1 'no column named "nope"' dump "$ds" --columns id,nope
expect_error "--version on a single data file: exit 1" 1 "single data file" dump "$scratch/special.lance" --version 1
rm -f "$ds"/data/part-1.lance
run dump "$ds"
# Rows stream out as they are read: fragment 0's come before the error.
if [ "$status" = 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] &&
	grep -q '^lance-inspect: fragment 1: .*part-1\.lance' <<<"$err"; then
	ok "a dataset whose data file is missing: exit 1 naming the fragment and file"
else
	not_ok "a dataset whose data file is missing: exit 1 naming the fragment and file" "status $status" "$err"
fi
expect_error "no arguments: usage, exit 2" 2 "expected a command"
expect_error "an unknown command: exit 2" 2 "unknown command" list "$ds"
expect_error "an unknown option: exit 2" 2 "unknown option" dump "$ds" --rows 3
expect_error "--columns on info: exit 2" 2 "unknown option" info "$ds" --columns id
expect_error "a malformed --limit: exit 2" 2 "--limit" dump "$ds" --limit -1
expect_error "a missing path: exit 2" 2 "expected a dataset" dump
expect_error "two paths: exit 2" 2 "unexpected argument" dump "$ds" "$ds"

echo "1..$n"
[ "$failures" = 0 ]
