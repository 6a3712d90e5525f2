// Makes data/lancedb_listempty_v20.lance (format 2.0): 10 rows of
// (id int64, lf list<float32>) where row i is null if i is odd, else
// empty.  The list has no items at all, so LanceDB writes the item
// column as a single page of zero rows.
const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');
(async () => {
  const db = await lancedb.connect(process.argv[2], { storageOptions: { new_table_data_storage_version: '2.0' } });
  const rows = [];
  for (let i = 0; i < 10; i++)
    rows.push({ id: i, lf: i % 2 ? null : [] });
  const schema = new arrow.Schema([new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('lf', new arrow.List(new arrow.Field('item', new arrow.Float32(), true)), true)]);
  await db.createTable('t', rows, { schema, mode: 'overwrite' });
})();
