// Makes data/lancedb_list_v21.lance (or, with a third argument '2.0',
// data/lancedb_list_v20.lance): 30 rows of (id int64, lf list<float32>)
// where row i is null if i % 5 == 2, empty if i % 5 == 4, else i % 4 + 1
// items (item j = i * 10 + j, null when (i + j) % 6 == 5).
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');
(async () => {
  const db = await lancedb.connect(process.argv[2], { storageOptions: { new_table_data_storage_version: process.argv[3] || '2.1' } });
  const rows = [];
  for (let i = 0; i < 30; i++) {
    let lf = null;
    if (i % 5 == 4) lf = [];
    else if (i % 5 != 2) { lf = []; for (let j = 0; j < i % 4 + 1; j++) lf.push((i + j) % 6 == 5 ? null : i * 10 + j); }
    rows.push({ id: i, lf });
  }
  const schema = new arrow.Schema([new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('lf', new arrow.List(new arrow.Field('item', new arrow.Float32(), true)), true)]);
  await db.createTable('t', rows, { schema, mode: 'overwrite' });
})();
