#!/usr/bin/env bash
# Customer tags: bash bench/tags.sh [customers]   (default 1000000)
#
# On a database segment_bench_tags of N customers (city of 100, plan of 3,
# age) with 1.5 orders each, a maintained attachment with two attribute
# rules (1% and 33% of the customers) and, for comparison, the 1% rule
# written as a behavioural rule (the same condition AND order_count >= 0,
# judged when read).  Prints the time to maintain the attachment (state and
# tags), to refill the tags, to define a rule; the reads of the segment
# views (fresh sessions, median of BENCH_RUNS, rows fetched); and the
# single-row insert throughput of customers with the tags trigger against
# a table without it (pgbench, 1 client, BENCH_SECONDS each).
#
# Uses the server PGHOST/PGPORT point at (with segment installed), else
# builds and installs segment and starts a throwaway cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CUSTOMERS=${1:-1000000}
RUNS=${BENCH_RUNS:-3}
SECONDS_EACH=${BENCH_SECONDS:-10}
DB=segment_bench_tags
work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	if declare -F cluster_stop >/dev/null; then cluster_stop; fi
}
if [ -z "${PGHOST:-}" ]; then
	# shellcheck source=test/cluster.sh
	source test/cluster.sh
	ensure_packages
	build_extension
	cluster_start
fi
trap cleanup EXIT
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
export PGOPTIONS="-c segment.as_of=2025-01-01"
psql=(psql -X -q -v ON_ERROR_STOP=1 -d "$DB")

# milliseconds of one statement in a fresh session
timed() {
	"${psql[@]}" -At -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
median() { sort -g | sed -n "$(((RUNS + 1) / 2))p"; }

dropdb --if-exists "$DB"
createdb "$DB"
"${psql[@]}" >/dev/null <<SQL
CREATE EXTENSION segment;
CREATE TABLE customers (customer_id bigint PRIMARY KEY, city text, plan text, age integer);
CREATE TABLE plain_customers (LIKE customers INCLUDING ALL);
CREATE TABLE orders (customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO customers
SELECT c, 'city' || (c % 100), (ARRAY['free', 'pro', 'team'])[1 + c % 3], 18 + c % 60
FROM generate_series(1, $CUSTOMERS) c;
INSERT INTO orders
SELECT 1 + (i::bigint * 7919) % $CUSTOMERS, timestamptz '2024-12-31' - make_interval(mins => ((i::bigint * 37) % 500000)::int),
	   (i % 200) + 0.5
FROM generate_series(1, $CUSTOMERS * 3 / 2) i;
CREATE INDEX ON orders (customer_id);
VACUUM ANALYZE customers, orders;
SELECT count(*) FROM attach('shop', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'customer_id');
SELECT define_segment_rule('shop', 'City 7', \$\$city = 'city7'\$\$);
SELECT define_segment_rule('shop', 'Pro', \$\$plan = 'pro'\$\$);
SELECT define_segment_rule('shop', 'City 7 read', \$\$city = 'city7' AND order_count >= 0\$\$);
SQL
echo "$CUSTOMERS customers, $(("$CUSTOMERS" * 3 / 2)) orders"
echo "| step | ms |"
echo "|---|---:|"
echo "| maintain_attachment (state and tags) | $(timed "SELECT maintain_attachment('shop')") |"
"${psql[@]}" -c 'VACUUM ANALYZE shop_tags, shop_state' >/dev/null
echo "| refresh_customer_tags, nothing to change | $(timed "SELECT refresh_customer_tags('shop')") |"
echo "| define_segment_rule of a 10% attribute rule (tags refilled) | $(timed "SELECT define_segment_rule('shop', 'Age 20s', 'age BETWEEN 20 AND 25')") |"
echo "| drop_segment_rule of it | $(timed "SELECT drop_segment_rule('shop', 'Age 20s')") |"
echo
echo "| read | rows | median ms |"
echo "|---|---:|---:|"
for read in "SELECT * FROM shop_segment_city_7" "SELECT * FROM shop_segment_city_7_read" \
	"SELECT * FROM shop_segment_pro" "SELECT * FROM shop_customers WHERE customer_id = 4207" \
	"SELECT * FROM shop_customers"; do
	rows=$("${psql[@]}" -At -c "SELECT count(q) FROM ($read) q")
	ms=$(for _ in $(seq "$RUNS"); do timed "SELECT count(q) FROM ($read) q"; done | median)
	echo "| \`$read\` | $rows | $ms |"
done
echo

# single-row inserts of new customers, with and without the tags trigger
start=$(("$CUSTOMERS" + 1))
for table in customers plain_customers; do
	cat >"$work/$table.sql" <<SQL
\set id random($start, $(("$CUSTOMERS" * 1000)))
INSERT INTO $table VALUES (:id, 'city' || (:id % 100), 'pro', 30) ON CONFLICT DO NOTHING;
SQL
done
echo "| single-row inserts, 1 client, ${SECONDS_EACH} s | tps |"
echo "|---|---:|"
for table in plain_customers customers plain_customers customers; do
	tps=$("$bindir/pgbench" -n -c 1 -T "$SECONDS_EACH" -f "$work/$table.sql" "$DB" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p')
	echo "| $table$([ $table = customers ] && echo ' (tags trigger)') | ${tps%.*} |"
done
tagged=$("${psql[@]}" -At -c "SELECT count(*) FROM customers c WHERE c.customer_id > $CUSTOMERS AND c.city = 'city7'
	AND NOT EXISTS (SELECT 1 FROM shop_tags t WHERE t.customer_id = c.customer_id AND t.segments ? 'City 7')")
echo "new customers in City 7 without the tag: $tagged"
dropdb "$DB"
