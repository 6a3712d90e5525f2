# A batched read that never ends (a FIFO with no data) is cancelled within a
# second by statement_timeout, pg_cancel_backend and pg_terminate_backend,
# with io_uring and with the pread pool.  Afterwards the backend keeps
# working, the runtime frees the abandoned batch once nothing can write into
# it any more (io_uring cancels the read; a pread worker holds it until the
# FIFO gets data), and no backend crashes.
use strict;
use warnings;
use Fcntl;
use POSIX qw(mkfifo);
use Time::HiRes qw(time usleep);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lancedb'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lancedb');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $data = "$dir/data.bin";
open(my $fh, '>', $data) or die;
print $fh 'x' x 65536;
close $fh;

my $nfifo = 0;

# a fresh FIFO per case: leftover bytes must never feed a later read
sub new_fifo
{
	my $path = "$dir/fifo" . $nfifo++;
	mkfifo($path, 0600) or die "mkfifo $path: $!";
	return $path;
}

sub hung_read
{
	my ($fifo) = @_;
	return "SELECT lancedb_debug_read('$fifo', ARRAY[0, 0, 0]::bigint[], 10);";
}

# write to a FIFO only if some reader still has it open
sub feed_fifo
{
	my ($fifo) = @_;
	sysopen(my $w, $fifo, O_WRONLY | O_NONBLOCK) or return 0;
	syswrite($w, 'y' x 100);
	close $w;
	return 1;
}

for my $method ('io_uring', 'pread')
{
	# statement_timeout
	my $fifo = new_fifo();
	my $t0 = time;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		SET lancedb.io_method = '$method';
		SET statement_timeout = '300ms';
		} . hung_read($fifo));
	my $elapsed = time - $t0;
	like($stderr, qr/canceling statement due to statement timeout/,
		"$method: statement_timeout cancels a read that never ends");
	ok($elapsed < 1.3, "$method: ... within a second of the timeout (" . sprintf('%.2f', $elapsed) . " s in all)");

	# pg_cancel_backend, in a session that goes on afterwards
	$fifo = new_fifo();
	my $bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_safe("SET lancedb.io_method = '$method'");
	my $pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->{stdin} .= hung_read($fifo) . "\n";
	$bg->{run}->pump_nb;
	$node->poll_query_until('postgres',
		"SELECT wait_event = 'DataFileRead' FROM pg_stat_activity WHERE pid = $pid")
	  or die "the read did not start waiting";
	$t0 = time;
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	pump_until($bg->{run}, $bg->{timeout}, \$bg->{stderr}, qr/canceling statement due to user request/);
	$elapsed = time - $t0;
	like($bg->{stderr}, qr/canceling statement due to user request/,
		"$method: pg_cancel_backend cancels a read that never ends");
	ok($elapsed < 1, "$method: ... within a second (" . sprintf('%.2f', $elapsed) . " s)");
	$bg->{stderr} = '';

	my $stats = $bg->query_safe('SELECT live_batches, in_flight FROM lancedb_debug_io_stats()');
	if ($method eq 'io_uring')
	{
		is($stats, '0|0', 'io_uring: the cancelled read was cancelled in the kernel and its batch freed');
		ok(!feed_fifo($fifo), 'io_uring: ... and its FIFO fd closed (no reader left)');
	}
	else
	{
		is($stats, '1|3', 'pread: the batch stays alive while 3 workers are still in its 3 reads');
		ok(feed_fifo($fifo), 'pread: data for the stuck worker');
		my $freed = 0;
		for (1 .. 100)
		{
			if ($bg->query_safe('SELECT live_batches FROM lancedb_debug_io_stats()') eq '0')
			{
				$freed = 1;
				last;
			}
			usleep(20_000);
		}
		ok($freed, 'pread: once the read returns, the batch and its fd are freed');
	}
	is( $bg->query_safe(qq{SELECT lancedb_debug_read('$data', ARRAY[0, 100]::bigint[], 5)}),
		'\x78787878787878787878',
		"$method: the session reads correctly after the cancel");
	$bg->quit;

	# pg_terminate_backend: the backend exits at once, without a crash
	$fifo = new_fifo();
	$bg = $node->background_psql('postgres', on_error_stop => 0);
	$bg->query_safe("SET lancedb.io_method = '$method'");
	$pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->{stdin} .= hung_read($fifo) . "\n";
	$bg->{run}->pump_nb;
	$node->poll_query_until('postgres',
		"SELECT wait_event = 'DataFileRead' FROM pg_stat_activity WHERE pid = $pid")
	  or die "the read did not start waiting";
	$t0 = time;
	$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
	my $gone = 0;
	while (time - $t0 < 5)
	{
		if (!-e "/proc/$pid")
		{
			$gone = 1;
			last;
		}
		usleep(10_000);
	}
	$elapsed = time - $t0;
	ok($gone && $elapsed < 1,
		"$method: pg_terminate_backend ends the backend within a second (" . sprintf('%.2f', $elapsed) . " s)");
	$bg->{run}->finish;
	feed_fifo($fifo);
}

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|exited with exit code [2-9]|reinitializing/,
	'no backend crashed');
is($node->safe_psql('postgres', qq{SELECT length(lancedb_debug_read('$data', ARRAY[0]::bigint[], 100))}),
	'100', 'the server serves reads at the end');

$node->stop;
done_testing();
