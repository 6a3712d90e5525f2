# lance_ivf beyond one server: a streaming standby and a node restored from a
# base backup answer the same top-k as the primary (the sealed lists reach
# them through lancedb's WAL, the delta pages through Generic WAL), and a
# crash in the middle of CREATE INDEX leaves nothing behind once garbage is
# collected.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $primary = side_node('primary', allows_streaming => 1, has_archiving => 1);
$primary->append_conf('postgresql.conf', 'restart_after_crash = on');
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(24));
	INSERT INTO items
	SELECT i, array_agg((i % 11) + sin(i * 0.7 + d) ORDER BY d)::vector(24)
	FROM generate_series(1, 4000) i, generate_series(1, 24) d GROUP BY i;
	CREATE INDEX items_ivf ON items USING lance_ivf (embedding) WITH (lists = 30, probes = 6);
});
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# rows after the backup: into the delta area
$primary->safe_psql('postgres', q{
	INSERT INTO items
	SELECT i, array_agg((i % 11) + cos(i * 0.3 + d) ORDER BY d)::vector(24)
	FROM generate_series(4001, 4300) i, generate_series(1, 24) d GROUP BY i;
	DELETE FROM items WHERE id % 13 = 0;
	VACUUM items;
});
$primary->wait_for_catchup($standby);

my $restored = PostgreSQL::Test::Cluster->new('restored');
$restored->init_from_backup($primary, 'base', has_restoring => 1, standby => 0);
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->poll_query_until('postgres',
	"SELECT last_archived_wal >= pg_walfile_name('$lsn') FROM pg_stat_archiver")
  or die 'WAL was not archived';
$restored->start;
$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the restored node did not finish recovery';

my $topk = q{
	SET enable_seqscan = off;
	SELECT string_agg(id::text || ':' || round((embedding <-> q)::numeric, 5)::text, ',' ORDER BY n)
	FROM (SELECT q.id AS qid, q.embedding AS q FROM items q WHERE q.id % 97 = 3) qs,
	LATERAL (SELECT id, embedding, row_number() OVER () AS n FROM
		(SELECT id, embedding FROM items ORDER BY embedding <-> qs.q LIMIT 10) s) t;
};
my $plan = $primary->safe_psql('postgres', q{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 1) LIMIT 10});
like($plan, qr/Index Scan using items_ivf/, 'the query uses the lance_ivf index');
my $on_primary = $primary->safe_psql('postgres', $topk);
ok(length($on_primary) > 100, 'the primary answers');
is($standby->safe_psql('postgres', $topk), $on_primary, 'the standby answers the same top-k');
is($restored->safe_psql('postgres', $topk), $on_primary, 'the restored base backup answers the same top-k');
is((side_checksums($standby))[1], (side_checksums($primary))[1],
	"the standby's side files are the primary's");
$restored->stop;
$standby->stop;

# a crash in the middle of CREATE INDEX: after recovery and garbage
# collection, nothing of the half-built index is left
my ($before) = side_checksums($primary);
foreach my $step (qw(after_file after_wal after_catalog))
{
	my ($rc, $out, $err) = $primary->psql('postgres', qq{
		SET lancedb.debug_crash_at = '$step';
		CREATE INDEX items_crash ON items USING lance_ivf (embedding vector_cosine_ops) WITH (lists = 10)});
	like($err, qr/crashing at $step|server closed the connection/, "CREATE INDEX crashes $step");
	$primary->poll_query_until('postgres', 'SELECT true') or die 'no recovery';
	is($primary->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'items_crash'"),
		'0', "no index after a crash $step");
	$primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
	my ($after) = side_checksums($primary);
	is_deeply([ sort keys %$after ], [ sort keys %$before ],
		"after a crash $step and garbage collection only the old index's files are left");
	is($primary->safe_psql('postgres', 'SELECT count(*) FROM lancedb_catalog.storage'), '1',
		"and only its storage is in the catalog ($step)");
}
is($primary->safe_psql('postgres', $topk), $on_primary, 'the old index still answers the same');

# a damaged segment file gets an ERROR with a SQLSTATE, never a crash; a
# rebuild brings the index back
my $dir = $primary->safe_psql('postgres', q{
	SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' || storage_id
	FROM lancedb_catalog.storage WHERE relid = 'items_ivf'::regclass});
my ($segment) = grep { !/pgsql_tmp/ } glob($primary->data_dir . "/pg_lancedb/$dir/*.lance");
my $whole = slurp_file($segment);
foreach my $damage ([ 'truncated', substr($whole, 0, length($whole) - 100) ],
	[ 'with its footer overwritten', substr($whole, 0, length($whole) - 16) . ("\xff" x 16) ])
{
	open(my $fh, '>', $segment) or die "cannot write $segment: $!";
	binmode $fh;
	print $fh $damage->[1];
	close $fh;
	my ($rc, $out, $err) = $primary->psql('postgres',
		"\\set VERBOSITY verbose\n$topk");
	isnt($rc, 0, "a query on a segment $damage->[0] fails");
	like($err, qr/ERROR:  XX001|ERROR:  XX002/, "with a data-corrupted SQLSTATE ($damage->[0])");
	is($primary->safe_psql('postgres', 'SELECT 1'), '1', "and the server stays up ($damage->[0])");
}
$primary->safe_psql('postgres', 'REINDEX INDEX items_ivf');
is($primary->safe_psql('postgres', $topk), $on_primary, 'after REINDEX the index answers the same again');
$primary->stop;
done_testing();
