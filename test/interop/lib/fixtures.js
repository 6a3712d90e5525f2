// test/interop/lib/fixtures.js: the datasets LanceDB writes for the interop
// suite, described as data, so the same description gives both the Arrow
// input and the rows we expect any reader to return.
//
// Every fixture is a table created by LanceDB from one Arrow batch, grown by
// further add() calls (one fragment each) and shrunk by delete() predicates.
// Values come from a seeded generator: runs are reproducible, and the columns
// are shaped so LanceDB picks the encodings a reader must handle (small-range
// integers -> bitpacking, long varied strings -> FSST, few distinct strings
// -> dictionary, strings of 256 bytes or more and 512-byte vectors ->
// full-zip, a column with no values -> all-null pages).

'use strict';

const arrow = require('apache-arrow');
const { arrowRows, lanceTypeOf } = require('./canon');

// splitmix64-style generator; deterministic across machines.
function makeRng(seed) {
	let s = BigInt(seed) & 0xffffffffffffffffn;
	const next64 = () => {
		s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
		let z = s;
		z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
		z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
		return z ^ (z >> 31n);
	};
	const rng = {
		next64,
		u32: () => Number(next64() >> 32n),
		float: () => Number(next64() >> 11n) / 2 ** 53,
		int: (lo, hi) => lo + Math.floor(rng.float() * (hi - lo + 1)),
		chance: (p) => rng.float() < p,
	};
	return rng;
}

const WORDS = ('lance arrow vector column fragment manifest deletion bitmap page chunk ' +
	'buffer encoding dictionary zstd postgres index partition centroid query dataset ' +
	'version schema field offset footer').split(' ');
const CATEGORIES = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white'];

// A validity bitmap (LSB first) from a predicate, or undefined without nulls.
function bitmap(n, isNull) {
	const bits = new Uint8Array(Math.ceil(n / 8));
	let nulls = 0;
	for (let i = 0; i < n; i++) {
		if (isNull(i))
			nulls++;
		else
			bits[i >> 3] |= 1 << (i & 7);
	}
	return nulls ? { nullBitmap: bits, nullCount: nulls } : { nullCount: 0 };
}

function half(x) {
	// float16 bits of x via Float32 (inputs are exactly representable halves)
	const f = new Float32Array([x]);
	const b = new Uint32Array(f.buffer)[0];
	const sign = (b >>> 16) & 0x8000;
	const exp = ((b >>> 23) & 0xff) - 127 + 15;
	const frac = (b >>> 13) & 0x3ff;
	if (x === 0)
		return sign;
	if (exp <= 0)
		return sign | ((((b & 0x7fffff) | 0x800000) >>> (14 - exp)) & 0x3ff);
	return sign | (exp << 10) | frac;
}

function varData(type, n, strings, isNull) {
	const enc = strings.map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s)));
	const offsets = new Int32Array(n + 1);
	for (let i = 0; i < n; i++)
		offsets[i + 1] = offsets[i] + (isNull(i) ? 0 : enc[i].length);
	const bytes = new Uint8Array(offsets[n]);
	for (let i = 0; i < n; i++)
		if (!isNull(i))
			bytes.set(enc[i], offsets[i]);
	return arrow.makeData({ type, length: n, valueOffsets: offsets, data: bytes, ...bitmap(n, isNull) });
}

// Column builders: (rng, n, first row number) -> { field, data }.
const C = {
	int(name, ctor, Arr, gen, nullable = true, nullRate = 0.05) {
		return (rng, n, base) => {
			const vals = new Arr(n);
			const nul = [];
			for (let i = 0; i < n; i++) {
				vals[i] = gen(rng, base + i);
				nul.push(nullable && rng.chance(nullRate));
			}
			const type = new ctor();
			return {
				field: new arrow.Field(name, type, nullable),
				data: arrow.makeData({ type, length: n, data: vals, ...bitmap(n, (i) => nul[i]) }),
			};
		};
	},
	bool(name) {
		return (rng, n) => {
			const bits = new Uint8Array(Math.ceil(n / 8));
			const nul = [];
			for (let i = 0; i < n; i++) {
				if (rng.chance(0.4))
					bits[i >> 3] |= 1 << (i & 7);
				nul.push(rng.chance(0.1));
			}
			const type = new arrow.Bool();
			return {
				field: new arrow.Field(name, type, true),
				data: arrow.makeData({ type, length: n, data: bits, ...bitmap(n, (i) => nul[i]) }),
			};
		};
	},
	str(name, gen, nullRate = 0.05, type = new arrow.Utf8()) {
		return (rng, n, base) => {
			const vals = [], nul = [];
			for (let i = 0; i < n; i++) {
				vals.push(gen(rng, base + i));
				nul.push(rng.chance(nullRate));
			}
			return {
				field: new arrow.Field(name, type, true),
				data: varData(type, n, vals, (i) => nul[i] || nullRate >= 1),
			};
		};
	},
	fsl(name, dim, itemType, Arr, gen, nullRate = 0.05) {
		return (rng, n, base) => {
			const vals = new Arr(n * dim);
			const nul = [];
			for (let i = 0; i < n; i++) {
				for (let j = 0; j < dim; j++)
					vals[i * dim + j] = gen(rng, base + i, j);
				nul.push(rng.chance(nullRate));
			}
			const type = new arrow.FixedSizeList(dim, new arrow.Field('item', itemType, true));
			const child = arrow.makeData({ type: itemType, length: n * dim, data: vals, nullCount: 0 });
			return {
				field: new arrow.Field(name, type, true),
				data: arrow.makeData({ type, length: n, child, ...bitmap(n, (i) => nul[i]) }),
			};
		};
	},
	// list<float32>: null lists, empty lists and null items
	listf(name) {
		return (rng, n) => {
			const offsets = new Int32Array(n + 1), nul = [], items = [], itemNull = [];
			for (let i = 0; i < n; i++) {
				const isNull = rng.chance(0.05);
				nul.push(isNull);
				const len = isNull ? 0 : rng.int(0, 6);
				for (let j = 0; j < len; j++) {
					items.push(Math.fround((rng.float() - 0.5) * 100));
					itemNull.push(rng.chance(0.03));
				}
				offsets[i + 1] = items.length;
			}
			const itemType = new arrow.Float32();
			const child = arrow.makeData({ type: itemType, length: items.length,
				data: Float32Array.from(items), ...bitmap(items.length, (k) => itemNull[k]) });
			const type = new arrow.List(new arrow.Field('item', itemType, true));
			return {
				field: new arrow.Field(name, type, true),
				data: arrow.makeData({ type, length: n, valueOffsets: offsets, child,
					...bitmap(n, (i) => nul[i]) }),
			};
		};
	},
};

const words = (rng, lo, hi) => {
	const k = rng.int(lo, hi), out = [];
	for (let i = 0; i < k; i++)
		out.push(WORDS[rng.int(0, WORDS.length - 1)]);
	return out.join(' ');
};
const rand64 = (rng) => BigInt.asIntN(64, rng.next64());
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-40, 3.4e38, -1.5];

// Every type the suite covers, in one table.
const TYPES_COLUMNS = [
	C.int('id', arrow.Int64, BigInt64Array, (r, i) => BigInt(i), false),
	C.int('i8', arrow.Int8, Int8Array, (r) => r.int(-128, 127)),
	C.int('i16', arrow.Int16, Int16Array, (r) => r.int(-32768, 32767)),
	C.int('i32', arrow.Int32, Int32Array, (r) => r.int(0, 1000)),		/* bitpacks */
	C.int('i64', arrow.Int64, BigInt64Array, rand64),
	C.int('u8', arrow.Uint8, Uint8Array, (r) => r.int(0, 255)),
	C.int('u16', arrow.Uint16, Uint16Array, (r) => r.int(0, 65535)),
	C.int('u32', arrow.Uint32, Uint32Array, (r) => r.u32()),
	C.int('u64', arrow.Uint64, BigUint64Array, (r) => r.next64()),
	C.int('u64small', arrow.Uint64, BigUint64Array, (r, i) => BigInt(i % 77), false),
	C.int('f16', arrow.Float16, Uint16Array, (r) => half(r.int(-2048, 2048) / 16)),
	C.int('f32', arrow.Float32, Float32Array,
		(r, i) => (i % 97 === 5 ? SPECIAL[(i / 97 | 0) % SPECIAL.length] : (r.float() - 0.5) * 1e6)),
	C.int('f64', arrow.Float64, Float64Array,
		(r, i) => (i % 89 === 7 ? SPECIAL[(i / 89 | 0) % SPECIAL.length] : (r.float() - 0.5) * 1e12)),
	C.bool('b'),
	C.str('text', (r, i) => 'row ' + i + ': ' + words(r, 1, 8)),		/* FSST */
	C.str('cat', (r) => CATEGORIES[r.int(0, CATEGORIES.length - 1)]),	/* dictionary */
	C.str('uni', (r) => ['', 'é', '日本語', 'ok\n\t"q"\\', '🙂x'][r.int(0, 4)], 0.1),
	C.str('doc', (r, i) => (i % 50 === 0 ? words(r, 60, 90) : words(r, 0, 3)), 0.1),	/* >= 256 B: full-zip */
	C.str('nothing', () => '', 1),		/* every value null */
	C.str('bin', (r) => {
		const a = new Uint8Array(r.int(0, 24));
		for (let k = 0; k < a.length; k++)
			a[k] = r.int(0, 255);
		return a;
	}, 0.05, new arrow.Binary()),
	C.int('d', arrow.DateDay, Int32Array, (r) => r.int(-25000, 40000)),
	C.int('ts', arrow.TimestampMicrosecond, BigInt64Array,
		(r) => BigInt(r.int(-2e9, 4e9)) * 1000000n + BigInt(r.int(0, 999999))),
	(rng, n, base) => {
		const col = C.int('tstz', arrow.Int64, BigInt64Array,
			(r) => BigInt(r.int(0, 4e9)) * 1000000n + BigInt(r.int(0, 999999)))(rng, n, base);
		const type = new arrow.TimestampMicrosecond('UTC');
		return {
			field: new arrow.Field('tstz', type, true),
			data: arrow.makeData({ type, length: n, data: col.data.values,
				nullBitmap: col.data.nullBitmap, nullCount: col.data.nullCount }),
		};
	},
	C.fsl('v8', 8, new arrow.Float32(), Float32Array, (r) => (r.float() - 0.5) * 4),
	C.fsl('vh', 4, new arrow.Float16(), Uint16Array, (r) => half(r.int(-512, 512) / 8)),
	C.fsl('vu', 16, new arrow.Uint8(), Uint8Array, (r) => r.int(0, 255)),
	C.fsl('v128', 128, new arrow.Float32(), Float32Array, (r) => r.float() * 2 - 1, 0.02),	/* full-zip */
	C.listf('lf'),
];

// A narrower table for the fragment, deletion and row-id fixtures.
const SIMPLE_COLUMNS = [
	C.int('id', arrow.Int64, BigInt64Array, (r, i) => BigInt(i), false),
	C.fsl('vec', 16, new arrow.Float32(), Float32Array, (r) => r.float() * 2 - 1),
	C.str('text', (r, i) => 'item ' + i + ' ' + words(r, 0, 4), 0.1),
	C.int('score', arrow.Float64, Float64Array, (r) => r.float() * 100),
];

const SLIM_COLUMNS = [
	C.int('id', arrow.Int64, BigInt64Array, (r, i) => BigInt(i), false),
	C.int('x', arrow.Int32, Int32Array, (r) => r.int(-100000, 100000), true, 0.01),
];

// One Arrow batch of rows [base, base + n) of a column set.
function makeBatch(columns, seed, n, base) {
	const rng = makeRng(seed * 1000003 + base);
	const cols = columns.map((c) => c(rng, n, base));
	const schema = new arrow.Schema(cols.map((c) => c.field));
	return new arrow.RecordBatch(schema, arrow.makeData({
		type: new arrow.Struct(schema.fields), length: n, nullCount: 0,
		children: cols.map((c) => c.data),
	}));
}

// storage options per format name
const FORMATS = {
	default: {},
	'2.0': { new_table_data_storage_version: '2.0' },
	'2.1': { new_table_data_storage_version: '2.1' },
};

// The fixtures.  adds: row counts of the create and of each add (one fragment
// each); deletes: [SQL predicate, the same as a JS function of the id].
const FIXTURES = [
	{ name: 'types_default', columns: TYPES_COLUMNS, format: 'default', adds: [4000] },
	{ name: 'types_v20', columns: TYPES_COLUMNS, format: '2.0', adds: [4000] },
	{ name: 'types_v21', columns: TYPES_COLUMNS, format: '2.1', adds: [1500, 1500] },
	{
		name: 'frags_v21', columns: SIMPLE_COLUMNS, format: '2.1', adds: [1000, 1000, 1000, 1000],
		deletes: [['id % 10 = 3', (id) => id % 10n === 3n],
			['id >= 1000 AND id < 2000', (id) => id >= 1000n && id < 2000n],
			['id = 2500', (id) => id === 2500n]],
	},
	{
		name: 'frags_v20', columns: SIMPLE_COLUMNS, format: '2.0', adds: [1000, 1000, 1000, 1000],
		deletes: [['id % 10 = 3', (id) => id % 10n === 3n],
			['id >= 1000 AND id < 2000', (id) => id >= 1000n && id < 2000n],
			['id = 2500', (id) => id === 2500n]],
	},
	{
		name: 'stable_rowids', columns: SIMPLE_COLUMNS, format: 'default', adds: [500, 500, 500],
		stableRowIds: true,
		deletes: [['id % 5 = 0', (id) => id % 5n === 0n], ['id = 777', (id) => id === 777n]],
	},
	{
		// more than 5000 deleted rows in one fragment: lance writes a bitmap (.bin)
		name: 'bitmap_deletes', columns: SLIM_COLUMNS, format: 'default', adds: [12000, 100],
		deletes: [['id % 2 = 0 AND id < 12000', (id) => id % 2n === 0n && id < 12000n]],
	},
];

// Lance types of a fixture's columns, as a list of [name, type].
function columnTypes(fixture) {
	const batch = makeBatch(fixture.columns, 1, 1, 0);
	return batch.schema.fields.map((f) => [f.name, lanceTypeOf(arrow, f.type)]);
}

// Build a fixture's batches (one per create/add) and the rows that remain
// after its deletes, with the row ids LanceDB should report (_rowid: the row
// address, or the stable row id) and their row addresses (_rowaddr:
// fragment << 32 | offset; every create/add makes one fragment).
function buildFixture(fixture, seed = 42) {
	const batches = [];
	const types = columnTypes(fixture);
	let base = 0;
	const expected = [];
	fixture.adds.forEach((n, frag) => {
		const batch = makeBatch(fixture.columns, seed, n, base);
		batches.push(batch);
		arrowRows(new arrow.Table([batch]), types).forEach((row, off) => {
			const addr = (BigInt(frag) << 32n) | BigInt(off);
			const rowid = fixture.stableRowIds ? BigInt(base + off) : addr;
			expected.push({ _rowid: rowid.toString(), _rowaddr: addr.toString(), ...row });
		});
		base += n;
	});
	const dels = (fixture.deletes || []).map((d) => d[1]);
	const live = expected.filter((row) => !dels.some((f) => f(BigInt(row.id))));
	return { batches, types, expected: live };
}

module.exports = { FIXTURES, FORMATS, buildFixture, columnTypes, makeBatch, makeRng, half };
