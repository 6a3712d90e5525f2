# Side storage and pg_dump / pg_restore: a database with a
# lancedb_side_debug index holding side files and a table of vectors is
# dumped (-Fc) and restored into a new database.  The restored database has
# the extension, the tables, the same vectors and the index, with a storage
# of its own and no side files (they belong to the source database and are
# rebuilt by index builds), and side files can be written and read there.
# Dropping the source database and collecting garbage from another database
# removes pg_lancedb/<source oid>.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $node = side_node('dump');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int);
	INSERT INTO t SELECT generate_series(1, 100);
	CREATE INDEX ti ON t USING lancedb_side_debug (id);
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
	INSERT INTO items SELECT i, ARRAY[i, i / 7.0, -i * 0.25]::vector(3) FROM generate_series(1, 500) i;
});
$node->safe_psql('src', "SELECT lancedb_debug_side_write('ti', 1, 1000, 16)");
$node->safe_psql('src', "SELECT lancedb_debug_side_write('ti', 5001, 600, 16)");
my $src_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'src'");
my $src_dir = side_dir($node, 'src', 'ti');
my ($src_sums, $src_summary) = side_sums_under($node, $src_oid);
is(scalar(keys %$src_sums), 2, 'the source database has two side files');
my $src_expected = side_expected_sum($node, 'src', [ [ 1, 1000 ], [ 5001, 5600 ] ], 16);
is(side_read_sum($node, 'src', 'ti'), $src_expected, 'and reads them back');

my $vectors = q{SELECT string_agg(id || ':' || embedding::text, ',' ORDER BY id) FROM items};
my $nearest = q{SELECT string_agg(id::text, ',' ORDER BY d, id)
	FROM (SELECT id, embedding <-> '[100, 14, -25]' AS d FROM items ORDER BY d, id LIMIT 5) s};
my $src_vectors = $node->safe_psql('src', $vectors);
my $src_nearest = $node->safe_psql('src', $nearest);

my $dump = $node->basedir . '/src.dump';
$node->command_checks_all([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	0, [qr/^$/], [qr/^$/], 'pg_dump -Fc of the source database');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_checks_all([ 'pg_restore', '-d', $node->connstr('dst'), $dump ],
	0, [qr/^$/], [qr/^$/], 'pg_restore into a new database, without errors or warnings');

# what was restored
is($node->safe_psql('dst', q{SELECT extversion FROM pg_extension WHERE extname = 'lancedb'}),
	$node->safe_psql('src', q{SELECT extversion FROM pg_extension WHERE extname = 'lancedb'}),
	'the extension is restored');
is($node->safe_psql('dst', 'SELECT count(*) FROM t'), '100', 'the table of the index is restored');
is($node->safe_psql('dst', q{
	SELECT format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'items'::regclass AND attname = 'embedding'}), 'vector(3)',
	'the vector column keeps its type');
is($node->safe_psql('dst', $vectors), $src_vectors, 'the vectors are restored exactly');
is($node->safe_psql('dst', $nearest), $src_nearest, 'and distances order them as in the source');
is($node->safe_psql('dst', q{
	SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'ti'}),
	'lancedb_side_debug', 'the index is restored with its access method');

# the restored index has a storage of its own and no side files
my $dst_oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'dst'");
my $dst_storage = $node->safe_psql('dst', "SELECT lancedb_debug_side_storage('ti')");
like($dst_storage, qr/^[1-9]\d*$/, 'the restored index has a storage id');
is($node->safe_psql('dst', qq{
	SELECT count(*) FROM lancedb_catalog.storage s JOIN pg_class c ON c.oid = s.relid
	WHERE s.storage_id = $dst_storage AND c.relname = 'ti'}), '1',
	"the restored database's catalog records it for the restored index");
is($node->safe_psql('dst', 'SELECT count(*) FROM lancedb_catalog.side_file'), '0',
	"no side file rows came with the dump");
is(side_visible($node, 'dst', 'ti'), '', 'the restored index sees no side files');
is(side_read_sum($node, 'dst', 'ti'), '0|0|0.000', 'and reads nothing');

# and works: a file is written into the new database's directory and read back
my $name = $node->safe_psql('dst', "SELECT lancedb_debug_side_write('ti', 70001, 400, 16)");
is(join(',', keys %{ (side_sums_under($node, $dst_oid))[0] }), "$dst_storage/$name",
	"the restored database's file lives in its own directory");
is(side_read_sum($node, 'dst', 'ti'), side_expected_sum($node, 'dst', [ [ 70001, 70400 ] ], 16),
	'and reads back exactly');
is((side_sums_under($node, $src_oid))[1], $src_summary, 'the source files are untouched');
is(side_read_sum($node, 'src', 'ti'), $src_expected, 'and read back as before');

# CREATE DATABASE ... TEMPLATE would copy the catalog rows and metapages but
# not pg_lancedb/<template oid>: such a template is refused
my ($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE copy TEMPLATE dst');
isnt($rc, 0, 'a database with side storage cannot be a template');
like($err, qr/cannot use database "dst" as a template: it has lancedb side storage/,
	'the error says why');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'copy'"), '0',
	'and no database was created');
$node->safe_psql('postgres', 'CREATE DATABASE plain_copy TEMPLATE template1');
$node->safe_psql('postgres', 'DROP DATABASE plain_copy');
pass('templates without side storage still work');

# dropping the source database; garbage collection in another database removes its files
$node->safe_psql('postgres', 'DROP DATABASE src');
ok($node->safe_psql('dst', 'SELECT lancedb_collect_garbage()') >= 1,
	'garbage collection in the restored database removes something');
ok(!-e $node->data_dir . "/pg_lancedb/$src_oid", 'pg_lancedb/<oid of the dropped database> is gone');
is(join(',', keys %{ (side_sums_under($node, $dst_oid))[0] }), "$dst_storage/$name",
	"the restored database's file stays");
is(side_read_sum($node, 'dst', 'ti'), side_expected_sum($node, 'dst', [ [ 70001, 70400 ] ], 16),
	'and still reads back exactly');

# the removal is WAL-logged: crash recovery does not bring the directory back
$node->stop('immediate');
$node->start;
ok(!-e $node->data_dir . "/pg_lancedb/$src_oid", 'the dropped database stays gone after crash recovery');
is(side_read_sum($node, 'dst', 'ti'), side_expected_sum($node, 'dst', [ [ 70001, 70400 ] ], 16),
	"and the restored database's file reads back exactly");

$node->stop;
done_testing();
