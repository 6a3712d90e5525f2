# lancedb.debug_io_in_postmaster (a test-only setting) creates the I/O runtime
# in the postmaster, threads included.  Backends and parallel workers forked
# from it must drop that runtime untouched and build their own on first use;
# the postmaster's own runtime must stay as it is, with no thread or fd piling
# up, however many connections come and go.  Both methods.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $dir = PostgreSQL::Test::Utils::tempdir;
my $data = "$dir/data.bin";
open(my $fh, '>', $data) or die;
print $fh join('', map { chr($_ % 251) } 0 .. 65535);
close $fh;

sub count_dir
{
	my ($path) = @_;
	opendir(my $d, $path) or return -1;
	my $n = grep { !/^\./ } readdir($d);
	closedir $d;
	return $n;
}

my $node = PostgreSQL::Test::Cluster->new('eager');
$node->init;

for my $method ('io_uring', 'pread')
{
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'lancedb'
lancedb.debug_io_in_postmaster = on
lancedb.io_method = '$method'
lancedb.io_workers = 3
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION IF NOT EXISTS lancedb');
	my $pm = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
	my $threads = $method eq 'io_uring' ? 2 : 4;

	like(slurp_file($node->logfile), qr/the postmaster \(pid $pm\) has an I\/O runtime \($method/,
		"$method: the postmaster created a runtime at start");
	my @before = (count_dir("/proc/$pm/task"), count_dir("/proc/$pm/fd"));
	is($before[0], $threads, "$method: the postmaster runs $threads threads");

	my $good = 0;
	for my $i (1 .. 20)
	{
		$good++
		  if $node->safe_psql('postgres', qq{
			SELECT lancedb_debug_read('$data', ARRAY[$i * 100, 60000]::bigint[], 1000)
			       = pg_read_binary_file('$data', $i * 100, 1000) || pg_read_binary_file('$data', 60000, 1000);
			SELECT creator_pid = pg_backend_pid(), method = '$method' FROM lancedb_debug_io_stats()})
		  eq "t\nt|t";
	}
	is($good, 20, "$method: 20 backends forked from it each read correctly through a runtime of their own");

	my $rows = $node->safe_psql('postgres', qq{
		SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
		SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
		SET parallel_leader_participation = off;
		CREATE TABLE IF NOT EXISTS offs (g int) WITH (fillfactor = 10);
		TRUNCATE offs; INSERT INTO offs SELECT generate_series(0, 1999); ANALYZE offs;
		SELECT count(*), bool_and(ok), bool_and(pid = creator_pid)
		FROM (SELECT lancedb_debug_read('$data', ARRAY[g]::bigint[], 8)
		             = pg_read_binary_file('$data', g, 8) ok,
		             (lancedb_debug_io_stats()).* FROM offs) s;});
	is($rows, '2000|t|t', "$method: parallel workers forked from it read correctly through their own runtimes");

	my @after = (count_dir("/proc/$pm/task"), count_dir("/proc/$pm/fd"));
	is_deeply(\@after, \@before, "$method: the postmaster's threads and fds did not change");

	$node->stop;
	unlike(slurp_file($node->logfile), qr/terminated by signal|exited with exit code [2-9]|reinitializing/,
		"$method: no process crashed");
	$node->rotate_logfile;
}

done_testing();
