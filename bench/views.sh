#!/usr/bin/env bash
# Reading the views of attach(): bash bench/views.sh [customers]   (default 1000000)
#
# On the data of bench/generate_orders.sql (the same database segment_bench
# that bench/run.sh uses, reused when it holds the same data), attaches the
# orders and customers tables and times reading, each in a fresh session:
#   summary   SELECT * FROM bench_segment_summary    (every segment)
#   members   SELECT * FROM bench_segment_champions  (one segment's members)
#   lifecycle SELECT * FROM bench_lifecycle_summary
# The views compute everything from the orders at read time; this is the
# baseline that maintained per-customer state will be measured against.
#
# Server and environment as for bench/run.sh (PGHOST/PGPORT, SEED,
# BENCH_RUNS, BENCH_WORKERS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/views.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
RUNS=${BENCH_RUNS:-3}
# shellcheck source=bench/common.sh
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"

sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE; CREATE EXTENSION segment" >/dev/null
as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="$PGOPTIONS -c segment.as_of=$(printf '%s' "$as_of" | sed 's/ /\\ /g')"
sql "SELECT count(*) FROM attach('bench', 'orders', 'customer_id', 'order_time', 'amount',
	customers => 'customers', customer_key => 'customer_id')" >/dev/null

declare -A queries=(
	[summary]="SELECT * FROM bench_segment_summary"
	[members]="SELECT * FROM bench_segment_champions"
	[lifecycle]="SELECT * FROM bench_lifecycle_summary"
)
echo "| read | rows | median s | peak RSS MB |"
echo "|---|---:|---:|---:|"
for name in summary members lifecycle; do
	bench_time "SELECT count(q) FROM (${queries[$name]}) q" >/dev/null   # warm-up
	times=()
	peak=0
	for _ in $(seq "$RUNS"); do
		read -r ms hwm _ rows < <(bench_time "SELECT count(q) FROM (${queries[$name]}) q")
		times+=("$ms")
		[ "$hwm" = NA ] || [ "$hwm" -le "$peak" ] || peak=$hwm
	done
	median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
	awk -v n="$name" -v r="$rows" -v t="$median" -v p="$peak" \
		'BEGIN { printf "| %s | %s | %.2f | %.0f |\n", n, r, t / 1000, p / 1024 }'
done
echo
bench_describe
