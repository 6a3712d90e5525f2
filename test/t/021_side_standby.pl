# Side storage on a streaming standby: after writes, retirements, drops and
# garbage collection on the primary, the standby's pg_lancedb/ holds exactly
# the primary's files, byte for byte, and answers reads; DROP TABLE, TRUNCATE
# and DROP DATABASE leave nothing behind on either once garbage is collected,
# while an aborted DROP keeps everything; a standby query reading files that
# the primary retires and collects is either answered correctly or cancelled
# as a recovery conflict; promotion keeps everything.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $primary = side_node('primary', allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t1 (id int); CREATE INDEX i1 ON t1 USING lancedb_side_debug (id);
	CREATE TABLE t2 (id int); CREATE INDEX i2 ON t2 USING lancedb_side_debug (id);
	CREATE TABLE t3 (id int); CREATE INDEX i3 ON t3 USING lancedb_side_debug (id);
});
my $file_a = $primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i1', 1, 2000, 32)");
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i1', 2001, 2000, 32)");
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i2', 1, 100, 8)");
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i3', 1, 100, 8)");

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf',
	"max_standby_streaming_delay = 0\nwal_receiver_status_interval = 1");
$standby->start;

# after the backup: a file of 8 MB (several WAL chunks) and a retirement
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i1', 5001, 4000, 512)");
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_retire('i1', '$file_a')");
is($primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()'), '1',
	'garbage collection removes the retired file on the primary');

sub same_files
{
	my ($what, $at_least) = @_;
	$primary->wait_for_catchup($standby);
	my ($p, $ps) = side_checksums($primary);
	my ($s, $ss) = side_checksums($standby);
	cmp_ok(scalar(keys %$p), '>=', $at_least, "the primary has side files ($what)");
	is($ss, $ps, "the standby's side files are the primary's, byte for byte ($what)");
	return $p;
}

same_files('after writes and a retirement', 4);
is(side_read_sum($standby, 'postgres', 'i1') =~ s/\|.*//r, '6000',
	'the standby reads the rows of both live files');
is(side_visible($standby, 'postgres', 'i1'), side_visible($primary, 'postgres', 'i1'),
	'the standby sees the same files as the primary');
my $on_primary = $primary->safe_psql('postgres',
	"SELECT md5(string_agg(id || ':' || embedding::text, ',' ORDER BY id)) FROM lancedb_debug_side_read('i1')");
is($standby->safe_psql('postgres',
	"SELECT md5(string_agg(id || ':' || embedding::text, ',' ORDER BY id)) FROM lancedb_debug_side_read('i1')"),
	$on_primary, 'the standby reads every value the primary reads');

# drops
my $dboid = $primary->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'postgres'");
my $i2 = $primary->safe_psql('postgres', "SELECT lancedb_debug_side_storage('i2')");
my $i3 = $primary->safe_psql('postgres', "SELECT lancedb_debug_side_storage('i3')");
my $i1 = $primary->safe_psql('postgres', "SELECT lancedb_debug_side_storage('i1')");

$primary->safe_psql('postgres', 'BEGIN; DROP TABLE t1; ROLLBACK');
$primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
ok(-d $primary->data_dir . "/pg_lancedb/$dboid/$i1", 'an aborted DROP TABLE keeps the side files');
is(side_visible($primary, 'postgres', 'i1') =~ tr/,//, 1, 'and both files stay visible');

$primary->safe_psql('postgres', 'DROP TABLE t2');
$primary->safe_psql('postgres', 'TRUNCATE t3');
$primary->safe_psql('postgres', 'CREATE DATABASE other');
$primary->safe_psql('other', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int); CREATE INDEX i ON t USING lancedb_side_debug (id);
	SELECT lancedb_debug_side_write('i', 1, 100, 8);
});
my $other = $primary->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = 'other'");
$primary->wait_for_catchup($standby);
ok(-d $standby->data_dir . "/pg_lancedb/$other", "the standby has the other database's side files");
$primary->safe_psql('postgres', 'DROP DATABASE other');
$primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
same_files('after DROP TABLE, TRUNCATE, DROP DATABASE and garbage collection', 2);
foreach my $node ($primary, $standby)
{
	my $dir = $node->data_dir . '/pg_lancedb';
	my $name = $node->name;
	ok(!-e "$dir/$dboid/$i2", "DROP TABLE leaves no side storage on the $name");
	ok(!-e "$dir/$dboid/$i3", "TRUNCATE leaves no old side storage on the $name");
	ok(!-e "$dir/$other", "DROP DATABASE leaves no side storage on the $name");
}
isnt($primary->safe_psql('postgres', "SELECT lancedb_debug_side_storage('i3')"), $i3,
	'TRUNCATE gives the index a new storage id');

# a standby query whose files the primary retires and collects
my $bg = $standby->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $before = $bg->query_safe("SELECT count(*) FROM lancedb_debug_side_read('i1')");
is($before, '6000', 'a standby transaction reads the files');
foreach my $name (split /,/, side_visible($primary, 'postgres', 'i1'))
{
	$primary->safe_psql('postgres', "SELECT lancedb_debug_side_retire('i1', '$name')");
}
ok($primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()') >= 2,
	'the primary collects the retired files');
$primary->wait_for_catchup($standby);
my $again = eval { $bg->query("SELECT count(*) FROM lancedb_debug_side_read('i1')") };
my $stderr = $bg->{stderr} // '';
ok((defined $again && $again eq '6000' && $stderr eq '')
	  || $stderr =~ /conflict with recovery/
	  || $@ =~ /conflict with recovery|process ended prematurely|lost/,
	'the standby query is answered correctly or cancelled as a recovery conflict');
unlike($stderr, qr/could not open/, 'it never fails on a missing file');
eval { $bg->quit };
$standby->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'");
is($standby->safe_psql('postgres', "SELECT count(*) FROM lancedb_debug_side_read('i1')"), '0',
	'a new standby query sees the retirement');

# with hot_standby_feedback the primary keeps what the standby still reads
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i1', 1, 1000, 16)");
$standby->append_conf('postgresql.conf', 'hot_standby_feedback = on');
$standby->reload;
$primary->poll_query_until('postgres',
	'SELECT backend_xmin IS NOT NULL FROM pg_stat_replication')
  or die 'no feedback';
$primary->wait_for_catchup($standby);
$bg = $standby->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($bg->query_safe("SELECT count(*) FROM lancedb_debug_side_read('i1')"), '1000',
	'a standby transaction reads the new file');
my ($held) = split /,/, side_visible($primary, 'postgres', 'i1');
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_retire('i1', '$held')");
is($primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()'), '0',
	'with hot_standby_feedback the primary keeps the file the standby still reads');
$primary->wait_for_catchup($standby);
is($bg->query_safe("SELECT count(*) FROM lancedb_debug_side_read('i1')"), '1000',
	'and the standby query finishes correctly');
$bg->query_safe('COMMIT');
$bg->quit;
$primary->poll_query_until('postgres', 'SELECT lancedb_collect_garbage() = 1')
  or die 'the file was never collected';
same_files('after the standby let go', 0);

# promotion keeps everything
$primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('i3', 7, 300, 8)");
$primary->wait_for_catchup($standby);
my $reads = side_read_sum($primary, 'postgres', 'i3');
$primary->stop;
$standby->promote;
is(side_read_sum($standby, 'postgres', 'i3'), $reads, 'the promoted standby reads what the primary read');
is((side_checksums($standby))[1], (side_checksums($primary))[1],
	'the promoted standby has every file of the primary');
$standby->safe_psql('postgres', "SELECT lancedb_debug_side_write('i3', 1000, 10, 8)");
is(side_read_sum($standby, 'postgres', 'i3') =~ s/\|.*//r, '310', 'and takes new writes');
$standby->stop;
done_testing();
