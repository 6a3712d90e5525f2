# Which side files a snapshot sees, now that side_catalog.c answers a lookup
# from its cache when the snapshot sees just what one it answered for saw
# (the same xmin, xmax and running transactions, in a transaction that has
# written nothing): a read-committed statement after another session's commit
# sees the new file, a repeatable-read transaction keeps seeing what it saw, a
# transaction sees the file it wrote itself at once, nobody sees it after a
# rollback, and reads with nothing committed in between do not look up the
# catalog again.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $node = side_node('snapshots');
# nothing else commits, so a session's snapshots stay the same between its reads
$node->append_conf('postgresql.conf', 'autovacuum = off');
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int);
	CREATE INDEX ti ON t USING lancedb_side_debug (id);
});
$node->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', 1, 100, 8)");

# rows of every file the session's snapshot sees
sub rows
{
	my ($session) = @_;
	return $session->query_safe("SELECT count(*) FROM lancedb_debug_side_read('ti')");
}

my $rr = $node->background_psql('postgres');
my $rc = $node->background_psql('postgres');

$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is(rows($rr), 100, 'a repeatable-read transaction sees the first file');
is(rows($rc), 100, 'so does a read-committed session');
is(rows($rc), 100, 'twice');

$node->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', 1001, 50, 8)");
is(rows($rc), 150, "another session's new file shows at the next read-committed statement");
is(rows($rr), 100, 'the repeatable-read transaction still sees only the first file');
is(rows($rr), 100, 'at every statement');
$rr->query_safe('COMMIT');
is(rows($rr), 150, 'and the new one once it has ended');

$rc->query_safe('BEGIN');
is(rows($rc), 150, 'a transaction sees both files');
$rc->query_safe("SELECT lancedb_debug_side_write('ti', 2001, 25, 8)");
is(rows($rc), 175, 'then the file it wrote itself, at once');
$rc->query_safe('ROLLBACK');
is(rows($rc), 150, 'which nobody sees after its rollback');
is(rows($rr), 150, 'nor another session');

# lookups of side_file by this session, flushed to the statistics
sub lookups
{
	my ($session) = @_;
	$session->query_safe('SELECT pg_stat_force_next_flush()');
	return $session->query_safe(q{
		SELECT idx_scan FROM pg_stat_all_indexes
		WHERE schemaname = 'lancedb_catalog' AND indexrelname = 'side_file_storage_id_name'});
}
rows($rc);
my $before = lookups($rc);
rows($rc);
rows($rc);
is(lookups($rc), $before, 'reads with nothing committed in between do not look up the catalog again');

my ($first) = split /,/, side_visible($node, 'postgres', 'ti');
$node->safe_psql('postgres', "SELECT lancedb_debug_side_retire('ti', '$first')");
is(rows($rc), 50, "another session's retirement shows at the next statement");
is(rows($rr), 50, 'in every session');

$rr->quit;
$rc->quit;
$node->stop;
done_testing();
