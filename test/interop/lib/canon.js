// test/interop/lib/canon.js: one canonical form for a row of a Lance dataset,
// whoever produced it.
//
// Three producers feed the comparisons of the interop suite: the Arrow data we
// hand to LanceDB (the expected rows), the Arrow tables LanceDB returns, and
// the JSON lines our `lance-inspect dump` prints.  Each is turned into the
// same canonical row, a JSON string whose value per column is
//   ints, date32 (days), timestamp (microseconds)  decimal string of the exact integer
//   float16/32/64         the shortest decimal of the value at that precision
//                         (as a double), "NaN", "Infinity", "-Infinity", "-0"
//   bool                  true/false;  utf8  the string;  binary  lowercase hex
//   fixed_size_list, list an array of canonical items;  null  null
// so two producers agree exactly when their canonical strings are equal.
// Numbers in dumps are kept as their source text (our own JSON parser), so a
// 64-bit integer never passes through a double, and a float printed with
// enough digits by C ("%.9g") compares equal to the same float from Arrow.

'use strict';

// ---------------------------------------------------------------------------
// Column types, described the way Lance names them (logical type strings).
// ---------------------------------------------------------------------------

const INT_TYPES = new Set(['int8', 'int16', 'int32', 'int64',
	'uint8', 'uint16', 'uint32', 'uint64']);
const FLOAT_TYPES = new Set(['halffloat', 'float', 'double']);

// Lance logical type string of an apache-arrow DataType.
function lanceTypeOf(arrow, type) {
	const T = arrow.Type;
	switch (type.typeId) {
	case T.Bool: return 'bool';
	case T.Int: return (type.isSigned ? 'int' : 'uint') + type.bitWidth;
	case T.Float:
		return ['halffloat', 'float', 'double'][type.precision];
	case T.Utf8: return 'string';
	case T.Binary: return 'binary';
	case T.Date:
		if (type.unit !== arrow.DateUnit.DAY)
			throw new Error('only date32 is supported');
		return 'date32:day';
	case T.Timestamp:
		if (type.unit !== arrow.TimeUnit.MICROSECOND)
			throw new Error('only timestamp[us] is supported');
		return 'timestamp:us:' + (type.timezone ? type.timezone : '-');
	case T.FixedSizeList:
		return 'fixed_size_list:' + lanceTypeOf(arrow, type.children[0].type) + ':' + type.listSize;
	case T.List:
		return 'list<' + lanceTypeOf(arrow, type.children[0].type) + '>';
	default:
		throw new Error('type not covered by the interop suite: ' + type);
	}
}

// The item type of a list or fixed_size_list type string, else null.
function itemTypeOf(t) {
	let m = /^fixed_size_list:(.+):(\d+)$/.exec(t);
	if (m)
		return m[1];
	m = /^list<(.+)>$/.exec(t);
	return m ? m[1] : null;
}

// ---------------------------------------------------------------------------
// Floats at their own precision
// ---------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

function halfToNumber(bits) {
	const sign = bits & 0x8000 ? -1 : 1;
	const exp = (bits >> 10) & 0x1f;
	const frac = bits & 0x3ff;
	if (exp === 0)
		return sign * frac * Math.pow(2, -24);
	if (exp === 31)
		return frac ? NaN : sign * Infinity;
	return sign * (1 + frac / 1024) * Math.pow(2, exp - 15);
}

// Round a double to the nearest float16 (ties to even) and return it as a double.
function roundToHalf(x) {
	if (!isFinite(x) || x === 0)
		return x;
	const a = Math.abs(x);
	if (a >= 65520)
		return x > 0 ? Infinity : -Infinity;
	// quantum of the binade of a (subnormals share 2^-24)
	const e = Math.max(Math.floor(Math.log2(a)), -14);
	let q = Math.pow(2, e - 10);
	// log2 can be off by one near powers of two
	if (a >= Math.pow(2, e + 1))
		q *= 2;
	const n = a / q;
	let r = Math.round(n);
	if (Math.abs(n - Math.trunc(n) - 0.5) === 0 && r % 2 === 1)
		r -= 1;					/* ties to even */
	const v = r * q;
	return x < 0 ? -v : v;
}

function floatText(x) {
	if (Number.isNaN(x))
		return 'NaN';
	if (Object.is(x, -0))
		return '-0';
	return String(x);			/* 'Infinity', '-Infinity' or shortest decimal */
}

function roundTo(type, x) {
	if (type === 'float')
		return Math.fround(x);
	if (type === 'halffloat')
		return roundToHalf(x);
	return x;
}

// ---------------------------------------------------------------------------
// Canonical values from Arrow data (apache-arrow 18 Data objects)
// ---------------------------------------------------------------------------

function hex(bytes) {
	return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

// Canonical value of row i of one Arrow Data chunk whose Lance type is t.
// Buffer indexing follows apache-arrow's slicing rules: values and offsets
// are sliced with the data, bitmaps (validity, bool values) are not.
function arrowValue(data, t, i) {
	if (!data.getValid(i))
		return null;
	if (INT_TYPES.has(t) || t === 'date32:day' || t.startsWith('timestamp:'))
		return String(data.values[i]);
	if (t === 'halffloat')
		return floatText(halfToNumber(data.values[i]));
	if (FLOAT_TYPES.has(t))
		return floatText(data.values[i]);
	if (t === 'bool') {
		const pos = data.offset + i;
		return (data.values[pos >> 3] >> (pos & 7) & 1) === 1;
	}
	if (t === 'string' || t === 'binary') {
		const start = data.valueOffsets[i], end = data.valueOffsets[i + 1];
		const bytes = data.values.subarray(start, end);
		return t === 'string' ? Buffer.from(bytes).toString('utf8') : hex(bytes);
	}
	const item = itemTypeOf(t);
	if (item === null)
		throw new Error('unexpected type ' + t);
	const child = data.children[0];
	let start, end;
	if (t.startsWith('fixed_size_list:')) {
		const n = data.type.listSize;
		start = i * n;
		end = start + n;
	} else {
		start = data.valueOffsets[i];
		end = data.valueOffsets[i + 1];
	}
	const out = [];
	for (let j = start; j < end; j++)
		out.push(arrowValue(child, item, j));
	return out;
}

// Rows of an apache-arrow Table as objects {column: canonical value}, for the
// named columns whose Lance types are given (a Map name -> type).  A column
// '_rowid' (uint64) is included when present and requested.
function arrowRows(table, columns) {
	const rows = [];
	for (const batch of table.batches) {
		const datas = new Map();
		for (const [name] of columns) {
			const idx = batch.schema.fields.findIndex((f) => f.name === name);
			if (idx < 0)
				throw new Error('column ' + name + ' is missing from the Arrow result');
			datas.set(name, batch.data.children[idx]);
		}
		for (let i = 0; i < batch.numRows; i++) {
			const row = {};
			for (const [name, t] of columns)
				row[name] = arrowValue(datas.get(name), t, i);
			rows.push(row);
		}
	}
	return rows;
}

// ---------------------------------------------------------------------------
// Canonical values from JSON text (what our C tools print)
// ---------------------------------------------------------------------------

// A JSON parser that keeps every number as its source text ({num: '...'}).
function parseJsonExact(text) {
	let p = 0;
	const fail = (what) => {
		throw new Error('bad JSON at offset ' + p + ': ' + what);
	};
	const ws = () => {
		while (p < text.length && ' \t\r\n'.includes(text[p]))
			p++;
	};
	function value() {
		ws();
		const c = text[p];
		if (c === '{') {
			p++;
			const obj = {};
			ws();
			if (text[p] === '}') {
				p++;
				return obj;
			}
			for (;;) {
				ws();
				if (text[p] !== '"')
					fail('expected a key');
				const k = str();
				ws();
				if (text[p++] !== ':')
					fail('expected :');
				obj[k] = value();
				ws();
				if (text[p] === ',') {
					p++;
					continue;
				}
				if (text[p++] !== '}')
					fail('expected , or }');
				return obj;
			}
		}
		if (c === '[') {
			p++;
			const arr = [];
			ws();
			if (text[p] === ']') {
				p++;
				return arr;
			}
			for (;;) {
				arr.push(value());
				ws();
				if (text[p] === ',') {
					p++;
					continue;
				}
				if (text[p++] !== ']')
					fail('expected , or ]');
				return arr;
			}
		}
		if (c === '"')
			return str();
		for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
			if (text.startsWith(word, p)) {
				p += word.length;
				return v;
			}
		}
		const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(p, p + 64));
		if (!m)
			fail('unexpected character');
		p += m[0].length;
		return { num: m[0] };
	}
	function str() {
		const start = p;
		p++;
		while (p < text.length && text[p] !== '"')
			p += text[p] === '\\' ? 2 : 1;
		if (p >= text.length)
			fail('unterminated string');
		p++;
		return JSON.parse(text.slice(start, p));
	}
	const v = value();
	ws();
	if (p !== text.length)
		fail('trailing characters');
	return v;
}

function intFrom(v, what) {
	if (v !== null && typeof v === 'object' && 'num' in v && /^-?\d+$/.test(v.num))
		return BigInt(v.num).toString();
	if (typeof v === 'string' && /^-?\d+$/.test(v))
		return BigInt(v).toString();
	throw new Error('expected an integer for ' + what + ' but found ' + JSON.stringify(v));
}

function daysFromDate(s) {
	const m = /^(-?\d{4,})-(\d\d)-(\d\d)$/.exec(s);
	return m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) / 86400000 : null;
}

// "2024-01-02T03:04:05.123456Z" (or without Z / fraction) -> microseconds.
function microsFromIso(s) {
	const m = /^(-?\d{4,})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]00:?00)?$/.exec(s);
	if (!m)
		return null;
	const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
	return (BigInt(ms) * 1000n + BigInt((m[7] || '').padEnd(6, '0'))).toString();
}

// Canonical value of a parsed JSON value whose Lance type is t.
function jsonValue(v, t, what) {
	if (v === null)
		return null;
	if (INT_TYPES.has(t))
		return intFrom(v, what);
	if (FLOAT_TYPES.has(t)) {
		let x;
		if (typeof v === 'object' && 'num' in v)
			x = Number(v.num);
		else if (typeof v === 'string' && /^[+-]?(nan|inf|infinity)$/i.test(v))
			x = /nan/i.test(v) ? NaN : (v.startsWith('-') ? -Infinity : Infinity);
		else
			throw new Error('expected a number for ' + what + ' but found ' + JSON.stringify(v));
		return floatText(roundTo(t, x));
	}
	if (t === 'bool') {
		if (typeof v !== 'boolean')
			throw new Error('expected a boolean for ' + what + ' but found ' + JSON.stringify(v));
		return v;
	}
	if (t === 'string') {
		if (typeof v !== 'string')
			throw new Error('expected a string for ' + what + ' but found ' + JSON.stringify(v));
		return v;
	}
	if (t === 'binary') {
		if (typeof v === 'string' && /^([0-9a-fA-F]{2})*$/.test(v))
			return v.toLowerCase();
		if (Array.isArray(v))
			return hex(Uint8Array.from(v.map((b) => Number(intFrom(b, what)))));
		throw new Error('expected hex bytes for ' + what + ' but found ' + JSON.stringify(v));
	}
	if (t === 'date32:day') {
		if (typeof v === 'string' && daysFromDate(v) !== null)
			return String(daysFromDate(v));
		return intFrom(v, what);
	}
	if (t.startsWith('timestamp:')) {
		if (typeof v === 'string' && microsFromIso(v) !== null)
			return microsFromIso(v);
		return intFrom(v, what);
	}
	const item = itemTypeOf(t);
	if (item === null)
		throw new Error('unexpected type ' + t);
	if (!Array.isArray(v))
		throw new Error('expected an array for ' + what + ' but found ' + JSON.stringify(v));
	return v.map((x, j) => jsonValue(x, item, what + '[' + j + ']'));
}

// ---------------------------------------------------------------------------
// Rows as comparable lines
// ---------------------------------------------------------------------------

// One canonical line per row: the values in column order, as JSON.
function rowLine(row, columns) {
	return JSON.stringify(columns.map(([name]) => row[name]));
}

// Compare two lists of rows; null if equal, else a message naming the first
// differing row and column.
function compareRows(actual, expected, columns, labels) {
	const [la, le] = labels || ['got', 'expected'];
	const n = Math.min(actual.length, expected.length);
	for (let i = 0; i < n; i++) {
		const a = rowLine(actual[i], columns), e = rowLine(expected[i], columns);
		if (a === e)
			continue;
		let col = '';
		for (const [name] of columns) {
			if (JSON.stringify(actual[i][name]) !== JSON.stringify(expected[i][name])) {
				col = name;
				break;
			}
		}
		const clip = (s) => (s.length > 400 ? s.slice(0, 400) + '...' : s);
		const x = actual[i][col], y = expected[i][col];
		if (Array.isArray(x) && Array.isArray(y)) {
			const j = x.findIndex((v, k) => JSON.stringify(v) !== JSON.stringify(y[k]));
			col += j < 0 ? ' (lengths ' + x.length + ' and ' + y.length + ')'
				: ' item ' + j + ' (' + JSON.stringify(x[j]) + ' vs ' + JSON.stringify(y[j]) + ')';
		}
		return 'first difference at row ' + i + ', column ' + col + ':\n' +
			la + ':      ' + clip(JSON.stringify(actual[i][col])) + '\n' +
			le + ': ' + clip(JSON.stringify(expected[i][col])) + '\n' +
			la + ' row:      ' + clip(a) + '\n' + le + ' row: ' + clip(e);
	}
	if (actual.length !== expected.length)
		return la + ' ' + actual.length + ' rows but ' + le + ' ' + expected.length +
			' rows (the first ' + n + ' agree)';
	return null;
}

module.exports = {
	lanceTypeOf, itemTypeOf, arrowValue, arrowRows, parseJsonExact, jsonValue,
	compareRows, rowLine, halfToNumber, roundToHalf, floatText,
};
