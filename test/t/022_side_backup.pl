# Side storage and base backups.
#
# (a) pg_basebackup of a primary with data checksums, taken while a session
#     keeps publishing side files, retiring some and collecting garbage.  The
#     backup succeeds (nothing under pg_lancedb/ is taken for a relation
#     page), verifies, and the restored node holds exactly what committed by
#     the backup's end: every visible file byte-identical to what the primary
#     published, read back exactly, and nothing else left after garbage
#     collection.
# (b) Point-in-time recovery from an earlier base backup and the WAL archive
#     to a restore point taken after file A was published and before file B
#     was published and A retired (and removed): A is visible and identical,
#     B is not there.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $primary = side_node('primary',
	extra => ['--data-checksums'],
	allows_streaming => 1,
	has_archiving => 1);
$primary->start;
is($primary->safe_psql('postgres', 'SHOW data_checksums'), 'on', 'data checksums are on');
$primary->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE t (id int);
	CREATE INDEX ti ON t USING lancedb_side_debug (id);
	-- what the writer committed, in the same transactions as its side files
	CREATE TABLE log (seq int PRIMARY KEY, name text NOT NULL, first_id bigint, last_id bigint,
	                  sha bytea, lsn pg_lsn, retired bool NOT NULL DEFAULT false);
	CREATE TABLE stop (x int);
});
my $ti_dir = side_dir($primary, 'postgres', 'ti');

# the base backup that (b) recovers from
$primary->backup('early');

# ---- (a) a base backup while writes run

# Each iteration publishes a file and logs its name, ids and SHA-256 (read
# back through the server) and the WAL insert position before its commit;
# every third retires the file of two iterations before, every seventh
# collects garbage.  Runs until a row appears in "stop".
my $writes = qq{
DO \$\$
DECLARE
	i int := 0;
	f text;
BEGIN
	LOOP
		EXIT WHEN i >= 5000 OR EXISTS (SELECT FROM stop);
		i := i + 1;
		f := lancedb_debug_side_write('ti', i * 1000, 300, 24);
		INSERT INTO log VALUES (i, f, i * 1000, i * 1000 + 299,
			sha256(pg_read_binary_file('pg_lancedb/$ti_dir/' || f)), pg_current_wal_insert_lsn());
		IF i % 3 = 0 THEN
			PERFORM lancedb_debug_side_retire('ti', name) FROM log WHERE seq = i - 2;
			UPDATE log SET retired = true WHERE seq = i - 2;
		END IF;
		COMMIT;
		IF i % 7 = 0 THEN
			PERFORM lancedb_collect_garbage();
			COMMIT;
		END IF;
	END LOOP;
END \$\$;
};
my ($wout, $werr) = ('', '');
my $writer = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $primary->connstr('postgres'), '-c', $writes ],
	'>', \$wout, '2>', \$werr);
$primary->poll_query_until('postgres', 'SELECT count(*) >= 10 FROM log')
  or die 'the writer does not write';

my $backup = $primary->backup_dir . '/live';
my ($bout, $berr) = ('', '');
my $backup_ok = IPC::Run::run(
	[ 'pg_basebackup', '-D', $backup, '-d', $primary->connstr('postgres'),
		'--checkpoint', 'fast', '--no-sync', '-X', 'stream' ],
	'>', \$bout, '2>', \$berr);
$primary->safe_psql('postgres', 'INSERT INTO stop VALUES (1)');
ok($writer->finish, 'the writer ran without error') or diag($werr);
my $written = $primary->safe_psql('postgres', 'SELECT max(seq) FROM log');

ok($backup_ok, 'pg_basebackup succeeds with data checksums and side files') or diag($berr);
unlike($berr, qr/checksum|WARNING/i, 'pg_basebackup reports no checksum failure');
ok(-d "$backup/pg_lancedb/$ti_dir", 'the backup holds the side storage directory');
command_ok([ 'pg_verifybackup', '-n', $backup ], 'pg_verifybackup accepts the backup');

# the backup's WAL range, from its manifest
my $manifest = slurp_file("$backup/backup_manifest");
my ($start_lsn, $end_lsn) = $manifest =~ /"Start-LSN": "([0-9A-F\/]+)", "End-LSN": "([0-9A-F\/]+)"/i
  or die 'no WAL range in the backup manifest';

# writes committed while the backup ran, else this tests nothing
ok($primary->safe_psql('postgres',
		"SELECT count(*) FROM log WHERE lsn > '$start_lsn' AND lsn < '$end_lsn'") >= 2,
	'files were published while the backup ran');
# row i surely committed before the backup's end if row i+1's position is before it
my $must_have = $primary->safe_psql('postgres', qq{
	SELECT coalesce(max(l.seq), 0) FROM log l JOIN log n ON n.seq = l.seq + 1
	WHERE n.lsn <= '$end_lsn'});
ok($must_have >= 10, "at least $must_have writes committed before the backup's end");

my $restored = PostgreSQL::Test::Cluster->new('restored');
$restored->init_from_backup($primary, 'live');
$restored->start;
my ($count, $max) = split /\|/, $restored->safe_psql('postgres', 'SELECT count(*), max(seq) FROM log');
is($count, $max, 'the restored node has a prefix of the writes');
cmp_ok($max, '>=', $must_have, "and every write committed before the backup's end ($max >= $must_have)");
cmp_ok($max, '<=', $written, 'and not more than the primary wrote');

my $logged = $restored->safe_psql('postgres',
	q{SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM log WHERE NOT retired});
is(side_visible($restored, 'postgres', 'ti'), $logged,
	'the restored node sees exactly the files committed and not retired');
my @ranges = map { [ split /\|/ ] } split /\n/, $restored->safe_psql('postgres',
	'SELECT first_id, last_id FROM log WHERE NOT retired ORDER BY seq');
is(side_read_sum($restored, 'postgres', 'ti'), side_expected_sum($restored, 'postgres', \@ranges, 24),
	'the restored files read back exactly');

my $expected_sums = $restored->safe_psql('postgres',
	q{SELECT coalesce(string_agg(name || '=' || encode(sha, 'hex'), ',' ORDER BY name), '')
	  FROM log WHERE NOT retired});
my ($on_disk) = side_sums_under($restored, $ti_dir);
my %expected = map { split /=/ } split /,/, $expected_sums;
my @differ = grep { ($on_disk->{$_} // 'missing') ne $expected{$_} } sort keys %expected;
is("@differ", '', 'every visible file is byte-identical to what the primary published');

# aborted and retired leftovers go; what is visible stays
$restored->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
is((side_sums_under($restored, $ti_dir))[1], $expected_sums,
	'after garbage collection the restored node holds exactly the visible files');
is(side_read_sum($restored, 'postgres', 'ti'), side_expected_sum($restored, 'postgres', \@ranges, 24),
	'and they still read back exactly');
$restored->safe_psql('postgres', "SELECT lancedb_debug_side_write('ti', 99000001, 100, 24)");
push @ranges, [ 99000001, 99000100 ];
is(side_read_sum($restored, 'postgres', 'ti'), side_expected_sum($restored, 'postgres', \@ranges, 24),
	'the restored node publishes new files');
$restored->stop;

# the primary too ends with exactly its visible files
$primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
is((side_sums_under($primary, $ti_dir))[1],
	$primary->safe_psql('postgres',
		q{SELECT string_agg(name || '=' || encode(sha, 'hex'), ',' ORDER BY name) FROM log WHERE NOT retired}),
	'the primary holds exactly its visible files after garbage collection');

# ---- (b) point-in-time recovery to a restore point

$primary->safe_psql('postgres', 'CREATE INDEX tp ON t USING lancedb_side_debug (id)');
my $tp_dir = side_dir($primary, 'postgres', 'tp');
my $file_a = $primary->safe_psql('postgres', "SELECT lancedb_debug_side_write('tp', 1, 1000, 48)");
my $ti_at_target = side_visible($primary, 'postgres', 'ti');
my ($ti_sums_at_target) = side_sums_under($primary, $ti_dir);
my ($tp_at_target, $tp_summary) = side_sums_under($primary, $tp_dir);
is_deeply([ keys %$tp_at_target ], [$file_a], 'file A is published');
$primary->safe_psql('postgres', "SELECT pg_create_restore_point('before_b')");

my $file_b = $primary->safe_psql('postgres', qq{
	BEGIN;
	SELECT lancedb_debug_side_retire('tp', '$file_a');
	SELECT lancedb_debug_side_write('tp', 5001, 800, 48);
	COMMIT;});
$file_b =~ s/^\s+//;
is(side_visible($primary, 'postgres', 'tp'), $file_b, 'the primary sees B and not A');
$primary->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
is(join(',', keys %{ (side_sums_under($primary, $tp_dir))[0] }), $file_b,
	'and garbage collection removed A from the primary');
side_wait_archived($primary);

my $pitr = PostgreSQL::Test::Cluster->new('pitr');
$pitr->init_from_backup($primary, 'early', has_restoring => 1);
$pitr->append_conf('postgresql.conf', q{
recovery_target_name = 'before_b'
recovery_target_action = 'promote'
});
$pitr->start;
$pitr->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'point-in-time recovery did not finish';
ok($pitr->log_contains(qr/recovery stopping at restore point "before_b"/),
	'recovery stopped at the restore point');

is(side_visible($pitr, 'postgres', 'tp'), $file_a, 'at the restore point A is visible and B is not');
is((side_sums_under($pitr, $tp_dir))[1], $tp_summary,
	'the storage holds A alone, byte-identical');
is(side_read_sum($pitr, 'postgres', 'tp'), side_expected_sum($pitr, 'postgres', [ [ 1, 1000 ] ], 48),
	'A reads back exactly');
is(side_visible($pitr, 'postgres', 'ti'), $ti_at_target,
	'the files of the other index are those visible at the restore point');
is_deeply((side_sums_under($pitr, $ti_dir))[0], $ti_sums_at_target,
	'and byte-identical, with what garbage collection removed before it gone');
$pitr->safe_psql('postgres', 'SELECT lancedb_collect_garbage()');
is((side_sums_under($pitr, $tp_dir))[1], $tp_summary,
	'garbage collection on the recovered node keeps A');

$pitr->stop;
$primary->stop;
done_testing();
