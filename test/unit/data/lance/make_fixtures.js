// make_fixtures.js: generate the small LanceDB-written fixtures in this
// directory with the real LanceDB (npm @lancedb/lancedb@0.31.0).
//
//   mkdir /tmp/fx && cd /tmp/fx && npm init -y &&
//     npm i -E @lancedb/lancedb@0.31.0 apache-arrow@18.1.0
//   node make_fixtures.js <out dir>        (run from /tmp/fx, out dir empty)
//
// Then copy the table directories listed in README.md into this directory.
// Every table has the schema (id int64 not null, vec fixed_size_list<float,4>,
// text utf8 nullable) with id = the row's position at creation time, vec =
// [id, id + 0.5, -id, id / 4] and text = "t<id>" (null when id % 4 == 1).
const path = require('path');
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');

const schema = new arrow.Schema([
  new arrow.Field('id', new arrow.Int64(), false),
  new arrow.Field('vec', new arrow.FixedSizeList(4, new arrow.Field('item', new arrow.Float32(), true)), true),
  new arrow.Field('text', new arrow.Utf8(), true),
]);

function rows(from, to) {
  const n = to - from;
  const ids = new BigInt64Array(n);
  const vecs = new Float32Array(n * 4);
  const texts = [];
  for (let i = 0; i < n; i++) {
    const id = from + i;
    ids[i] = BigInt(id);
    vecs.set([id, id + 0.5, -id, id / 4], i * 4);
    texts.push(id % 4 === 1 ? null : 't' + id);
  }
  const idData = arrow.makeData({ type: new arrow.Int64(), length: n, data: ids, nullCount: 0 });
  const child = arrow.makeData({ type: new arrow.Float32(), length: n * 4, data: vecs, nullCount: 0 });
  const vecData = arrow.makeData({ type: schema.fields[1].type, length: n, nullCount: 0, child });
  const textData = arrow.vectorFromArray(texts, new arrow.Utf8()).data[0];
  const batch = new arrow.RecordBatch(schema, arrow.makeData({
    type: new arrow.Struct(schema.fields), length: n, nullCount: 0,
    children: [idData, vecData, textData] }));
  return new arrow.Table([batch]);
}

function idOnly(n) {
  const s = new arrow.Schema([new arrow.Field('id', new arrow.Int64(), false)]);
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) ids[i] = BigInt(i);
  const idData = arrow.makeData({ type: new arrow.Int64(), length: n, data: ids, nullCount: 0 });
  return new arrow.Table([new arrow.RecordBatch(s, arrow.makeData({
    type: new arrow.Struct(s.fields), length: n, nullCount: 0, children: [idData] }))]);
}

async function main() {
  const out = path.resolve(process.argv[2] || 'fixtures');
  const db = await lancedb.connect(out);

  // plain: v1 create (3 rows), v2 append (2 rows), v3 btree index on id
  // (the manifest then carries an index section).
  let t = await db.createTable('plain', rows(0, 3));
  await t.add(rows(3, 5));
  await t.createIndex('id', { config: lancedb.Index.btree() });

  // deleted: 10 rows, delete 3 of them -> a ZSTD Arrow IPC .arrow deletion file
  t = await db.createTable('deleted', rows(0, 10));
  await t.delete('id IN (1, 3, 5)');

  // rowids: stable row ids; v1 3 rows, v2 +2 rows, v3 delete id 1
  t = await db.createTable('rowids', rows(0, 3),
    { storageOptions: { new_table_enable_stable_row_ids: 'true' } });
  await t.add(rows(3, 5));
  await t.delete('id = 1');

  // v1names: the old manifest naming scheme (1.manifest)
  await db.createTable('v1names', rows(0, 2),
    { storageOptions: { new_table_enable_v2_manifest_paths: 'false' } });

  // v20: file format 2.0
  await db.createTable('v20', rows(0, 5),
    { storageOptions: { new_table_data_storage_version: '2.0' } });

  // bitmap: 9000 rows of id only, delete 8000 of them -> a .bin roaring deletion file
  t = await db.createTable('bitmap', idOnly(9000));
  await t.delete('id % 9 != 0');

  // zstd: 4500 rows (id only), delete 4050 (id % 10 != 0): still the .arrow
  // form (< 5000 rows), now large enough that lance ZSTD-compresses the body.
  // Only its deletion file is kept, as zstd_deletions.arrow.
  t = await db.createTable('zstd', idOnly(4500));
  await t.delete('id % 10 != 0');

  for (const name of ['plain', 'deleted', 'rowids', 'v1names', 'v20', 'bitmap', 'zstd']) {
    const tb = await db.openTable(name);
    console.log(name, 'version', await tb.version(), 'rows', await tb.countRows());
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
