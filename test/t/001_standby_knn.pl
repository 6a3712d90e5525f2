# A streaming standby, started from a base backup of a primary with lancedb
# preloaded, answers the same nearest-neighbour query as the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'lancedb'");
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION lancedb;
	CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
	INSERT INTO items
	SELECT i, array_agg(sin(i * 3 + d) ORDER BY d)::vector(16)
	FROM generate_series(1, 1000) i, generate_series(1, 16) d GROUP BY i;
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# rows written after the backup reach the standby through streaming
$primary->safe_psql('postgres', q{
	INSERT INTO items
	SELECT i, array_agg(cos(i * 5 + d) ORDER BY d)::vector(16)
	FROM generate_series(1001, 1500) i, generate_series(1, 16) d GROUP BY i;
});
$primary->wait_for_catchup($standby);

my $query = q{
	SELECT string_agg(id::text || ':' || round(d::numeric, 6)::text, ',')
	FROM (SELECT id, embedding <-> (SELECT embedding FROM items WHERE id = 1234) AS d
	      FROM items ORDER BY d, id LIMIT 10) s;
};
my $on_primary = $primary->safe_psql('postgres', $query);
my $on_standby = $standby->safe_psql('postgres', $query);

like($on_primary, qr/^1234:0\.000000,/, 'the primary finds the query row first');
is(scalar(split /,/, $on_primary), 10, 'the primary returns 10 neighbours');
is($on_standby, $on_primary, 'the standby returns the same neighbours and distances');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM items'), '1500',
	'the standby has the rows written after the base backup');

$standby->stop;
$primary->stop;
done_testing();
