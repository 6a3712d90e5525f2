const lancedb = require('@lancedb/lancedb');
const arrow = require('apache-arrow');
(async () => {
  for (const ver of ['2.0', '2.1']) {
    const db = await lancedb.connect(process.argv[2] + '/db' + ver, { storageOptions: { new_table_data_storage_version: ver } });
    const colors = ['red', 'green', 'blue', 'white'];
    const rows = [];
    for (let i = 0; i < 200; i++) rows.push({ id: i, cat: (i % 7 == 3) ? null : colors[(i * 5) % 4] });
    const schema = new arrow.Schema([new arrow.Field('id', new arrow.Int64(), false), new arrow.Field('cat', new arrow.Utf8(), true)]);
    await db.createTable('t', rows, { schema, mode: 'overwrite' });
  }
})();
