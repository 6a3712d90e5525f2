// lancedb_codecs.js: have LanceDB 0.31.0 (lance 8.0.0) write data/lancedb_codecs_v21.lance,
// a 2000-row format 2.1 file whose columns make lance pick each compressive
// encoding the reader must decode (test_lance_file.c recomputes the values
// from the same formulas and compares every row):
//   id  int64            i                                   inline_bitpacking(64)
//   rl  int32            floor(i / 40) % 7                   rle(flat(32), flat(8))
//   txt utf8, nullable   null if i % 11 == 5, else words(i)  fsst, def levels out_of_line_bitpacking(16, flat(1))
//   z   int64, zstd      i * 1000 - 7                        general(zstd, byte_stream_split(flat(64)))
//   l   int64, lz4       i * 1000 - 7                        general(lz4, byte_stream_split(flat(64)))
//   zf  float64, zstd    i * 0.25                            general(zstd, byte_stream_split(flat(64)))
//   zn  int64, zstd, bss off   (i % 16) * 1000000007         general(zstd, inline_bitpacking(64))
//   zs  utf8, zstd       "s" + i                             general(zstd, variable(flat(32)))
// where words(i) = WORDS[h % 8] + " " + WORDS[(h >> 3) % 8] + " item " + i + " " + WORDS[i % 8],
// h = (i * 2654435761) mod 2^32 >> 7.
//
// and data/lancedb_fullzip_v21.lance: 120 rows, one nullable utf8 column
//   big  null if i % 9 == 4, else words(i) + " | " + words(i + 1) + ... (16 of them)
// of ~500-byte strings, which lance writes as a full-zip page of
// fsst(variable(flat(32))) items.
// and data/lancedb_dictz_v21.lance: 3000 rows, one nullable utf8 column with
// `lance-encoding:compression` = zstd
//   dz   null if i % 13 == 1, else CATS[(i * 7) % 40], CATS[k] = "category-number-" + k + "-" + "x" * 3k
// which lance writes as a dictionary page whose indices are
// general(zstd, byte_stream_split(flat(32))), def levels out_of_line_bitpacking.
//
// Usage: NODE_PATH=$(bash test/interop/install.sh) node lancedb_codecs.js <scratch dir>
//   then copy <scratch>/db/t.lance/data/*.lance to data/lancedb_codecs_v21.lance
//   and <scratch>/db/fz.lance/data/*.lance to data/lancedb_fullzip_v21.lance
//   and <scratch>/db/dz.lance/data/*.lance to data/lancedb_dictz_v21.lance.
'use strict';
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const N = 2000;
const h = (i) => (Math.imul(i, 2654435761 | 0) >>> 0) >>> 7;
const words = (i) => `${WORDS[h(i) % 8]} ${WORDS[(h(i) >>> 3) % 8]} item ${i} ${WORDS[i % 8]}`;
const field = (name, type, nullable, meta) =>
  new arrow.Field(name, type, nullable, meta ? new Map(Object.entries(meta)) : undefined);
const zstd = { 'lance-encoding:compression': 'zstd' };

(async () => {
  const db = await lancedb.connect(process.argv[2] + '/db');
  const schema = new arrow.Schema([
    field('id', new arrow.Int64(), false),
    field('rl', new arrow.Int32(), false),
    field('txt', new arrow.Utf8(), true),
    field('z', new arrow.Int64(), false, zstd),
    field('l', new arrow.Int64(), false, { 'lance-encoding:compression': 'lz4' }),
    field('zf', new arrow.Float64(), false, zstd),
    field('zn', new arrow.Int64(), false, { ...zstd, 'lance-encoding:bss': 'off' }),
    field('zs', new arrow.Utf8(), false, zstd)]);
  const cols = {
    id: [], rl: [], txt: [], z: [], l: [], zf: [], zn: [], zs: [],
  };
  for (let i = 0; i < N; i++) {
    cols.id.push(BigInt(i));
    cols.rl.push(Math.floor(i / 40) % 7);
    cols.txt.push(i % 11 === 5 ? null : words(i));
    cols.z.push(BigInt(i * 1000 - 7));
    cols.l.push(BigInt(i * 1000 - 7));
    cols.zf.push(i * 0.25);
    cols.zn.push(BigInt((i % 16) * 1000000007));
    cols.zs.push('s' + i);
  }
  const data = schema.fields.map((f) => arrow.vectorFromArray(cols[f.name], f.type).data[0]);
  const batch = new arrow.RecordBatch(schema, arrow.makeData({
    type: new arrow.Struct(schema.fields), length: N, nullCount: 0, children: data }));
  await db.createTable('t', new arrow.Table([batch]), { mode: 'overwrite' });

  const big = [];
  for (let i = 0; i < 120; i++) {
    const parts = [];
    for (let j = 0; j < 16; j++) parts.push(words(i + j));
    big.push(i % 9 === 4 ? null : parts.join(' | '));
  }
  const bigSchema = new arrow.Schema([field('big', new arrow.Utf8(), true)]);
  const bigBatch = new arrow.RecordBatch(bigSchema, arrow.makeData({
    type: new arrow.Struct(bigSchema.fields), length: big.length, nullCount: 0,
    children: [arrow.vectorFromArray(big, new arrow.Utf8()).data[0]] }));
  await db.createTable('fz', new arrow.Table([bigBatch]), { mode: 'overwrite' });

  const cats = [], dz = [];
  for (let k = 0; k < 40; k++) cats.push('category-number-' + k + '-' + 'x'.repeat(k * 3));
  for (let i = 0; i < 3000; i++) dz.push(i % 13 === 1 ? null : cats[(i * 7) % 40]);
  const dzSchema = new arrow.Schema([field('dz', new arrow.Utf8(), true, zstd)]);
  const dzBatch = new arrow.RecordBatch(dzSchema, arrow.makeData({
    type: new arrow.Struct(dzSchema.fields), length: dz.length, nullCount: 0,
    children: [arrow.vectorFromArray(dz, new arrow.Utf8()).data[0]] }));
  await db.createTable('dz', new arrow.Table([dzBatch]), { mode: 'overwrite' });
})();
