# Side storage and pg_rewind: a primary and a streaming standby hold the same
# side files; the standby is promoted, and both sides then publish, retire
# and collect files.  pg_rewind brings the former primary back onto the new
# primary's history: what only it wrote is gone, what only it removed is
# back, and as a standby of the new primary it ends with byte-identical side
# files that read back the same.
use strict;
use warnings;
use File::Copy;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $old = side_node('old', allows_streaming => 1);
$old->append_conf('postgresql.conf', 'wal_log_hints = on');
$old->start;
$old->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int);
	CREATE INDEX ti ON t USING lancedb_side_debug (id);
});
my $dir = side_dir($old, 'postgres', 'ti');
my %file;
my %ids;
sub write_file
{
	my ($node, $tag, $first, $rows) = @_;
	$file{$tag} = $node->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', $first, $rows, 32)");
	$ids{$tag} = [ $first, $first + $rows - 1 ];
	return;
}
write_file($old, 'F1', 1, 2000);
write_file($old, 'F2', 10001, 1500);

$old->backup('base');
my $new = PostgreSQL::Test::Cluster->new('new');
$new->init_from_backup($old, 'base', has_streaming => 1);
$new->start;

# a file published after the backup reaches the standby through streaming
write_file($old, 'F3', 20001, 700);
# and a checkpoint before the histories part, for pg_rewind to start from
$old->safe_psql('postgres', 'CHECKPOINT');
$old->wait_for_catchup($new);
is((side_checksums($new))[1], (side_checksums($old))[1], 'the standby has byte-identical side files');
is(side_visible($new, 'postgres', 'ti'), side_visible($old, 'postgres', 'ti'), 'and sees the same files');

# failover; the new primary's timeline must be in its control file for pg_rewind
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'promotion failed';
$new->safe_psql('postgres', 'CHECKPOINT');

# the new primary: new files, F1 retired and removed, a new storage
write_file($new, 'N1', 30001, 1200);
write_file($new, 'N2', 40001, 900);
$new->safe_psql('postgres', "SELECT lancedb_debug_side_retire('ti', '$file{F1}')");
$new->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
$new->safe_psql('postgres', q{
	CREATE INDEX tn ON t USING lancedb_side_debug (id);
	SELECT lancedb_debug_side_write('tn', 1, 100, 8);
});
my $tn_dir = side_dir($new, 'postgres', 'tn');
ok(!exists((side_checksums($new))[0]->{"$dir/$file{F1}"}), 'the new primary removed F1');

# the old primary, diverged: its own file, F2 retired and removed, a storage of its own
write_file($old, 'O1', 50001, 1000);
$old->safe_psql('postgres', "SELECT lancedb_debug_side_retire('ti', '$file{F2}')");
$old->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
$old->safe_psql('postgres', q{
	CREATE INDEX tz ON t USING lancedb_side_debug (id);
	SELECT lancedb_debug_side_write('tz', 1, 100, 8);
});
my $old_only_dir = side_dir($old, 'postgres', 'tz');
my ($diverged) = side_checksums($old);
ok(exists $diverged->{"$dir/$file{O1}"} && !exists $diverged->{"$dir/$file{F2}"},
	'the old primary published O1 and removed F2 while diverged');
$old->stop;

# pg_rewind copies the configuration too: keep the old node's own
my $conf = $old->data_dir . '/postgresql.conf';
my $saved_conf = PostgreSQL::Test::Utils::tempdir . '/postgresql.conf';
copy($conf, $saved_conf) or die "could not save $conf: $!";
ok(run_log([ 'pg_rewind', '--target-pgdata', $old->data_dir, '--source-server', $new->connstr('postgres') ]),
	'pg_rewind of the former primary') or die 'pg_rewind failed';
copy($saved_conf, $conf) or die "could not restore $conf: $!";

my ($rewound) = side_checksums($old);
ok(!exists $rewound->{"$dir/$file{O1}"}, "pg_rewind removed the old primary's own file O1");
# (the two histories may have handed out the same storage id)
is((side_sums_under($old, $old_only_dir))[1], (side_sums_under($new, $old_only_dir))[1],
	"and the files of the old primary's own storage");
is($rewound->{"$dir/$file{F2}"}, (side_checksums($new))[0]->{"$dir/$file{F2}"},
	'and brought F2 back, byte-identical');

$old->enable_streaming($new);
$old->start;

# the new primary goes on: N1 retired and removed, a new file, tn dropped and removed
$new->safe_psql('postgres', "SELECT lancedb_debug_side_retire('ti', '$file{N1}')");
write_file($new, 'N3', 60001, 800);
$new->wait_for_catchup($old);
is($old->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the former primary is a standby');
is(side_read_sum($old, 'postgres', 'tn'), side_read_sum($new, 'postgres', 'tn'),
	'the storage made after the failover reads back the same on both');
$new->safe_psql('postgres', 'DROP INDEX tn');
$new->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
$new->wait_for_catchup($old);
ok(!-e $old->data_dir . "/pg_lancedb/$tn_dir", "the dropped index's storage is gone from the rewound standby");

my $visible = join(',', sort map { $file{$_} } qw(F2 F3 N2 N3));
is(side_visible($new, 'postgres', 'ti'), $visible, 'the new primary sees F2, F3, N2, N3');
is(side_visible($old, 'postgres', 'ti'), $visible, 'and so does the rewound standby');
my ($new_sums, $new_summary) = side_checksums($new);
is_deeply([ sort keys %$new_sums ], [ sort map { "$dir/$file{$_}" } qw(F2 F3 N2 N3) ],
	'the new primary holds exactly the visible files after garbage collection');
is((side_checksums($old))[1], $new_summary,
	"the rewound standby's side files are byte-identical to the new primary's");
my $expected = side_expected_sum($new, 'postgres', [ map { $ids{$_} } qw(F2 F3 N2 N3) ], 32);
is(side_read_sum($new, 'postgres', 'ti'), $expected, 'the new primary reads them back exactly');
is(side_read_sum($old, 'postgres', 'ti'), $expected, 'and so does the rewound standby');

$old->stop;
$new->stop;
done_testing();
