// test/interop/lib/writer_tests.js: parts B and C of the interop suite, our
// writer against the real LanceDB.
//
// B. write_dataset (our writer) makes a dataset; LanceDB opens it, counts
//    it, reads every value back, answers vector searches exactly as brute
//    force does, then appends and deletes; our reader (lance-inspect) reads
//    LanceDB's new version and, by --version, our original one.
// D. Our library deletes rows from a dataset it wrote (one .bin deletion
//    file per fragment); LanceDB reads the result without the deleted rows.
// C. LanceDB and our writer write the same simple tables; the data files
//    must be byte-identical (manifests carry timestamps and uuids, and are
//    not compared).

'use strict';

const fs = require('fs');
const path = require('path');
const arrow = require('apache-arrow');
const { execFileSync } = require('child_process');
const tap = require('./tap');
const { lancedb, openDataset, dumpRows, dataFileVersions } = require('./lancedb');
const { arrowRows, lanceTypeOf, compareRows } = require('./canon');
const { formulaBatch, formulaVector } = require('./formulas');
const { inspectRows } = require('./inspect');

const STORAGE = { '2.0': '2.0', '2.1': '2.1' };

// Run our writer; throws with its stderr on failure.
function writeOurs(writeDataset, dir, kind, version, rows, fragments) {
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(path.dirname(dir), { recursive: true });
	try {
		execFileSync(writeDataset, [dir, kind, version, String(rows), String(fragments)],
			{ stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
	} catch (e) {
		throw new Error('write_dataset ' + [dir, kind, version, rows, fragments].join(' ') +
			' failed: ' + (e.stderr || e.message));
	}
}

function typesOf(batch) {
	return batch.schema.fields.map((f) => [f.name, lanceTypeOf(arrow, f.type)]);
}

// Expected rows of a formula table written as 'fragments' equal fragments.
function formulaRows(kind, first, rows, fragments, firstFragment = 0) {
	const out = [];
	const per = rows / fragments;
	for (let f = 0; f < fragments; f++) {
		const batch = formulaBatch(kind, first + f * per, per);
		arrowRows(new arrow.Table([batch]), typesOf(batch)).forEach((row, off) => {
			const addr = ((BigInt(firstFragment + f) << 32n) | BigInt(off)).toString();
			out.push({ _rowid: addr, _rowaddr: addr, ...row });
		});
	}
	return out;
}

const METRICS = {
	l2: (q, v) => q.reduce((s, x, j) => s + (x - v[j]) ** 2, 0),
	cosine: (q, v) => {
		let d = 0, a = 0, b = 0;
		q.forEach((x, j) => {
			d += x * v[j];
			a += x * x;
			b += v[j] * v[j];
		});
		return 1 - d / Math.sqrt(a * b);
	},
	dot: (q, v) => 1 - q.reduce((s, x, j) => s + x * v[j], 0),
};

// LanceDB's flat search for q against brute force over the live ids; null
// when they agree (same distances in order, each reported distance the true
// distance of the reported row; rows at equal distance may swap).
async function checkSearch(table, kind, metric, q, liveIds, k) {
	const result = await table.search(Float32Array.from(q)).distanceType(metric).limit(k)
		.select(['id']).toArrow();
	const got = arrowRows(result, [['id', 'int64'], ['_distance', 'float']]);
	const truth = new Map();
	for (const id of liveIds) {
		const v = formulaVector(kind, id);
		if (v)
			truth.set(id, METRICS[metric](q, v));
	}
	const brute = [...truth.entries()].sort((x, y) => x[1] - y[1] || x[0] - y[0]).slice(0, k);
	if (got.length !== brute.length)
		return 'LanceDB returned ' + got.length + ' rows, brute force ' + brute.length;
	const close = (x, y) => Math.abs(x - y) <= 1e-4 * Math.max(1, Math.abs(y));
	const seen = new Set();
	for (let r = 0; r < got.length; r++) {
		const id = Number(got[r].id), d = Number(got[r]._distance);
		if (seen.has(id))
			return 'row id ' + id + ' returned twice';
		seen.add(id);
		if (!truth.has(id))
			return 'result ' + r + ' is id ' + id + ', which is deleted or has a null vector';
		if (!close(d, truth.get(id)))
			return 'result ' + r + ' (id ' + id + '): LanceDB distance ' + d + ', true ' + truth.get(id);
		if (!close(d, brute[r][1]))
			return 'result ' + r + ': LanceDB id ' + id + ' at ' + d + ', brute force id ' +
				brute[r][0] + ' at ' + brute[r][1];
	}
	return null;
}

async function partB(scratch, writeDataset) {
	const inspect = process.env.LANCE_INSPECT;
	const kind = 'wide', rows = 3000, fragments = 2, added = 200;
	for (const version of ['2.1', '2.0']) {
		const label = 'B ' + kind + ' ' + version + ': ';
		const dir = path.join(scratch, 'ours', kind + '_v' + version.replace('.', ''));
		if (!await tap.guard(label + 'our writer makes a dataset of ' + rows + ' rows in ' + fragments + ' fragments',
			() => (writeOurs(writeDataset, dir, kind, version, rows, fragments), true)))
			continue;
		const footer = version === '2.0' ? '0.3' : '2.1';
		const files = dataFileVersions(dir);
		tap.check(label + 'our data files have footer version ' + footer,
			files.length === fragments && files.every((f) => f.major + '.' + f.minor === footer) ? null
				: files.map((f) => f.file + ' ' + f.major + '.' + f.minor).join(', '));

		const table = await tap.guard(label + 'LanceDB opens it', () => openDataset(scratch, dir));
		if (!table)
			continue;
		const types = typesOf(formulaBatch(kind, 0, 1));
		const expected = formulaRows(kind, 0, rows, fragments);
		await tap.guard(label + 'LanceDB reads it', async () => {
			const n = await table.countRows();
			tap.check(label + 'LanceDB counts ' + rows + ' rows', n === rows ? null : 'countRows() = ' + n);
			const nullText = expected.filter((r) => r.text === null).length;
			const m = await table.countRows('text IS NULL');
			tap.check(label + 'LanceDB counts ' + nullText + ' null texts (a filter on our data)',
				m === nullText ? null : "countRows('text IS NULL') = " + m);
			tap.check(label + 'LanceDB reads back every value, with row ids = row addresses',
				compareRows(await dumpRows(table, types), expected, [['_rowid', 'uint64'], ...types],
					['LanceDB', 'written']));
			const q = Array.from({ length: 32 }, (_, j) => ((j * 13 + 5) % 41 - 20) / 8);
			const ids = expected.map((r) => Number(r.id));
			for (const metric of Object.keys(METRICS)) {
				tap.check(label + 'LanceDB flat ' + metric + ' search (k=10) equals brute force',
					await checkSearch(table, kind, metric, q, ids, 10));
			}
		});

		// LanceDB appends (a new fragment) and deletes; our reader follows.
		await tap.guard(label + 'LanceDB appends and deletes', async () => {
			const ourVersion = Math.max(...(await table.listVersions()).map((v) => v.version));
			await table.add(new arrow.Table([formulaBatch(kind, rows, added)]));
			await table.delete('id % 3 = 0');
			const after = [...expected, ...formulaRows(kind, rows, added, 1, fragments)]
				.filter((r) => BigInt(r.id) % 3n !== 0n);
			const lancedbRows = await dumpRows(table, types);
			tap.check(label + 'LanceDB appends ' + added + ' rows and deletes every third: ' + after.length + ' rows',
				compareRows(lancedbRows, after, [['_rowid', 'uint64'], ...types], ['LanceDB', 'expected']));
			const versions = (await table.listVersions()).map((v) => v.version);
			tap.check(label + 'LanceDB made two versions on top of ours (' + ourVersion + ')',
				versions.slice(-3).join() === [ourVersion, ourVersion + 1, ourVersion + 2].join() ? null
					: 'versions ' + JSON.stringify(versions));
			const cols = [['_rowaddr', 'uint64'], ...types];
			const latest = label + 'our reader reads LanceDB\'s latest version (append + deletion file)';
			const first = label + 'our reader reads our version (' + ourVersion + ') after LanceDB\'s commits';
			await tap.guard(latest, () => tap.check(latest,
				compareRows(inspectRows(inspect, dir, types), after, cols, ['lance-inspect', 'expected'])));
			await tap.guard(first, () => tap.check(first,
				compareRows(inspectRows(inspect, dir, types, ['--version', String(ourVersion)]), expected, cols,
					['lance-inspect', 'expected'])));
		});
	}
}

// First difference of two byte buffers, or null.
function compareBytes(ours, theirs) {
	const n = Math.min(ours.length, theirs.length);
	for (let i = 0; i < n; i++) {
		if (ours[i] !== theirs[i]) {
			const around = (b) => b.subarray(Math.max(0, i - 8), i + 8).toString('hex');
			return 'first differing byte at offset ' + i + ' of ' + ours.length + ' (ours) / ' + theirs.length +
				' (LanceDB): ' + ours[i] + ' vs ' + theirs[i] + '\nours     [' + Math.max(0, i - 8) + '..]: ' +
				around(ours) + '\nLanceDB  [' + Math.max(0, i - 8) + '..]: ' + around(theirs);
		}
	}
	return ours.length === theirs.length ? null
		: 'ours has ' + ours.length + ' bytes, LanceDB\'s ' + theirs.length + ' (the first ' + n + ' agree)';
}

async function partC(scratch, writeDataset) {
	const dbDir = path.join(scratch, 'lancedb_c');
	const db = await lancedb.connect(dbDir);
	// Small enough that LanceDB keeps the plain encodings our writer uses
	// (fact sheet §2.4, §6): at 99 rows LanceDB 0.31 already encodes the
	// nullable text page of 2.1 differently (a smaller chunk, presumably
	// compressed def levels), and at 100 rows it dictionary-encodes that
	// column in 2.0 (80 distinct values).
	const rows = 64;
	for (const kind of ['simple', 'simple_nullvec']) {
		for (const version of ['2.1', '2.0']) {
			const name = kind + '_v' + version.replace('.', '');
			const label = 'C ' + kind + ' ' + version + ' (' + rows + ' rows): our data file is byte-identical to LanceDB\'s';
			await tap.guard(label, async () => {
				await db.createTable(name, new arrow.Table([formulaBatch(kind, 0, rows)]),
					{ mode: 'overwrite', storageOptions: { new_table_data_storage_version: STORAGE[version] } });
				const oursDir = path.join(scratch, 'ours_c', name);
				writeOurs(writeDataset, oursDir, kind, version, rows, 1);
				const theirs = dataFileVersions(path.join(dbDir, name + '.lance'));
				const ours = dataFileVersions(oursDir);
				if (theirs.length !== 1 || ours.length !== 1)
					throw new Error('expected one data file each, found ' + ours.length + ' (ours) and ' +
						theirs.length + ' (LanceDB)');
				tap.check(label, compareBytes(ours[0].bytes, theirs[0].bytes));
			});
		}
	}
}

async function partD(scratch, writeDataset) {
	const inspect = process.env.LANCE_INSPECT;
	const kind = 'simple', rows = 600, fragments = 3, modulus = 4;
	for (const version of ['2.1', '2.0']) {
		const label = 'D ' + kind + ' ' + version + ': ';
		const dir = path.join(scratch, 'ours_d', 'deleted_' + kind + '_v' + version.replace('.', ''));
		const deleted = label + 'our library deletes every row whose id is a multiple of ' + modulus;
		const ok = await tap.guard(deleted, () => {
			writeOurs(writeDataset, dir, kind, version, rows, fragments);
			execFileSync(writeDataset, ['delete', dir, String(modulus)],
				{ stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
			const files = fs.readdirSync(path.join(dir, '_deletions'));
			tap.check(deleted, files.length === fragments && files.every((f) => f.endsWith('.bin')) ? null
				: 'deletion files: ' + JSON.stringify(files));
			return true;
		});
		if (!ok)
			continue;
		const expected = formulaRows(kind, 0, rows, fragments).filter((r) => BigInt(r.id) % BigInt(modulus) !== 0n);
		const types = typesOf(formulaBatch(kind, 0, 1));
		const read = label + 'LanceDB reads our deletion files: ' + expected.length + ' rows, every value equal';
		await tap.guard(read, async () => {
			const table = await openDataset(scratch, dir);
			const n = await table.countRows();
			tap.check(label + 'LanceDB counts ' + expected.length + ' live rows', n === expected.length ? null
				: 'countRows() = ' + n);
			tap.check(read, compareRows(await dumpRows(table, types), expected, [['_rowid', 'uint64'], ...types],
				['LanceDB', 'expected']));
		});
		const ours = label + 'our reader skips the rows our library deleted';
		await tap.guard(ours, () => tap.check(ours, compareRows(inspectRows(inspect, dir, types), expected,
			[['_rowaddr', 'uint64'], ...types], ['lance-inspect', 'expected'])));
	}
}

module.exports = { partB, partC, partD };
