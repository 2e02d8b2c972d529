#!/usr/bin/env bash
# RFM scoring on Citus, as data grow: bash bench/citus.sh [customers]
#
# A coordinator and two workers on this machine (test/citus_cluster.sh;
# Citus is built from ../shared/vendor once).  The query scores every
# customer against all customers:
#
#   SELECT sum(recency_score(r) + frequency_score(r) + monetary_score(r))
#   FROM (SELECT rfm_score(s, as_of, 5) OVER () AS r
#         FROM (SELECT customer_id, rfm_stats(order_time, amount) AS s
#               FROM orders GROUP BY customer_id) c) x
#
# The statistics per customer are computed on the shards (8, by customer);
# the coordinator receives one row per customer and scores them.  The time
# of the whole query (by the clock), and from EXPLAIN ANALYZE that of its
# inner query alone (every customer's statistics, computed on the workers and received
# by the coordinator, with the bytes Citus says it received); the
# difference is the coordinator's own work: the window, the scores.  Two series, BENCH_RUNS runs each (default 3,
# medians):
#   orders   the same customers (default 50,000) with 1, 2 and 4 times
#            their orders (copies a week, two and three earlier)
#   customers 1, 2 and 4 times the customers, each with its own orders
# The same query on a plain database on the coordinator's server, for
# reference.  Two cores run all three nodes: the times show where the work
# lies, not a speedup.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/citus.sh${*:+ $*}"
CUSTOMERS=${1:-50000}
RUNS=${BENCH_RUNS:-3}
# shellcheck source=bench/citus_common.sh
source bench/citus_common.sh
citus_bench_start "-c client_min_messages=warning -c work_mem=1GB"
dist() { citus_psql "$coordinator" "$@"; }
plain() { psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$coordinator" -U postgres -d plain "$@"; }
psql -X -q -h "$CITUS_DIR" -p "$coordinator" -U postgres -d postgres -c "CREATE DATABASE plain"
plain -c "CREATE EXTENSION segment"

echo "== generating $((4 * CUSTOMERS)) customers"
for db in dist plain; do
	$db -v customers=$((4 * CUSTOMERS)) -v seed=42 -f bench/generate_orders.sql >/dev/null
	# the datasets: orders_c<k> (k times the customers), orders_o<k> (k times the orders)
	$db >/dev/null <<-SQL
		CREATE TABLE orders_c1 AS SELECT customer_id, order_time, amount FROM orders WHERE customer_id <= $CUSTOMERS;
		CREATE TABLE orders_c2 AS SELECT customer_id, order_time, amount FROM orders WHERE customer_id <= 2 * $CUSTOMERS;
		CREATE TABLE orders_c4 AS SELECT customer_id, order_time, amount FROM orders;
		CREATE TABLE orders_o1 AS SELECT * FROM orders_c1;
		CREATE TABLE orders_o2 AS SELECT customer_id, order_time - k * interval '7 days' AS order_time, amount
			FROM orders_c1, generate_series(0, 1) k;
		CREATE TABLE orders_o4 AS SELECT customer_id, order_time - k * interval '7 days' AS order_time, amount
			FROM orders_c1, generate_series(0, 3) k;
		DROP TABLE orders;
	SQL
done
dist >/dev/null <<-'SQL'
	SET citus.shard_count = 8;
	SELECT create_distributed_table(t, 'customer_id')
	FROM unnest(ARRAY['orders_c1', 'orders_c2', 'orders_c4', 'orders_o1', 'orders_o2', 'orders_o4']) t;
	SELECT truncate_local_data_after_distributing_table(t)
	FROM unnest(ARRAY['orders_c1', 'orders_c2', 'orders_c4', 'orders_o1', 'orders_o2', 'orders_o4']) t;
SQL
for db in dist plain; do
	$db -c "VACUUM ANALYZE" >/dev/null
	# from EXPLAIN ANALYZE: the top node's time and rows, and what Citus
	# says the coordinator received from the workers.  The whole scoring
	# query is timed by the clock instead: under EXPLAIN ANALYZE Citus sends
	# the window's intermediate results over TCP, which these nodes do not
	# listen on.
	$db >/dev/null <<-'SQL'
		CREATE FUNCTION explained(query text, OUT top_ms float8, OUT top_rows bigint, OUT received text)
		LANGUAGE plpgsql AS $$
		DECLARE
			plan jsonb;
		BEGIN
			EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
			top_ms := (plan -> 0 -> 'Plan' ->> 'Actual Total Time')::float8;
			top_rows := (plan -> 0 -> 'Plan' ->> 'Actual Rows')::bigint;
			received := jsonb_path_query_first(plan, 'strict $.**."Tuple data received from nodes"') #>> '{}';
		END $$;
		CREATE FUNCTION timed(query text) RETURNS float8 LANGUAGE plpgsql AS $$
		DECLARE
			started timestamptz := clock_timestamp();
		BEGIN
			EXECUTE query;
			RETURN extract(epoch FROM clock_timestamp() - started) * 1000;
		END $$;
	SQL
done

stats_query() {
	echo "SELECT customer_id, rfm_stats(order_time, amount) AS s FROM $1 GROUP BY customer_id"
}
score_query() {
	echo "SELECT sum(recency_score(r) + frequency_score(r) + monetary_score(r)) FROM (SELECT rfm_score(s, '2026-01-01', 5) OVER () AS r FROM ($(stats_query "$1")) c) x"
}

printf '\n| series | customers | orders | plain PostgreSQL ms | Citus ms | workers: statistics to the coordinator, ms | coordinator received | coordinator ms | coordinator µs per customer | Citus ns per order |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for table in orders_o1 orders_o2 orders_o4 orders_c2 orders_c4; do
	customers=$(plain -At -c "SELECT count(DISTINCT customer_id) FROM $table")
	orders=$(plain -At -c "SELECT count(*) FROM $table")
	score=$(score_query "$table")
	stats=$(stats_query "$table")
	[ "$(plain -At -c "$score")" = "$(dist -At -c "$score")" ] || { echo "answers differ on $table" >&2; exit 1; }
	plain_ms=() total=() part=()
	for _ in $(seq "$RUNS"); do
		plain_ms+=("$(plain -At -c "SELECT round(timed(\$q\$$score\$q\$))")")
		total+=("$(dist -At -c "SELECT round(timed(\$q\$$score\$q\$))")")
		IFS='|' read -r ms rows received < <(dist -At -c "SELECT round(top_ms), top_rows, received FROM explained(\$q\$$stats\$q\$)")
		[ "$rows" = "$customers" ] || { echo "the coordinator received $rows rows for $customers customers" >&2; exit 1; }
		part+=("$ms")
	done
	p=$(printf '%s\n' "${plain_ms[@]}" | median)
	t=$(printf '%s\n' "${total[@]}" | median)
	w=$(printf '%s\n' "${part[@]}" | median)
	series=$([[ $table == orders_o* ]] && echo "orders x${table#orders_o}" || echo "customers x${table#orders_c}")
	awk -v series="$series" -v c="$customers" -v o="$orders" -v p="$p" -v t="$t" -v w="$w" -v r="$received" 'BEGIN {
		printf "| %s | %d | %d | %d | %d | %d | %s | %d | %.1f | %.0f |\n", series, c, o, p, t, w, r, t - w, (t - w) * 1000 / c, t * 1e6 / o }'
done
echo
echo "command: $COMMAND; $RUNS runs, medians; $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB;" \
	"$("$PG_CONFIG" --version), Citus $CITUS_VERSION, 8 shards on 2 workers, all nodes on this machine"
