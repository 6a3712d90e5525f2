// test/interop/lib/tap.js: the few TAP primitives the interop driver prints
// (one "ok"/"not ok" line per assertion, diagnostics as "# " lines, the plan
// at the end), the format scripts/test.sh counts.

'use strict';

let count = 0;
let failures = 0;

function diag(text) {
	for (const line of String(text).split('\n'))
		process.stdout.write('# ' + line + '\n');
}

// One assertion.  'problem' is null/undefined for a pass, or a message saying
// what differed (printed as diagnostics under the failing line).
function check(name, problem) {
	count++;
	if (problem === null || problem === undefined) {
		process.stdout.write('ok ' + count + ' - ' + name + '\n');
		return true;
	}
	failures++;
	process.stdout.write('not ok ' + count + ' - ' + name + '\n');
	diag(problem);
	return false;
}

function skip(name, reason) {
	count++;
	process.stdout.write('ok ' + count + ' - ' + name + ' # SKIP ' + reason + '\n');
}

// Run fn and turn an exception into a failed assertion 'name'.
async function guard(name, fn) {
	try {
		return await fn();
	} catch (e) {
		check(name, (e && e.stack) || String(e));
		return undefined;
	}
}

function done() {
	process.stdout.write('1..' + count + '\n');
	return failures;
}

module.exports = { check, skip, diag, guard, done };
