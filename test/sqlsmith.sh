#!/usr/bin/env bash
# Random SQL from sqlsmith against a database where the extension is in use:
#
#   bash test/sqlsmith.sh [SECONDS [SEED]]     (default 720 s, a random seed)
#
# Builds and installs the extension as test/run.sh does, starts a throwaway
# cluster and attaches small shop.orders and shop.customers tables (a custom
# segment map, two rule segments, a maintained attachment), with tables of
# rfm_stats, rfm, rfm_thresholds and segment_set values (segment_set with a
# GIN index) for sqlsmith to feed to the extension's functions and operators.
# sqlsmith then runs as an unprivileged role, excluding the system catalogs,
# for SECONDS.  Every query it sends may fail; the server must not crash.
# Ends with the number of queries, how many calls reached the extension's
# functions, and the crashes found in the server log; exits non-zero on a
# crash.  Not run by CI.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=test/cluster.sh
source test/cluster.sh

seconds=${1:-720}
seed=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ensure_packages || exit 1
if ! command -v sqlsmith >/dev/null; then
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q sqlsmith || exit 1
fi
build_extension || exit 1
unset PGHOST PGPORT PGUSER PGDATABASE
cluster_start || exit 1

psql=(psql -X -q -v ON_ERROR_STOP=1)
# Count calls of C functions too; keep sqlsmith's thousands of errors out of
# the log, so that what is left there is what matters.
"${psql[@]}" -d postgres >/dev/null <<'SQL' || exit 1
ALTER SYSTEM SET track_functions = 'all';
ALTER SYSTEM SET log_min_messages = 'log';
ALTER SYSTEM SET log_min_error_statement = 'panic';
SELECT pg_reload_conf();
CREATE ROLE smith LOGIN;
CREATE DATABASE smith;
SQL
"${psql[@]}" -d smith >/dev/null <<'SQL' || exit 1
CREATE EXTENSION segment;
CREATE SCHEMA shop;
CREATE TABLE shop.customers (customer_id int PRIMARY KEY, city text, signed_up date);
CREATE TABLE shop.orders (
	order_id bigserial PRIMARY KEY,
	customer_id int,
	ordered_at timestamptz,
	amount numeric(10, 2),
	category text
);
INSERT INTO shop.customers
SELECT c, (ARRAY['Istanbul', 'Ankara', 'Berlin', NULL])[1 + c % 4], date '2023-01-01' + c
FROM generate_series(1, 200) c;
INSERT INTO shop.orders (customer_id, ordered_at, amount, category)
SELECT 1 + (i * 7) % 180,
	   timestamptz '2024-01-01' + make_interval(hours => (i * 37) % 8000),
	   CASE WHEN i % 50 = 0 THEN NULL WHEN i % 41 = 0 THEN -5 ELSE (i % 300) + 0.99 END,
	   (ARRAY['books', 'toys', 'food'])[1 + i % 3]
FROM generate_series(1, 1500) i;
CREATE INDEX ON shop.orders (customer_id);

SELECT copy_segment_map('default', 'smith_map');
UPDATE segment_map_boxes SET recency_min = 5 WHERE map_name = 'smith_map' AND segment_name = 'Champions';
INSERT INTO segment_map_boxes VALUES ('smith_map', 'Whales', 5, 1, 5, 1, 5, 5, 5);
SELECT attach('shop', 'shop.orders', customer_column => 'customer_id',
			  order_time_column => 'ordered_at', amount_column => 'amount',
			  customers => 'shop.customers', customer_key => 'customer_id',
			  map_name => 'smith_map');
SELECT define_segment_rule('shop', 'Istanbul', $$city = 'Istanbul'$$);
SELECT define_segment_rule('shop', 'Big baskets', 'average_order_value > population_average_order_value');
SELECT maintain_attachment('shop');

CREATE TABLE shop.customer_segments AS
SELECT customer_id, segment_set_agg(segment) AS segments
FROM shop.shop_segment_members GROUP BY customer_id;
INSERT INTO shop.customer_segments VALUES (1000, '{}'), (1001, NULL), (1002, '{"a b",NULL-ish,vip}');
CREATE INDEX ON shop.customer_segments USING gin (segments);

CREATE TABLE shop.customer_scores AS
SELECT customer_id, stats,
	   rfm_score(stats, timestamptz '2025-01-01') OVER () AS rfm,
	   rfm_thresholds(stats, timestamptz '2025-01-01') OVER () AS thresholds
FROM (SELECT customer_id, rfm_stats(ordered_at, amount) AS stats
	  FROM shop.orders GROUP BY customer_id) s;
INSERT INTO shop.customer_scores VALUES (1000, NULL, NULL, NULL);
CREATE INDEX ON shop.customer_scores (rfm);

GRANT USAGE ON SCHEMA shop TO smith;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shop TO smith;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA shop TO smith;
GRANT SELECT ON segment_maps, segment_map_boxes, attachments, segment_rules TO smith;
ANALYZE;
SQL

stat_query="SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'smith'"
before=$("${psql[@]}" -At -d smith -c "$stat_query")
echo "== sqlsmith for $seconds s, seed $seed"
started=$(date +%s)
timeout -s INT "$seconds" sqlsmith --target="host=$PGHOST port=$PGPORT dbname=smith user=smith" \
	--seed="$seed" --exclude-catalog --verbose >"$CLUSTER_DIR/sqlsmith.out" 2>&1
elapsed=$(($(date +%s) - started))
sleep 1   # statistics are sent at the end of a transaction, at most once a second
after=$("${psql[@]}" -At -d smith -c "$stat_query")
tail -n 40 "$CLUSTER_DIR/sqlsmith.out"

calls=$("${psql[@]}" -At -d smith -c "
	SELECT count(*) || ' of ' || (SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
								  AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
								  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segment')
		   || ' functions of the extension called, ' || coalesce(sum(calls), 0) || ' calls'
	FROM pg_stat_user_functions f JOIN pg_depend d ON d.objid = f.funcid AND d.deptype = 'e'
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segment'")
log=$CLUSTER_DIR/server.log
pattern='terminated by signal|TRAP:|PANIC:|was terminated by exception'
crashes=$(grep -cE "$pattern" "$log")
if [ "$crashes" -gt 0 ]; then
	echo "== crashes in the server log"
	grep -E -B2 -A5 "$pattern" "$log"
fi
echo "sqlsmith: seed $seed, $elapsed s, $((after - before)) queries, $calls, $crashes crashes"
[ "$crashes" -eq 0 ]
