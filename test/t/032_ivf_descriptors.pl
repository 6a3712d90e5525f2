# A backend keeps a file descriptor open for each lance_ivf segment it
# caches, and a few for its I/O runtime.  fd.c must count them: it keeps up
# to max_safe_fds files of its own open and would otherwise fill the process's
# descriptor limit, leaving none for the next segment.
#
# The postmaster's descriptor limit is lowered to max_files_per_process
# (prlimit(1); backends inherit it), and one transaction alternates between
# touching many tables, which fills fd.c's cache of open files, and opening a
# cursor on another index, which pins that index's segment and its fd.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $indexes = 30;
my $tables = 60;

my $node = side_node('descriptors');
$node->append_conf('postgresql.conf', qq{
max_files_per_process = 80
autovacuum = off
# enable_seqscan = off would make every count(*) JIT-compile, and LLVM opens
# files of its own
jit = off
});
$node->start;

my $setup = "CREATE EXTENSION lancedb;\n";
foreach my $i (1 .. $indexes)
{
	$setup .= qq{
	CREATE TABLE t$i (id int, embedding vector(4));
	INSERT INTO t$i SELECT g, ARRAY[g, $i, g % 3, 1]::vector(4) FROM generate_series(1, 20) g;
	CREATE INDEX t${i}_ivf ON t$i USING lance_ivf (embedding) WITH (lists = 2);
	};
}
foreach my $i (1 .. $tables)
{
	$setup .= "CREATE TABLE p$i (x int); INSERT INTO p$i VALUES ($i);\n";
}
$node->safe_psql('postgres', $setup);

# the limit every backend started from now on inherits
my $pid = (split /\n/, slurp_file($node->data_dir . '/postmaster.pid'))[0];
system('prlimit', "--pid=$pid", '--nofile=80:80') == 0 or die "prlimit failed";

# every table's files, then a cursor on the next index, 'count' times
sub cursors
{
	my ($count) = @_;
	my $sql = "SET enable_seqscan = off;\nBEGIN;\n";
	foreach my $i (1 .. $count)
	{
		$sql .= join('', map { "SELECT count(*) FROM p$_;\n" } 1 .. $tables);
		$sql .= "DECLARE c$i CURSOR FOR SELECT id FROM t$i ORDER BY embedding <-> '[3, $i, 0, 1]' LIMIT 3;\n";
		$sql .= "FETCH 1 FROM c$i;\n";
	}
	$sql .= "SELECT count(*) FROM lancedb_debug_ivf_segments() WHERE pins > 0;\nCOMMIT;\n";
	$sql .= "SELECT count(*) FROM lancedb_debug_ivf_segments() WHERE pins > 0;\n";
	return $sql;
}

my ($ret, $out, $err) = $node->psql('postgres', cursors(12), on_error_stop => 1);
is($ret, 0, 'twelve cursors pin their segments among many open tables') or diag($err);
my @lines = split /\n/, $out;
is($lines[-2], 12, 'twelve segments were pinned at once');
is($lines[-1], 0, 'none once the transaction ended');

# more than fd.c lets external files take: a clear error, and the session goes on
($ret, $out, $err) = $node->psql('postgres', cursors($indexes) . "SELECT 'after';\n",
	on_error_stop => 0, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/ERROR:  53000: could not keep side file "[^"]+" open: too many files are kept open in this backend/,
	'too many pinned segments: insufficient resources');
unlike($err, qr/could not duplicate|Too many open files/i, 'no descriptor ran out');
like($out, qr/after$/, 'the session went on');

# and every index still answers in a new session
is($node->safe_psql('postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FROM t$indexes WHERE id IN (SELECT id FROM t$indexes ORDER BY embedding <-> '[3, 1, 0, 1]' LIMIT 3)}),
	3, 'the indexes answer afterwards');

$node->stop;
done_testing();
