// Makes a LanceDB table (format 2.1, or 2.0 with a third argument '2.0')
// whose data file tests fixed-size-list ITEM validity: 24 rows of
// (id int64, v fixed_size_list<float32,4>, w fixed_size_list<float32,128>).
// Row i is null in both lists if i % 7 == 3; otherwise item j of v is
// i * 10 + j, null when (i * 4 + j) % 5 == 2, and item j of w is
// i * 1000 + j, null when (i + j) % 9 == 0.  v (16 bytes a row) is
// mini-block, w (512 bytes a row) full-zip in 2.1.
// With a fourth argument 'allnull' every item is null instead, and only v
// has null rows (i % 7 == 3): lance then writes both columns as full-zip
// pages of Constant{} values and only row control words (2.1), or items
// nullable{all_nulls} without values (2.0).
//
// Usage: NODE_PATH=$(bash test/interop/install.sh) node lancedb_fslnull.js <dir> [2.1|2.0] [allnull]
//   then copy <dir>/t.lance/data/*.lance to data/lancedb_fslnull_v21.lance
//   (lancedb_fslallnull_v21.lance with 'allnull'; _v20 with '2.0').
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');
(async () => {
  const db = await lancedb.connect(process.argv[2], { storageOptions: { new_table_data_storage_version: process.argv[3] || '2.1' } });
  const allnull = process.argv[4] === 'allnull';
  const rows = [];
  for (let i = 0; i < 24; i++) {
    let v = null, w = null;
    if (i % 7 != 3) {
      v = []; w = [];
      for (let j = 0; j < 4; j++) v.push(allnull || (i * 4 + j) % 5 == 2 ? null : i * 10 + j);
      for (let j = 0; j < 128; j++) w.push(allnull || (i + j) % 9 == 0 ? null : i * 1000 + j);
    } else if (allnull) {
      w = Array(128).fill(null);
    }
    rows.push({ id: i, v, w });
  }
  const item = () => new arrow.Field('item', new arrow.Float32(), true);
  const schema = new arrow.Schema([new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('v', new arrow.FixedSizeList(4, item()), true),
    new arrow.Field('w', new arrow.FixedSizeList(128, item()), true)]);
  await db.createTable('t', rows, { schema, mode: 'overwrite' });
})();
