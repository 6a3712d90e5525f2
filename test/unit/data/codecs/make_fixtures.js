// make_fixtures.js: have the real LanceDB (npm @lancedb/lancedb 0.31.0, lance
// 8.0.0) write small tables whose columns trigger each 2.1 compressive
// encoding, pull the page buffers back out of the data files with a tiny
// throwaway parser, and store SMALL fixtures (chunk bytes + the values LanceDB
// was given) for the C codec tests.  See README.md beside this file.
//
// Usage (outside the repo, after `npm i -E @lancedb/lancedb@0.31.0 apache-arrow@18.1.0`):
//   NODE_PATH=<scratch>/node_modules node make_fixtures.js <scratch dir> <output dir>
//
// Fixture file format (*.fix), read by test/unit/codec_fixture.h: a sequence of
// records `u8 name_len | name | u32 LE data_len | data`.  Every file has
// "desc" (the encoding tree as text, for people), "encoding" (the
// CompressiveEncoding protobuf bytes as LanceDB wrote them) and the
// per-case records named in the comments below.
'use strict';
const fs = require('fs');
const path = require('path');
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');

const scratch = path.resolve(process.argv[2] || '.');
const outDir = path.resolve(process.argv[3] || '.');

// ---------------------------------------------------------------- protobuf
function varint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}
// Returns {field: [values]}; varints as BigInt, length-delimited as Buffer.
function pb(buf) {
  const out = {};
  let pos = 0;
  while (pos < buf.length) {
    let key; [key, pos] = varint(buf, pos);
    const f = Number(key >> 3n), wt = Number(key & 7n);
    let val;
    if (wt === 0) { [val, pos] = varint(buf, pos); }
    else if (wt === 2) { let len; [len, pos] = varint(buf, pos); val = buf.subarray(pos, pos + Number(len)); pos += Number(len); }
    else if (wt === 1) { val = buf.readBigUInt64LE(pos); pos += 8; }
    else if (wt === 5) { val = BigInt(buf.readUInt32LE(pos)); pos += 4; }
    else throw new Error('wire type ' + wt);
    (out[f] = out[f] || []).push(val);
  }
  return out;
}
function packed(vals) {
  const res = [];
  for (const v of vals || []) {
    if (typeof v === 'bigint') { res.push(v); continue; }
    let pos = 0;
    while (pos < v.length) { let x; [x, pos] = varint(v, pos); res.push(x); }
  }
  return res;
}
const one = (m, f, d) => (m[f] ? m[f][m[f].length - 1] : d);
const num = (m, f) => Number(one(m, f, 0n));

// CompressiveEncoding -> readable text
function bc(b) { if (!b) return ''; const m = pb(b); return `{scheme:${num(m, 1)}${m[2] ? ',level:' + num(m, 2) : ''}}`; }
function ce(b) {
  if (!b) return '-';
  const m = pb(b);
  const k = Number(Object.keys(m)[0]);
  const s = pb(m[k][0]);
  switch (k) {
    case 1: return `flat(${num(s, 1)}${s[2] ? ',' + bc(one(s, 2)) : ''})`;
    case 2: return `variable(${ce(one(s, 1))}${s[2] ? ',' + bc(one(s, 2)) : ''})`;
    case 3: return `constant(${s[1] ? one(s, 1).toString('hex') : ''})`;
    case 4: return `out_of_line_bitpacking(${num(s, 1)},${ce(one(s, 3))})`;
    case 5: return `inline_bitpacking(${num(s, 1)}${s[2] ? ',' + bc(one(s, 2)) : ''})`;
    case 6: return `fsst(table ${one(s, 1).length} bytes,${ce(one(s, 2))})`;
    case 7: return `dictionary(${ce(one(s, 1))},${ce(one(s, 2))},${num(s, 3)})`;
    case 8: return `rle(${ce(one(s, 1))},${ce(one(s, 2))})`;
    case 9: return `byte_stream_split(${ce(one(s, 1))})`;
    case 10: return `general(${bc(one(s, 1))},${ce(one(s, 3))})`;
    case 11: return `fixed_size_list(${num(s, 1)},${ce(one(s, 2))})`;
    default: return `compression#${k}`;
  }
}
// The innermost message of a CompressiveEncoding: [kind, fields]
function ceParts(b) { const m = pb(b); const k = Number(Object.keys(m)[0]); return [k, pb(m[k][0])]; }

// ---------------------------------------------------------------- file
function readLance(file) {
  const buf = fs.readFileSync(file);
  const f = buf.length - 40;
  const gbo = Number(buf.readBigUInt64LE(f + 16));
  const ncols = buf.readUInt32LE(f + 28);
  const major = buf.readUInt16LE(f + 32), minor = buf.readUInt16LE(f + 34);
  const cmo = gbo - 16 * ncols;
  const cols = [];
  for (let c = 0; c < ncols; c++) {
    const pos = Number(buf.readBigUInt64LE(cmo + 16 * c)), len = Number(buf.readBigUInt64LE(cmo + 16 * c + 8));
    const cm = pb(buf.subarray(pos, pos + len));
    const pages = (cm[2] || []).map((pbuf) => {
      const p = pb(pbuf);
      const offs = packed(p[1]).map(Number), sizes = packed(p[2]).map(Number);
      const direct = pb(one(pb(one(p, 4)), 2));
      const any = pb(one(direct, 1));
      return { rows: num(p, 3), type: one(any, 1).toString(), layout: one(any, 2),
        buffers: offs.map((o, i) => buf.subarray(o, o + sizes[i])) };
    });
    cols.push(pages);
  }
  return { version: `${major}.${minor}`, cols };
}

// Splits a 2.1 mini-block page into chunks: [{nvals, levels, rep, def, bufs[]}]
function miniblockChunks(page, mb, totalItems) {
  const meta = page.buffers[0], data = page.buffers[1];
  const hasRep = !!mb[1], hasDef = !!mb[2], nbuf = num(mb, 7);
  const chunks = [];
  let off = 0, seen = 0;
  const pad8 = (x) => (x + 7) & ~7;
  for (let i = 0; i < meta.length / 2; i++) {
    const w = meta.readUInt16LE(2 * i);
    const bytes = ((w >> 4) + 1) * 8, log = w & 15;
    const last = i === meta.length / 2 - 1;
    const nvals = last && log === 0 ? totalItems - seen : 1 << log;
    seen += nvals;
    const c = data.subarray(off, off + bytes);
    let p = 0;
    const levels = c.readUInt16LE(p); p += 2;
    const repBytes = hasRep ? c.readUInt16LE((p += 2) - 2) : 0;
    const defBytes = hasDef ? c.readUInt16LE((p += 2) - 2) : 0;
    const sizes = [];
    for (let b = 0; b < nbuf; b++) { sizes.push(c.readUInt16LE(p)); p += 2; }
    p = pad8(p);
    const rep = c.subarray(p, p + repBytes); if (hasRep) p = pad8(p + repBytes);
    const def = c.subarray(p, p + defBytes); if (hasDef) p = pad8(p + defBytes);
    const bufs = [];
    for (const s of sizes) { bufs.push(c.subarray(p, p + s)); p = pad8(p + s); }
    chunks.push({ nvals, levels, rep, def, bufs });
    off += bytes;
  }
  return chunks;
}

// ---------------------------------------------------------------- fixtures
function record(name, data) {
  const n = Buffer.from(name);
  const h = Buffer.alloc(5 + n.length);
  h[0] = n.length; n.copy(h, 1); h.writeUInt32LE(data.length, 1 + n.length);
  return Buffer.concat([h, data]);
}
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
function writeFixture(name, recs) {
  const body = Buffer.concat(recs.map(([n, d]) => record(n, typeof d === 'string' ? Buffer.from(d) : d)));
  fs.writeFileSync(path.join(outDir, name + '.fix'), body);
  console.log(`${name}.fix: ${body.length} bytes (${recs.map(([n, d]) => n + ':' + d.length).join(' ')})`);
}

function rng(seed) { // mulberry32
  return () => { seed = (seed + 0x6d2b79f5) | 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function field(name, type, nullable, meta) { return new arrow.Field(name, type, nullable, meta ? new Map(Object.entries(meta)) : undefined); }
function table(fields, columns) {
  const schema = new arrow.Schema(fields);
  const data = {};
  fields.forEach((f, i) => { data[f.name] = arrow.vectorFromArray(columns[i], f.type); });
  return new arrow.Table(schema, data);
}

async function writeTable(db, name, tbl, version) {
  const opts = { mode: 'overwrite' };
  if (version) opts.storageOptions = { new_table_data_storage_version: version };
  await db.createTable(name, tbl, opts);
  const dir = path.join(scratch, 'db', name + '.lance', 'data');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.lance'));
  if (files.length !== 1) throw new Error(`${name}: expected one data file`);
  return readLance(path.join(dir, files[0]));
}

function layoutOf(page) {
  const pl = pb(page.layout);
  if (pl[1]) return ['mini', pb(one(pl, 1))];
  if (pl[3]) return ['fullzip', pb(one(pl, 3))];
  return ['other', pl];
}

// Typed little-endian bytes of an integer/float column
function bytesOf(values, width, kind) {
  const b = Buffer.alloc(values.length * width);
  values.forEach((v, i) => {
    if (kind === 'f') width === 8 ? b.writeDoubleLE(v, 8 * i) : b.writeFloatLE(v, 4 * i);
    else if (width === 8) b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), 8 * i);
    else if (width === 4) b.writeUInt32LE(Number(BigInt.asUintN(32, BigInt(v))), 4 * i);
    else if (width === 2) b.writeUInt16LE(Number(BigInt.asUintN(16, BigInt(v))), 2 * i);
    else b.writeUInt8(Number(BigInt.asUintN(8, BigInt(v))), i);
  });
  return b;
}
// Arrow-style strings: u32 offsets (n+1) then bytes
function stringsOf(values) {
  const parts = values.map((s) => Buffer.from(s == null ? '' : s));
  const offs = Buffer.alloc(4 * (parts.length + 1));
  let o = 0;
  parts.forEach((p, i) => { o += p.length; offs.writeUInt32LE(o, 4 * (i + 1)); });
  return [offs, Buffer.concat(parts)];
}

// Records for every chunk of a mini-block page: chunk.N.nvals (u32),
// chunk.N.levels (u32), chunk.N.def, chunk.N.buf.B, plus dictionary when present.
function chunkRecords(page, mb, rows, maxChunks) {
  const recs = [];
  const chunks = miniblockChunks(page, mb, num(mb, 9));
  const keep = Math.min(chunks.length, maxChunks || chunks.length);
  recs.push(['nchunks', u32(keep)]);
  for (let i = 0; i < keep; i++) {
    const c = chunks[i];
    recs.push([`chunk.${i}.nvals`, u32(c.nvals)], [`chunk.${i}.levels`, u32(c.levels)]);
    if (mb[2]) recs.push([`chunk.${i}.def`, c.def]);
    c.bufs.forEach((b, j) => recs.push([`chunk.${i}.buf.${j}`, b]));
  }
  return [recs, chunks];
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const db = await lancedb.connect(path.join(scratch, 'db'));
  const summary = [];
  const note = (s) => { summary.push(s); console.log(s); };

  // ---- bitpacking: 2500 rows, chunk widths chosen per 1024-value chunk
  {
    const n = 1100, r = rng(1);
    const i64 = [], i32 = [], i16 = [], u8 = [];
    for (let i = 0; i < n; i++) {
      // chunk 0 (1024 values) is wide, the short last chunk (76 values, padded to 1024) narrow
      const first = i < 1024;
      i64.push(first ? Math.floor(r() * 2 ** 37) : Math.floor(r() * 8));
      i32.push(first ? Math.floor(r() * 2 ** 17) : Math.floor(r() * 512));
      i16.push(first ? Math.floor(r() * 512) : Math.floor(r() * 4));
      u8.push(first ? Math.floor(r() * 32) : Math.floor(r() * 2));
    }
    const t = table([field('i64', new arrow.Int64(), false), field('i32', new arrow.Int32(), false),
      field('i16', new arrow.Int16(), false), field('u8', new arrow.Uint8(), false)],
    [i64.map(BigInt), Int32Array.from(i32), Int16Array.from(i16), Uint8Array.from(u8)]);
    const f = await writeTable(db, 'bitpack', t);
    const spec = [['i64', i64, 8], ['i32', i32, 4], ['i16', i16, 2], ['u8', u8, 1]];
    spec.forEach(([name, vals, w], c) => {
      const page = f.cols[c][0];
      const [, mb] = layoutOf(page);
      const enc = one(mb, 3);
      note(`bitpack ${name}: file ${f.version}, ${ce(enc)}`);
      const [recs] = chunkRecords(page, mb, n);
      writeFixture(`inline_bitpack_${name}`, [['desc', ce(enc)], ['encoding', enc], ...recs,
        ['expected', bytesOf(vals, w, 'i')]]);
    });
  }

  // ---- FSST strings with nulls (def levels: out-of-line bitpacking)
  {
    const n = 3000, r = rng(2);
    const words = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'tempor'];
    const text = [];
    for (let i = 0; i < n; i++) {
      if (i % 7 === 3) { text.push(null); continue; }
      let s = `row ${i}:`;
      const k = 3 + Math.floor(r() * 8);
      for (let j = 0; j < k; j++) s += ' ' + words[Math.floor(r() * words.length)];
      if (i % 11 === 0) s += ' \u00e9\u00e8\u4e2d\u{1F600}'; // non-ASCII bytes, escapes
      text.push(s);
    }
    const t = table([field('text', new arrow.Utf8(), true)], [text]);
    const f = await writeTable(db, 'fsst', t);
    const page = f.cols[0][0];
    const [, mb] = layoutOf(page);
    const enc = one(mb, 3), defEnc = one(mb, 2);
    note(`fsst text: ${ce(enc)}; def ${ce(defEnc)}; layers ${packed(mb[6])}`);
    const [recs, chunks] = chunkRecords(page, mb, n, 1);
    const nkeep = chunks[0].nvals;
    const [offs, bytes] = stringsOf(text.slice(0, nkeep));
    const valid = Buffer.from(text.slice(0, nkeep).map((s) => (s == null ? 1 : 0)));
    writeFixture('fsst_text', [['desc', `${ce(enc)}; def ${ce(defEnc)}`], ['encoding', enc], ['def_encoding', defEnc || Buffer.alloc(0)],
      ...recs, ['expected.offsets', offs], ['expected.bytes', bytes], ['expected.def', valid]]);
  }

  // ---- dictionary: low-cardinality strings
  {
    const n = 5000;
    const cats = ['red', 'green', 'blue', 'cyan', 'magenta', 'yellow', 'black', 'white', 'orange', 'purple', 'grey'];
    const vals = []; for (let i = 0; i < n; i++) vals.push(cats[(i * 7 + (i >> 3)) % cats.length]);
    const t = table([field('cat', new arrow.Utf8(), false)], [vals]);
    const f = await writeTable(db, 'dict', t);
    const page = f.cols[0][0];
    const [, mb] = layoutOf(page);
    const enc = one(mb, 3), dictEnc = one(mb, 4);
    note(`dict cat: values ${ce(enc)}; dictionary ${dictEnc ? ce(dictEnc) : '-'} items ${num(mb, 5)}; buffers ${page.buffers.length}`);
    const [recs, chunks] = chunkRecords(page, mb, n, 1);
    const nkeep = chunks[0].nvals;
    const [offs, bytes] = stringsOf(vals.slice(0, nkeep));
    writeFixture('dict_strings', [['desc', `${ce(enc)}; dictionary ${ce(dictEnc)}`], ['encoding', enc],
      ['dict_encoding', dictEnc], ['num_dict_items', u32(num(mb, 5))], ['dictionary', page.buffers[2]], ...recs,
      ['expected.offsets', offs], ['expected.bytes', bytes]]);
  }

  // ---- RLE: long runs
  {
    const n = 1200;
    const a = [], b = [];
    for (let i = 0; i < n; i++) { a.push(Math.floor(i / 40) * 3 - 50); b.push(BigInt(Math.floor(i / 300)) * 1000000007n); }
    const t = table([field('r32', new arrow.Int32(), false), field('r64', new arrow.Int64(), false)], [Int32Array.from(a), b]);
    const f = await writeTable(db, 'rle', t);
    [['r32', a, 4], ['r64', b, 8]].forEach(([name, vals, w], c) => {
      const page = f.cols[c][0];
      const [, mb] = layoutOf(page);
      const enc = one(mb, 3);
      note(`rle ${name}: ${ce(enc)}`);
      const [recs] = chunkRecords(page, mb, n);
      writeFixture(`rle_${name}`, [['desc', ce(enc)], ['encoding', enc], ...recs, ['expected', bytesOf(vals, w, 'i')]]);
    });
  }

  // ---- General (zstd / lz4) requested by field metadata
  {
    const n = 3000;
    const z = [], s = [], d = [];
    for (let i = 0; i < n; i++) { z.push(BigInt((i % 97) * 1000003 + (i % 5))); s.push(String((i * 7919) % 10007)); d.push((i % 50) * 0.25); }
    const t = table([
      field('z', new arrow.Int64(), false, { 'lance-encoding:compression': 'zstd' }),
      field('l', new arrow.Int64(), false, { 'lance-encoding:compression': 'lz4' }),
      field('zs', new arrow.Utf8(), false, { 'lance-encoding:compression': 'zstd' }),
      field('ls', new arrow.Utf8(), false, { 'lance-encoding:compression': 'lz4' }),
      field('zf', new arrow.Float64(), false, { 'lance-encoding:compression': 'zstd' }),
      field('zn', new arrow.Int64(), false, { 'lance-encoding:compression': 'zstd', 'lance-encoding:bss': 'off' })],
    [z, z, s, s, Float64Array.from(d), z]);
    const f = await writeTable(db, 'general', t);
    const [so, sb] = stringsOf(s);
    [['z', bytesOf(z, 8, 'i')], ['l', bytesOf(z, 8, 'i')], ['zs', null], ['ls', null], ['zf', bytesOf(d, 8, 'f')], ['zn', bytesOf(z, 8, 'i')]].forEach(([name, exp], c) => {
      const page = f.cols[c][0];
      const [kind, mb] = layoutOf(page);
      if (kind !== 'mini') { note(`general ${name}: layout ${kind}`); return; }
      const enc = one(mb, 3);
      note(`general ${name}: ${ce(enc)}`);
      const [recs, chunks] = chunkRecords(page, mb, n, 1);
      const nkeep = chunks[0].nvals;
      const expRecs = exp ? [['expected', exp.subarray(0, nkeep * 8)]]
        : (() => { const [o, b] = stringsOf(s.slice(0, nkeep)); return [['expected.offsets', o], ['expected.bytes', b]]; })();
      writeFixture(`general_${name}`, [['desc', ce(enc)], ['encoding', enc], ...recs, ...expRecs]);
    });
    void so; void sb;
  }

  // ---- 2.0: what do the same kinds of columns get?
  {
    const n = 3000;
    const ids = [], txt = [];
    for (let i = 0; i < n; i++) { ids.push(BigInt(i)); txt.push(`text number ${i} with some words to compress`); }
    const t = table([field('id', new arrow.Int64(), false), field('t', new arrow.Utf8(), true)], [ids, txt]);
    const f = await writeTable(db, 'v20', t, '2.0');
    f.cols.forEach((pages, c) => note(`2.0 column ${c}: footer ${f.version}, page type ${pages[0].type}, layout bytes ${pages[0].layout.toString('hex').slice(0, 80)}`));
  }
  fs.writeFileSync(path.join(outDir, 'SUMMARY.txt'), summary.join('\n') + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
