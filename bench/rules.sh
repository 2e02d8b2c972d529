#!/usr/bin/env bash
# Rule segments and the speed of the views: bash bench/rules.sh [customers]   (default 50000)
#
# On the data of bench/generate_orders.sql (database segment_bench, reused
# when it holds the same data), attaches orders and customers twice: both
# with the same 17 rules over the customers' attributes and statistics,
# and one ("slow") with an 18th rule, an EXISTS over an events table
# without an index on its customer column (4 events per customer).  Times,
# each in a fresh session, BENCH_RUNS times (default 3), medians:
#   city view       SELECT * FROM <a>_segment_berlin      (an attribute rule)
#   champions view  SELECT * FROM <a>_segment_champions   (an RFM segment)
# with the attachments unmaintained and then maintained (stored state and
# tags), and prints the ratio slow / without.  The summary is not timed
# with the slow rule: it judges that rule once per customer, which costs
# what the rule costs.
#
# Server and environment as for bench/run.sh (PGHOST/PGPORT, SEED,
# BENCH_RUNS, BENCH_WORKERS); SEGMENT_VERSION=0.6.0 measures an older
# version of the extension's views (installed through the update chain).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/rules.sh${*:+ $*}"
CUSTOMERS=${1:-50000}
RUNS=${BENCH_RUNS:-3}
# shellcheck source=bench/common.sh
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"

sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE; CREATE EXTENSION segment${SEGMENT_VERSION:+ VERSION '$SEGMENT_VERSION'}" >/dev/null
sql "DROP TABLE IF EXISTS events;
	CREATE TABLE events AS SELECT customer_id, k AS kind FROM customers, generate_series(1, 4) k;
	ANALYZE events" >/dev/null
as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="$PGOPTIONS -c segment.as_of=$(printf '%s' "$as_of" | sed 's/ /\\ /g')"

rules=(
	"Berlin|city = 'Berlin'"
	"London|city = 'London'"
	"Paris|city = 'Paris'"
	"Young|age < 25"
	"Senior|age >= 65"
	"Mobile|device = 'mobile'"
	"Tablet|device = 'tablet'"
	"Women|gender = 'female'"
	"US|country = 'US'"
	"EU|country IN ('DE', 'FR', 'ES', 'IT', 'NL', 'PL', 'SE')"
	"Early signups|signup_date < '2024-02-01'"
	"Frequent|order_count >= 5"
	"Big spenders|total_amount > 500"
	"Big baskets|average_order_value > population_average_order_value"
	"Recent|recency_days <= 30"
	"At risk stage|lifecycle_stage = 'at_risk'"
	"Young mobile|age < 30 AND device = 'mobile'"
)
for a in without slow; do
	sql "SELECT count(*) FROM attach('$a', 'orders', 'customer_id', 'order_time', 'amount',
		customers => 'customers', customer_key => 'customer_id')" >/dev/null
	for r in "${rules[@]}"; do
		sql "SELECT define_segment_rule('$a', \$r\$${r%%|*}\$r\$, \$e\$${r#*|}\$e\$)" >/dev/null
	done
done
sql "SELECT define_segment_rule('slow', 'Clicked',
	'EXISTS (SELECT 1 FROM events e WHERE e.customer_id = customer.customer_id)')" >/dev/null

median() {
	local times=() ms
	bench_time "$1" >/dev/null   # warm-up
	for _ in $(seq "$RUNS"); do
		read -r ms _ < <(bench_time "$1")
		times+=("$ms")
	done
	printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p"
}

echo "segment $(sql "SELECT extversion FROM pg_extension WHERE extname = 'segment'")"
echo "| attachments | view | rows | without the slow rule, s | with it, s | ratio |"
echo "|---|---|---:|---:|---:|---:|"
for mode in unmaintained maintained; do
	if [ "$mode" = maintained ]; then
		sql "CREATE INDEX IF NOT EXISTS orders_customer_id ON orders (customer_id);
			SET client_min_messages = error;
			SELECT maintain_attachment('without'), maintain_attachment('slow')" >/dev/null
	fi
	for view in segment_berlin segment_champions; do
		rows=$(sql "SELECT count(*) FROM without_$view")
		[ "$rows" = "$(sql "SELECT count(*) FROM slow_$view")" ] || { echo "the two attachments differ on $view" >&2; exit 1; }
		without=$(median "SELECT count(q) FROM (SELECT * FROM without_$view) q")
		slow=$(median "SELECT count(q) FROM (SELECT * FROM slow_$view) q")
		awk -v m="$mode" -v v="$view" -v r="$rows" -v a="$without" -v b="$slow" \
			'BEGIN { printf "| %s | %s | %s | %.3f | %.3f | %.2f |\n", m, v, r, a / 1000, b / 1000, b / a }'
	done
done
echo
bench_describe
