# The I/O runtime inside PostgreSQL: backends and parallel workers read
# through it (io_uring and the pread pool), errors come back as ERRORs with
# SQLSTATEs, a refused io_uring falls back (auto) or fails (forced), and many
# short connections leave no threads or fds behind in the postmaster or in a
# long-lived backend.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('runtime');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lancedb'
max_worker_processes = 8
max_parallel_workers = 4
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lancedb');

# a 1 MB file with a known pattern; pg_read_binary_file is the reference
my $dir = PostgreSQL::Test::Utils::tempdir;
my $data = "$dir/data.bin";
my $size = 1 << 20;
open(my $fh, '>', $data) or die "cannot write $data: $!";
binmode $fh;
print $fh join('', map { chr(($_ * 131 + ($_ >> 8)) % 256) } 0 .. $size - 1);
close $fh;

my $pm_pid = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];

sub count_dir
{
	my ($path) = @_;
	opendir(my $d, $path) or return -1;
	my $n = grep { !/^\./ } readdir($d);
	closedir $d;
	return $n;
}

# reads at these offsets, compared with the reference, for one method
sub check_reads
{
	my ($method, $what) = @_;
	my @offs = (0, 4096, 12345, 700000, $size - 100);    # the last runs past EOF
	my $arr = join(',', @offs);
	my $expected = join(' || ', map { "pg_read_binary_file('$data', $_, 4096)" } @offs);
	my $out = $node->safe_psql('postgres', qq{
		SET lancedb.io_method = '$method';
		SELECT lancedb_debug_read('$data', ARRAY[$arr]::bigint[], 4096) = ($expected),
		       length(lancedb_debug_read('$data', ARRAY[$arr]::bigint[], 4096));
		SELECT method, creator_pid = pg_backend_pid(), threads, live_batches
		FROM lancedb_debug_io_stats();
	});
	my $threads = $method eq 'io_uring' ? 1 : 4;
	is($out, "t|" . (4 * 4096 + 100) . "\n$method|t|$threads|0",
		"$what: a batch of 5 reads (one past EOF) returns the file's bytes; "
		  . "the runtime is this backend's, $threads thread(s), nothing left open");
}

check_reads('io_uring', 'io_uring');
check_reads('pread', 'pread');

# auto picks io_uring here; a refused io_uring falls back or fails
is( $node->safe_psql(
		'postgres', qq{
	SELECT length(lancedb_debug_read('$data', ARRAY[0]::bigint[], 10)) = 10;
	SELECT method FROM lancedb_debug_io_stats();}),
	"t\nio_uring",
	'auto uses io_uring where the kernel allows it');

my $out = $node->safe_psql(
	'postgres', qq{
	SET lancedb.debug_io_uring_refuse = 'eperm';
	SELECT lancedb_debug_read('$data', ARRAY[0]::bigint[], 100) = pg_read_binary_file('$data', 0, 100);
	SELECT method, fallback_reason FROM lancedb_debug_io_stats();});
like(
	$out,
	qr/^t\npread\|io_uring_setup failed: Operation not permitted/,
	'auto with io_uring refused (EPERM) reads through the pread pool and says why');

my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', qq{
	SET lancedb.debug_io_uring_refuse = 'enosys';
	SET lancedb.io_method = 'io_uring';
	\\set VERBOSITY verbose
	SELECT lancedb_debug_read('$data', ARRAY[0]::bigint[], 100);});
like(
	$stderr,
	qr/ERROR:  0A000: could not start the I\/O runtime: io_uring_setup failed: Function not implemented.*HINT:  Set lancedb.io_method to "auto"/s,
	'io_uring forced but refused (ENOSYS) is ERROR 0A000 with a hint');

# read errors are ERRORs with file-access SQLSTATEs
($ret, $stdout, $stderr) = $node->psql(
	'postgres', qq{\\set VERBOSITY verbose
	SELECT lancedb_debug_read('$dir/missing', ARRAY[0]::bigint[], 10);});
like($stderr, qr/ERROR:  58P01: could not stat file/, 'a missing file is ERROR 58P01');
($ret, $stdout, $stderr) = $node->psql(
	'postgres', qq{\\set VERBOSITY verbose
	SELECT lancedb_debug_read('$dir', ARRAY[0]::bigint[], 10);});
like($stderr, qr/ERROR:  42809: could not read file: Is a directory/,
	'a read of a directory is ERROR 42809 (EISDIR)');
($ret, $stdout, $stderr) = $node->psql(
	'postgres', qq{\\set VERBOSITY verbose
	SELECT lancedb_debug_read('$data', array_fill(0::bigint, ARRAY[70000]), 10);});
like($stderr, qr/ERROR:  22023: expected 1 to 65536 offsets/, 'too many offsets is ERROR 22023');

# not for PUBLIC
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT lancedb_debug_read('$data', ARRAY[0]::bigint[], 10)", extra_params => [ '-U', 'plain' ]);
like($stderr, qr/permission denied for function lancedb_debug_read/,
	'the debug function is not executable by PUBLIC');

# parallel workers: each builds its own runtime and reads correctly
$node->safe_psql(
	'postgres', q{
	CREATE TABLE offs (g int) WITH (fillfactor = 10);
	INSERT INTO offs SELECT generate_series(0, 3999);
	ANALYZE offs;
});
my $parallel_settings = q{
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
	SET parallel_leader_participation = off;
};
my $digest_query = qq{
	SELECT md5(string_agg(d, ',' ORDER BY g)) FROM (
		SELECT g, md5(lancedb_debug_read('$data', ARRAY[(g * 997) % $size]::bigint[], 256)) d
		FROM offs) s;
};
for my $method ('io_uring', 'pread')
{
	my $plan = $node->safe_psql('postgres', qq{
		$parallel_settings SET lancedb.io_method = '$method';
		EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
		SELECT lancedb_debug_read('$data', ARRAY[g]::bigint[], 16) FROM offs;});
	like($plan, qr/Workers Launched: 2/, "$method: the plan runs the reads in 2 parallel workers");

	my $rows = $node->safe_psql('postgres', qq{
		$parallel_settings SET lancedb.io_method = '$method';
		SELECT pg_backend_pid();
		SELECT count(*), count(DISTINCT pid), bool_and(pid <> creator_pid),
		       bool_and(pid = creator_pid), bool_and(method = '$method'),
		       bool_and(pid <> pg_backend_pid())
		FROM (SELECT lancedb_debug_read('$data', ARRAY[g * 100]::bigint[], 64) r,
		             (lancedb_debug_io_stats()).* FROM offs) s;});
	like($rows, qr/\n4000\|[12]\|f\|t\|t\|t$/,
		"$method: all 4000 rows read in workers, each worker through a runtime it created itself");

	my $parallel = $node->safe_psql('postgres', "$parallel_settings SET lancedb.io_method = '$method'; $digest_query");
	my $serial = $node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0; $digest_query");
	my $reference = $node->safe_psql(
		'postgres', qq{
		SELECT md5(string_agg(md5(pg_read_binary_file('$data', (g * 997) % $size, 256)), ',' ORDER BY g))
		FROM offs;});
	ok($parallel eq $reference && $serial eq $reference,
		"$method: 4000 reads in parallel workers and in the leader match pg_read_binary_file");
}

# many short connections: nothing piles up in the postmaster or in a backend
# that stays connected
my $long = $node->background_psql('postgres');
my $long_pid = $long->query_safe(qq{
	SELECT lancedb_debug_read('$data', ARRAY[0]::bigint[], 10) IS NOT NULL;
	SELECT pg_backend_pid();});
$long_pid = (split /\n/, $long_pid)[-1];
my @pm_before = (count_dir("/proc/$pm_pid/task"), count_dir("/proc/$pm_pid/fd"));
my @long_before = (count_dir("/proc/$long_pid/task"), count_dir("/proc/$long_pid/fd"));
is($long_before[0], 2, 'a backend that used io_uring has one runtime thread besides its own');

my $good = 0;
for my $i (1 .. 30)
{
	my $method = $i % 2 ? 'io_uring' : 'pread';
	$good++
	  if $node->safe_psql('postgres', qq{
		SET lancedb.io_method = '$method';
		SELECT lancedb_debug_read('$data', ARRAY[$i * 1000]::bigint[], 100)
		       = pg_read_binary_file('$data', $i * 1000, 100);}) eq 't';
}
is($good, 30, '30 short connections (io_uring and pread) each read correctly');

my @pm_after = (count_dir("/proc/$pm_pid/task"), count_dir("/proc/$pm_pid/fd"));
is_deeply(\@pm_after, \@pm_before,
	"the postmaster has the same threads ($pm_before[0]) and fds ($pm_before[1]) as before");
is($pm_after[0], 1, 'the postmaster has no thread besides its own');
my @long_after = (count_dir("/proc/$long_pid/task"), count_dir("/proc/$long_pid/fd"));
is_deeply(\@long_after, \@long_before, 'a long-lived backend has the same threads and fds as before');
$long->quit;

# every backend exited normally
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|exited with exit code [2-9]|reinitializing/,
	'no backend crashed or exited abnormally');

$node->stop;
done_testing();
