# lancedb_prewarm() puts a lance_ivf index's side files into the page cache.
# A build writes large files around the page cache, and the kernel may drop
# any of them later; here they are dropped on purpose (dd's nocache flag, that
# is POSIX_FADV_DONTNEED) and fincore(1) counts the resident pages before and
# after.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SideStorage;
use Test::More;

my $node = side_node('prewarm');
$node->start;
# about 10 MB of vectors: more than one staging buffer, so written directly
$node->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(128));
	INSERT INTO items
	SELECT i, array_agg(sin(i * 0.1 + d) + (i % 7) ORDER BY d)::vector(128)
	FROM generate_series(1, 20000) i, generate_series(1, 128) d GROUP BY i;
	CREATE INDEX items_ivf ON items USING lance_ivf (embedding) WITH (lists = 20);
});

my @files = map { $node->data_dir . "/pg_lancedb/$_" } split /\n/, $node->safe_psql('postgres', q{
	SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' ||
	       s.storage_id || '/' || f.name
	FROM lancedb_catalog.storage s JOIN lancedb_catalog.side_file f USING (storage_id)
	WHERE s.relid = 'items_ivf'::regclass ORDER BY f.name});
ok(@files >= 1, 'the index has side files');

my $page = `getconf PAGESIZE`;
chomp $page;
my ($bytes, $pages) = (0, 0);
foreach my $file (@files)
{
	$bytes += -s $file;
	$pages += int((-s $file) / $page) + ((-s $file) % $page ? 1 : 0);
}
cmp_ok($bytes, '>', 4 * 1024 * 1024, 'the files are larger than a staging buffer');

# pages of the index's files in the page cache
sub resident_pages
{
	my $sum = 0;
	foreach my $file (@files)
	{
		my $out = `fincore --noheadings --output PAGES '$file'`;
		die "fincore failed on $file" if $? != 0;
		$out =~ s/\s+//g;
		$sum += $out;
	}
	return $sum;
}

foreach my $file (@files)
{
	system('dd', 'if=/dev/null', "of=$file", 'oflag=nocache', 'conv=notrunc,fdatasync',
		'count=0', 'status=none') == 0
	  or die "could not drop $file from the page cache";
}
my $dropped = resident_pages();

SKIP:
{
	# a file system whose pages cannot be dropped (tmpfs) cannot show a prewarm
	skip "the page cache kept $dropped of $pages pages here", 3 if $dropped >= $pages / 10;
	pass("dropped from the page cache ($dropped of $pages pages left)");
	is($node->safe_psql('postgres', q{SELECT lancedb_prewarm('items_ivf')}),
		$bytes, 'lancedb_prewarm returns the bytes of the files');
	is(resident_pages(), $pages, 'every page of the files is in the page cache');
}

# and the index answers from there as before
is($node->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = 77) LIMIT 10) s}),
	10, 'the prewarmed index answers');

$node->stop;
done_testing();
