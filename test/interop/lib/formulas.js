// test/interop/lib/formulas.js: the tables our writer (write_dataset.c)
// writes, as formulas of the row number.
//
// write_dataset.c computes exactly the same values in C, so the suite knows
// every value LanceDB must read back without passing data between the two
// programs, and LanceDB can be given the same input for the byte-identity
// checks.  Every float is a multiple of a power of two small enough to be
// exact in float32 (or float16), so C and JavaScript cannot round apart.
// Keep this file and write_dataset.c in step.

'use strict';

const arrow = require('apache-arrow');
const { half } = require('./fixtures');

// The kinds of table write_dataset knows.
//   wide          every type our writer supports, with nulls, null items in
//                 a list and in a fixed-size list (part B)
//   simple        id int64 not null, vec fsl<float,128> (no nulls), text utf8 with nulls (part C)
//   simple_nullvec  the same with null vec rows and no null text (part C)
const KINDS = {
	wide: { dim: 32, nullVec: true, nullText: true, wide: true },
	simple: { dim: 128, nullVec: false, nullText: true, wide: false },
	simple_nullvec: { dim: 128, nullVec: true, nullText: false, wide: false },
};

const vecItem = (i, j) => ((i * 37 + j * 11) % 401 - 200) / 32;
const vecNull = (k, i) => k.nullVec && i % 11 === 4;
const textValue = (i) => 'row ' + i + ' ' + 'x'.repeat(i % 7);
const textNull = (k, i) => (k.nullText ? i % 5 === 2 : false);
const TS_BASE = 1600000000000000n;
const listNull = (i) => i % 5 === 2;
const listLen = (i) => (i % 5 === 4 ? 0 : i % 4 + 1);
const listItem = (i, j) => ((i * 7 + j * 3) % 50 - 25) / 4;
const listItemNull = (i, j) => (i + j) % 6 === 5;
const nvItem = (i, j) => ((i * 5 + j * 13) % 60 - 30) / 8;

// Arrow batch of rows [first, first + n) of a kind.
function formulaBatch(kindName, first, n) {
	const k = KINDS[kindName];
	const rows = Array.from({ length: n }, (_, r) => first + r);
	// validity of 'len' slots, slot k null when isNullAt(k)
	const bitmapOf = (len, isNullAt) => {
		const b = new Uint8Array(Math.ceil(len / 8));
		let nulls = 0;
		for (let k = 0; k < len; k++)
			isNullAt(k) ? nulls++ : (b[k >> 3] |= 1 << (k & 7));
		return nulls ? { nullBitmap: b, nullCount: nulls } : { nullCount: 0 };
	};
	const bits = (isNull) => bitmapOf(n, (r) => isNull(rows[r]));
	const fields = [], datas = [];
	const add = (name, type, nullable, props) => {
		fields.push(new arrow.Field(name, type, nullable));
		datas.push(arrow.makeData({ type, length: n, ...props }));
	};
	// itemNull(i, j): item j of row i is null (in null rows too); none if omitted
	const fsl = (name, dim, itemType, Arr, item, isNull, itemNull = () => false) => {
		const vals = new Arr(n * dim);
		rows.forEach((i, r) => {
			for (let j = 0; j < dim; j++)
				vals[r * dim + j] = item(i, j);
		});
		const type = new arrow.FixedSizeList(dim, new arrow.Field('item', itemType, true));
		const child = arrow.makeData({ type: itemType, length: n * dim, data: vals,
			...bitmapOf(n * dim, (t) => itemNull(rows[Math.floor(t / dim)], t % dim)) });
		add(name, type, true, { child, ...bits(isNull) });
	};
	const varlen = (name, type, value, isNull) => {
		const enc = rows.map((i) => (isNull(i) ? Buffer.alloc(0) : Buffer.from(value(i))));
		const offsets = new Int32Array(n + 1);
		enc.forEach((b, r) => (offsets[r + 1] = offsets[r] + b.length));
		add(name, type, true, { valueOffsets: offsets, data: new Uint8Array(Buffer.concat(enc)), ...bits(isNull) });
	};

	add('id', new arrow.Int64(), false, { data: BigInt64Array.from(rows, BigInt), nullCount: 0 });
	fsl('vec', k.dim, new arrow.Float32(), Float32Array, vecItem, (i) => vecNull(k, i));
	varlen('text', new arrow.Utf8(), textValue, (i) => textNull(k, i));
	if (k.wide) {
		add('i32', new arrow.Int32(), true,
			{ data: Int32Array.from(rows, (i) => (i * 7919) % 100003 - 50000), ...bits((i) => i % 13 === 0) });
		add('f64', new arrow.Float64(), true, { data: Float64Array.from(rows, (i) => i * 0.25 - 100.5), nullCount: 0 });
		const flags = new Uint8Array(Math.ceil(n / 8));
		rows.forEach((i, r) => i % 3 === 0 && (flags[r >> 3] |= 1 << (r & 7)));
		add('flag', new arrow.Bool(), true, { data: flags, ...bits((i) => i % 17 === 5) });
		add('d', new arrow.DateDay(), true, { data: Int32Array.from(rows, (i) => 18000 + i), ...bits((i) => i % 19 === 0) });
		add('ts', new arrow.TimestampMicrosecond(), true,
			{ data: BigInt64Array.from(rows, (i) => TS_BASE + BigInt(i) * 1000001n), nullCount: 0 });
		varlen('bin', new arrow.Binary(), (i) => Uint8Array.from({ length: i % 5 }, (_, j) => (i + 7 * j) & 255),
			(i) => i % 23 === 1);
		add('h', new arrow.Float16(), true,
			{ data: Uint16Array.from(rows, (i) => half((i % 200 - 100) / 4)), ...bits((i) => i % 29 === 3) });
		fsl('u8v', 8, new arrow.Uint8(), Uint8Array, (i, j) => (i + j * 31) & 255, () => false);
		// lf list<float32>: null lists, empty lists and null items
		const offsets = new Int32Array(n + 1), items = [], itemNulls = [];
		rows.forEach((i, r) => {
			for (let j = 0; !listNull(i) && j < listLen(i); j++) {
				items.push(listItem(i, j));
				itemNulls.push(listItemNull(i, j));
			}
			offsets[r + 1] = items.length;
		});
		const f32 = new arrow.Float32();
		const child = arrow.makeData({ type: f32, length: items.length, data: Float32Array.from(items),
			...bitmapOf(items.length, (t) => itemNulls[t]) });
		add('lf', new arrow.List(new arrow.Field('item', f32, true)), true,
			{ valueOffsets: offsets, child, ...bits(listNull) });
		// nv fixed_size_list<float32, 4> with null rows and null items
		fsl('nv', 4, f32, Float32Array, nvItem, (i) => i % 7 === 3, (i, j) => (i * 4 + j) % 5 === 2);
	}
	const schema = new arrow.Schema(fields);
	return new arrow.RecordBatch(schema, arrow.makeData({
		type: new arrow.Struct(fields), length: n, nullCount: 0, children: datas,
	}));
}

// The vector of row i (null for a null row) as numbers, for brute force.
function formulaVector(kindName, i) {
	const k = KINDS[kindName];
	if (vecNull(k, i))
		return null;
	return Array.from({ length: k.dim }, (_, j) => vecItem(i, j));
}

module.exports = { KINDS, formulaBatch, formulaVector };
