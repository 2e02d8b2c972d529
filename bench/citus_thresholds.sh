#!/usr/bin/env bash
# A population's thresholds on Citus: bash bench/citus_thresholds.sh [customers]
#
# A coordinator and two workers on this machine (test/citus_cluster.sh), a
# table of per-customer statistics distributed over 8 shards (what a
# maintained attachment's state holds), with 1, 4 and 16 times the
# customers (default 50,000).  Side by side in one run, the same thresholds
# two ways:
#   aggregate  SELECT rfm_thresholds(stats, as_of, 5) FROM stats: every
#              customer's row goes to the coordinator, which selects the
#              percentiles (received: what EXPLAIN ANALYZE says Citus
#              received)
#   passes     segment_internal.rfm_thresholds_by_selection(), which
#              refresh_attachment_thresholds() uses on Citus: the workers
#              count key ranges, the coordinator receives the counts
#              (rows: the counts back, 40 bytes of data each)
# Both give the same text, checked every run.  BENCH_RUNS runs each
# (default 3), medians.  Two cores run all three nodes: the times show
# the cost of the passes' extra scans here, not what a cluster of machines
# would gain.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/citus_thresholds.sh${*:+ $*}"
CUSTOMERS=${1:-50000}
RUNS=${BENCH_RUNS:-3}
# shellcheck source=bench/citus_common.sh
source bench/citus_common.sh
citus_bench_start "-c client_min_messages=warning -c work_mem=1GB"
dist() { citus_psql "$coordinator" "$@"; }

dist >/dev/null <<-'SQL'
	CREATE FUNCTION explained(query text, OUT received text)
	LANGUAGE plpgsql AS $$
	DECLARE
		plan jsonb;
	BEGIN
		EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
		received := jsonb_path_query_first(plan, 'strict $.**."Tuple data received from nodes"') #>> '{}';
	END $$;
	-- both timed alike: the passes' queries run inside a function, under
	-- which EXPLAIN ANALYZE has Citus send intermediate results over TCP,
	-- which these nodes do not listen on
	CREATE FUNCTION timed(query text) RETURNS float8 LANGUAGE plpgsql AS $$
	DECLARE
		started timestamptz := clock_timestamp();
	BEGIN
		EXECUTE query;
		RETURN extract(epoch FROM clock_timestamp() - started) * 1000;
	END $$;
	CREATE TABLE stats (customer_id bigint, stats rfm_stats);
	SELECT create_distributed_table('stats', 'customer_id', shard_count => 8);
SQL

aggregate="SELECT rfm_thresholds(stats, '2026-01-01', 5) FROM stats"
passes="SELECT segment_internal.rfm_thresholds_by_selection('SELECT stats FROM public.stats', '2026-01-01', '{5,5,5}')"
printf '\n| customers | aggregate ms | aggregate: coordinator received | passes ms | passes | counts back | passes / aggregate, time |\n'
printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
have=0
for factor in 1 4 16; do
	customers=$((factor * CUSTOMERS))
	# customers with 1 to 12 orders over two years, amounts to 500.00
	dist -c "INSERT INTO stats
		SELECT c, rfm_stats(timestamptz '2024-01-01' + (hashint8(c * 16 + k)::bigint & 16777215) * interval '3.7 s',
							((hashint8(c * 31 + k)::bigint & 65535) / 131.0)::numeric(12, 2))
		FROM generate_series($((have + 1)), $customers) c, generate_series(1, 1 + c % 12) k GROUP BY c" >/dev/null
	dist -c "VACUUM ANALYZE stats" >/dev/null
	have=$customers
	[ "$(dist -At -c "$aggregate")" = "$(dist -At -c "$passes")" ] || { echo "answers differ at $customers customers" >&2; exit 1; }
	counts=$(dist -c "SET client_min_messages = debug1" -c "$passes" 2>&1 >/dev/null |
		sed -n 's/.*pass \([0-9]*\), [0-9]* key ranges, \([0-9]*\) counts back/\1 \2/p' |
		awk '{ n = $1; c += $2 } END { print n, c }')
	received=$(dist -At -c "SELECT received FROM explained(\$q\$$aggregate\$q\$)")
	aggregate_ms=() passes_ms=()
	for _ in $(seq "$RUNS"); do
		aggregate_ms+=("$(dist -At -c "SELECT round(timed(\$q\$$aggregate\$q\$))")")
		passes_ms+=("$(dist -At -c "SELECT round(timed(\$q\$$passes\$q\$))")")
	done
	a=$(printf '%s\n' "${aggregate_ms[@]}" | median)
	p=$(printf '%s\n' "${passes_ms[@]}" | median)
	awk -v c="$customers" -v a="$a" -v r="$received" -v p="$p" -v counts="$counts" 'BEGIN {
		split(counts, x, " ")
		printf "| %d | %d | %s | %d | %d | %d (%.0f kB) | %.2f |\n", c, a, r, p, x[1], x[2], x[2] * 40 / 1000, p / a }'
done
echo
echo "command: $COMMAND; $RUNS runs, medians; $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB;" \
	"$("$PG_CONFIG" --version), Citus $CITUS_VERSION, 8 shards on 2 workers, all nodes on this machine"
