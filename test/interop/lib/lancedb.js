// test/interop/lib/lancedb.js: what the interop suite asks of the real
// LanceDB (@lancedb/lancedb 0.31.0): write a fixture, open any dataset
// directory, dump it as canonical rows.
//
// LanceDB only opens tables as <db dir>/<name>.lance, and connect() writes a
// __manifest table into the db dir, so datasets made elsewhere (by our
// writer) are opened through a symlink <scratch>/open/<name>.lance -> dir.

'use strict';

const fs = require('fs');
const path = require('path');
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');
const { arrowRows } = require('./canon');
const { FORMATS } = require('./fixtures');

// Create fixture 'fixture' (built by buildFixture) in directory dbDir as
// <name>.lance: create from the first batch, add the others, run the deletes.
async function writeFixture(dbDir, fixture, built) {
	const db = await lancedb.connect(dbDir);
	const storageOptions = { ...FORMATS[fixture.format] };
	if (fixture.stableRowIds)
		storageOptions.new_table_enable_stable_row_ids = 'true';
	const table = await db.createTable(fixture.name, new arrow.Table([built.batches[0]]),
		{ mode: 'overwrite', storageOptions });
	for (const batch of built.batches.slice(1))
		await table.add(new arrow.Table([batch]));
	for (const [predicate] of fixture.deletes || [])
		await table.delete(predicate);
	return table;
}

// Open the dataset in directory 'datasetDir' (any name) with LanceDB.
async function openDataset(scratch, datasetDir) {
	const openDir = path.join(scratch, 'open');
	fs.mkdirSync(openDir, { recursive: true });
	let name = path.basename(datasetDir).replace(/\.lance$/, '').replace(/[^A-Za-z0-9_-]/g, '_');
	const link = path.join(openDir, name + '.lance');
	if (fs.existsSync(link) && fs.realpathSync(link) !== fs.realpathSync(datasetDir))
		throw new Error(link + ' already points elsewhere');
	if (!fs.existsSync(link))
		fs.symlinkSync(path.resolve(datasetDir), link);
	const db = await lancedb.connect(openDir);
	return db.openTable(name);
}

// All rows of a table in row-id order, as canonical rows with '_rowid'.
async function dumpRows(table, types) {
	const result = await table.query().withRowId().toArrow();
	const rows = arrowRows(result, [['_rowid', 'uint64'], ...types]);
	rows.sort((a, b) => {
		const x = BigInt(a._rowid), y = BigInt(b._rowid);
		return x < y ? -1 : x > y ? 1 : 0;
	});
	return rows;
}

// (major, minor) of the footer of each data file of a dataset directory.
function dataFileVersions(datasetDir) {
	const dir = path.join(datasetDir, 'data');
	return fs.readdirSync(dir).filter((f) => f.endsWith('.lance')).sort().map((f) => {
		const buf = fs.readFileSync(path.join(dir, f));
		const tail = buf.subarray(buf.length - 8);
		if (tail.subarray(4).toString('latin1') !== 'LANC')
			throw new Error(f + ' does not end in LANC');
		return { file: f, major: tail.readUInt16LE(0), minor: tail.readUInt16LE(2), bytes: buf };
	});
}

module.exports = { lancedb, writeFixture, openDataset, dumpRows, dataFileVersions };
