// test/interop/lib/inspect.js: run our CLI, `lance-inspect dump`, and read
// its JSON lines (format: tools/README.md) as canonical rows.

'use strict';

const { execFileSync } = require('child_process');
const { parseJsonExact, jsonValue } = require('./canon');

// Rows of `lance-inspect dump --with-rowaddr` (format: tools/README.md) of a
// dataset, canonicalised with the given column types ([name, lance type]);
// extraArgs e.g. ['--version', '1'].  Throws on a malformed dump.
function inspectRows(binary, datasetDir, types, extraArgs = []) {
	const out = execFileSync(binary, ['dump', datasetDir, '--with-rowaddr', ...extraArgs],
		{ encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
	const rows = [];
	const lines = out.split('\n');
	if (lines.pop() !== '')
		throw new Error('the dump does not end in a newline');
	const keys = JSON.stringify(['_rowaddr', ...types.map(([name]) => name)]);
	lines.forEach((line, n) => {
		const where = 'line ' + (n + 1);
		const obj = parseJsonExact(line);
		if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
			throw new Error(where + ' is not a JSON object: ' + line.slice(0, 200));
		if (JSON.stringify(Object.keys(obj)) !== keys)
			throw new Error(where + ' has keys ' + JSON.stringify(Object.keys(obj)) + ', expected ' + keys);
		const row = { _rowaddr: jsonValue(obj._rowaddr, 'uint64', where + ' _rowaddr') };
		for (const [name, t] of types)
			row[name] = jsonValue(obj[name], t, where + ' column ' + name);
		rows.push(row);
	});
	return rows;
}

module.exports = { inspectRows };
