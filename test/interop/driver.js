// test/interop/driver.js: the interop suite against the real LanceDB, as TAP.
//
//   node driver.js SCRATCH_DIR
//
// Part A: LanceDB writes the fixtures of lib/fixtures.js (formats 2.0 and
// 2.1, several fragments, deletions, stable row ids, every covered type,
// nulls).  We check that LanceDB reads back what it was given (this proves
// the harness), then that our `lance-inspect dump` returns exactly the same
// rows.  Parts B, C and D (our writer, LanceDB reading it; byte-identical
// data files; our deletion files) live in lib/writer_tests.js.
//
// Environment (run.sh sets both; nothing is skipped without them, the suite
// fails): LANCE_INSPECT = path of the lance-inspect binary, WRITE_DATASET =
// path of test/interop/build/write_dataset.

'use strict';

// LanceDB's native module logs through env_logger, configured by LANCEDB_LOG
// (RUST_LOG is set too for anything else Rust in the process).
process.env.LANCEDB_LOG = process.env.LANCEDB_LOG || 'error';
process.env.RUST_LOG = process.env.RUST_LOG || 'error';

const fs = require('fs');
const path = require('path');
const tap = require('./lib/tap');
const { FIXTURES, buildFixture } = require('./lib/fixtures');
const { writeFixture, dumpRows, dataFileVersions } = require('./lib/lancedb');
const { compareRows } = require('./lib/canon');
const { inspectRows } = require('./lib/inspect');

const FOOTER = { default: '2.1', '2.1': '2.1', '2.0': '0.3' };

async function partA(scratch) {
	const dbDir = path.join(scratch, 'lancedb');
	const inspect = process.env.LANCE_INSPECT;
	for (const fixture of FIXTURES) {
		const built = buildFixture(fixture);
		const dir = path.join(dbDir, fixture.name + '.lance');
		const table = await tap.guard('A ' + fixture.name + ': LanceDB writes it',
			() => writeFixture(dbDir, fixture, built));
		if (!table)
			continue;
		const withId = [['_rowid', 'uint64'], ...built.types];
		const lancedbRows = await dumpRows(table, built.types);
		fs.writeFileSync(path.join(scratch, fixture.name + '.lancedb.jsonl'),
			lancedbRows.map((r) => JSON.stringify(r)).join('\n') + '\n');

		tap.check('A ' + fixture.name + ': LanceDB counts ' + built.expected.length + ' rows',
			(await table.countRows()) === built.expected.length ? null
				: 'countRows() = ' + (await table.countRows()));
		tap.check('A ' + fixture.name + ': LanceDB reads back every value it was given, with the expected row ids',
			compareRows(lancedbRows, built.expected, withId, ['LanceDB', 'input']));
		const want = FOOTER[fixture.format];
		const versions = dataFileVersions(dir);
		const bad = versions.filter((v) => v.major + '.' + v.minor !== want);
		tap.check('A ' + fixture.name + ': ' + versions.length + ' data files with footer version ' + want,
			versions.length === fixture.adds.length && bad.length === 0 ? null
				: 'expected ' + fixture.adds.length + ' files of ' + want + ', found ' +
				versions.map((v) => v.file + ' ' + v.major + '.' + v.minor).join(', '));

		const name = 'A ' + fixture.name + ': lance-inspect dump returns the same rows and row addresses as LanceDB';
		// LanceDB reports row ids, lance-inspect row addresses; they differ
		// with stable row ids, where the expected addresses stand in (LanceDB's
		// rows were just checked against the expected ones).
		const reference = lancedbRows.map((row, i) => ({ ...row,
			_rowaddr: fixture.stableRowIds ? (built.expected[i] || {})._rowaddr : row._rowid }));
		await tap.guard(name, async () => {
			const ours = inspectRows(inspect, dir, built.types);
			tap.check(name, compareRows(ours, reference, [['_rowaddr', 'uint64'], ...built.types],
				['lance-inspect', 'LanceDB']));
		});
	}
}

async function main() {
	const scratch = process.argv[2];
	if (!scratch) {
		process.stderr.write('usage: node driver.js SCRATCH_DIR\n');
		process.exit(2);
	}
	fs.mkdirSync(scratch, { recursive: true });
	if (!process.env.LANCE_INSPECT || !process.env.WRITE_DATASET)
		throw new Error('LANCE_INSPECT and WRITE_DATASET must name our reader and writer (run.sh sets them)');
	const started = Date.now();
	await partA(scratch);
	const { partB, partC, partD } = require('./lib/writer_tests');
	await partB(scratch, process.env.WRITE_DATASET);
	await partC(scratch, process.env.WRITE_DATASET);
	await partD(scratch, process.env.WRITE_DATASET);
	tap.diag('interop suite took ' + ((Date.now() - started) / 1000).toFixed(1) + ' s');
	process.exitCode = tap.done() ? 1 : 0;
}

main().catch((e) => {
	tap.check('interop driver runs to the end', e.stack || String(e));
	tap.done();
	process.exitCode = 1;
});
