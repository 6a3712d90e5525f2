# Side storage and crash recovery: the server crashes at each step of
# publishing a side file (after the file is durable, after its WAL, after its
# catalog row but before commit).  After recovery the committed files are
# complete and byte-identical, the uncommitted one is invisible, and garbage
# collection removes it.  Also: CREATE EXTENSION refuses a server that does
# not preload lancedb.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

# without shared_preload_libraries: a clear error and a hint
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my ($rc, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION lancedb');
isnt($rc, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like($err, qr/lancedb must be loaded via shared_preload_libraries/, 'the error says why');
like($err, qr/HINT:  Add lancedb to shared_preload_libraries/, 'and the hint says what to do');
$plain->stop;

my $node = side_node('crash');
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int);
	CREATE INDEX ti ON t USING lancedb_side_debug (id);
});
my $first = $node->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', 1, 3000, 64)");
like($first, qr/^\d+_\d+_\d+\.lance$/, 'a committed side file');
my @committed = ([1, 3000]);
my ($before) = side_checksums($node);

my $n = 0;
foreach my $step (qw(after_file after_wal after_catalog))
{
	$n++;
	my $first_id = 100000 * $n;
	my ($crc, $cout, $cerr) = $node->psql('postgres', qq{
		SET lancedb.debug_crash_at = '$step';
		SELECT lancedb_debug_side_write('ti', $first_id, 2000, 64)});
	like($cerr, qr/crashing at $step|server closed the connection/,
		"the server crashes $step");
	$node->poll_query_until('postgres', 'SELECT true') or die "no recovery after $step";

	is(side_visible($node, 'postgres', 'ti'), $first,
		"after a crash $step only the committed file is visible");
	is(side_read_sum($node, 'postgres', 'ti'),
		side_expected_sum($node, 'postgres', \@committed, 64),
		"after a crash $step the committed rows read back exactly");
	my ($after) = side_checksums($node);
	my $dir = $node->safe_psql('postgres',
		"SELECT (SELECT oid FROM pg_database WHERE datname = 'postgres') || '/' || lancedb_debug_side_storage('ti')");
	is($after->{"$dir/$first"}, $before->{"$dir/$first"},
		"after a crash $step the committed file is byte-identical");
	my $left = grep { $_ ne "$dir/$first" } keys %$after;
	is($left, 1, "the crash $step left its file behind for garbage collection");
	ok($node->safe_psql('postgres', 'SELECT lancedb_collect_garbage()') >= 1,
		"garbage collection after a crash $step removes something");
	my ($clean) = side_checksums($node);
	is_deeply([sort keys %$clean], ["$dir/$first"],
		"after garbage collection only the committed file is left ($step)");
}

# a second commit after all that works and both are read back
$node->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', 900001, 500, 64)");
push @committed, [900001, 900500];
is(side_read_sum($node, 'postgres', 'ti'), side_expected_sum($node, 'postgres', \@committed, 64),
	'writes after recovery are read back with the old ones');

# a crash right after commit: everything is still there
my $lsn_sums = (side_checksums($node))[1];
$node->stop('immediate');
$node->start;
is((side_checksums($node))[1], $lsn_sums, 'immediate shutdown and crash recovery keep every file identical');
is(side_read_sum($node, 'postgres', 'ti'), side_expected_sum($node, 'postgres', \@committed, 64),
	'and they read back exactly');

$node->stop;
done_testing();
