# Helpers shared by the side-storage TAP tests (test/t/02N_side_*.pl).
#
# They drive the internal consumer of side storage (src/storage/side_debug.c):
# an index of access method lancedb_side_debug owns a storage directory,
# lancedb_debug_side_write() publishes a Lance file in it, and
# lancedb_debug_side_read() reads every visible file back.
package SideStorage;

use strict;
use warnings;
use Digest::SHA;
use File::Find;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(side_node side_checksums side_expected_sum side_read_sum side_visible
  side_dir side_sums_under side_wait_archived);

# A node that preloads lancedb; %params go to init() (allows_streaming, ...).
sub side_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%params);
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'lancedb'");
	return $node;
}

# { relative path => SHA-256 } of every regular file under pg_lancedb/,
# and a one-line summary of it for comparisons.
sub side_checksums
{
	my ($node) = @_;
	my $top = $node->data_dir . '/pg_lancedb';
	my %sums;
	return (\%sums, '') unless -d $top;
	find(
		{
			wanted => sub {
				return unless -f $_;
				my $rel = substr($File::Find::name, length($top) + 1);
				$sums{$rel} = Digest::SHA->new(256)->addfile($_, 'b')->hexdigest;
			},
			no_chdir => 1
		},
		$top);
	my $summary = join(',', map { "$_=$sums{$_}" } sort keys %sums);
	return (\%sums, $summary);
}

# What lancedb_debug_side_read() must return for rows first..last of
# 'dims' dimensions, summarised as "count|sum of ids|sum of all elements".
sub side_expected_sum
{
	my ($node, $db, $ranges, $dims) = @_;
	my $union = join(' UNION ALL ',
		map { "SELECT generate_series($_->[0], $_->[1])::bigint AS id" } @$ranges);
	return $node->safe_psql($db, qq{
		SELECT count(*) / $dims || '|' || coalesce(sum(id) / $dims, 0)::bigint || '|' ||
		       round(coalesce(sum(((id * 31 + d * 17) % 1000) / 8.0), 0), 3)
		FROM ($union) r, generate_series(0, $dims - 1) d});
}

# The same summary of what the index's visible side files hold.
sub side_read_sum
{
	my ($node, $db, $index) = @_;
	return $node->safe_psql($db, qq{
		SELECT count(*) || '|' || coalesce(sum(id), 0) || '|' || round(coalesce(sum(e), 0), 3)
		FROM (SELECT id, embedding, (SELECT sum(x::numeric) FROM unnest(embedding) x) AS e
		      FROM lancedb_debug_side_read('$index')) s});
}

# Names of the files a fresh snapshot sees, comma-separated in name order.
sub side_visible
{
	my ($node, $db, $index) = @_;
	return $node->safe_psql($db,
		"SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM lancedb_debug_side_files('$index')");
}

# "<database oid>/<storage id>": where the index's files live under pg_lancedb/.
sub side_dir
{
	my ($node, $db, $index) = @_;
	return $node->safe_psql($db, qq{
		SELECT (SELECT oid FROM pg_database WHERE datname = current_database()) || '/' ||
		       lancedb_debug_side_storage('$index')});
}

# The part of side_checksums($node) under pg_lancedb/$prefix/, keyed by
# the path below $prefix, and its one-line summary.
sub side_sums_under
{
	my ($node, $prefix) = @_;
	my ($all) = side_checksums($node);
	my %sums;
	foreach my $path (keys %$all)
	{
		$sums{ substr($path, length($prefix) + 1) } = $all->{$path}
		  if index($path, "$prefix/") == 0;
	}
	my $summary = join(',', map { "$_=$sums{$_}" } sort keys %sums);
	return (\%sums, $summary);
}

# Switch to a new WAL segment and wait until the one in use before is archived.
sub side_wait_archived
{
	my ($node) = @_;
	my $segment = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
	$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$segment' FROM pg_stat_archiver")
	  or die "WAL segment $segment was not archived";
	return;
}

1;
