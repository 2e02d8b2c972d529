#!/usr/bin/env bash
# RFM benchmark: bash bench/run.sh [customers]       (default 1000000)
#
# Runs, on one generated data set (bench/generate_orders.sql, about 10
# orders per customer) and with the same settings, the queries in
# bench/queries/:
#   a   the floor: GROUP BY customer_id with max, count, sum
#   b1  RFM in plain SQL with ntile(5)
#   b2  RFM in plain SQL with percentile_cont thresholds
#   c   RFM with the extension (only if segment is available on the server)
# Each query is wrapped as SELECT count(q) FROM (query) q: the whole-row
# count forces every output column of every row to be computed, and only
# one row goes to the client.  Each variant gets 1 warm-up and BENCH_RUNS
# (3) timed runs, each in a fresh psql session, and reports the median time
# and the backend's peak RSS (VmHWM from /proc/<pid>/status).
#
# Server: the one PGHOST/PGPORT point at if either is set (then database
# segment_bench is kept and reused when it holds the same data), else a
# throwaway cluster from test/cluster.sh.
#
# Environment: SEED (42), BENCH_RUNS (3), BENCH_WORKERS (the server's
# max_parallel_workers_per_gather), BENCH_VARIANTS ("a b1 b2 c").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The command as given, with the environment variables that change the run.
COMMAND="bash bench/run.sh${*:+ $*}"
for var in BENCH_VARIANTS BENCH_WORKERS BENCH_RUNS SEED; do
	[ -z "${!var:-}" ] || COMMAND="$var='${!var}' $COMMAND"
done

CUSTOMERS=${1:-1000000}
RUNS=${BENCH_RUNS:-3}
VARIANTS=${BENCH_VARIANTS:-a b1 b2 c}
# shellcheck source=bench/common.sh
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"
n_customers=$(sql "SELECT count(*) FROM customers")
AS_OF=$(sql "SELECT max(order_time) FROM orders")

# The extension, if the server has it.
if [[ " $VARIANTS " == *" c "* ]]; then
	if [ -n "$(sql "SELECT 1 FROM pg_available_extensions WHERE name = 'segment'")" ]; then
		# recreate it, so a kept database never runs an older install script
		sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment;
			CREATE EXTENSION segment" >/dev/null
	else
		echo "== extension segment not available: skipping (c)"
		VARIANTS=${VARIANTS/c/}
	fi
fi

query() { cat "bench/queries/$1"_*.sql; }

# One fresh session: "<ms> <VmHWM kB> <RssShmem kB> <rows>".
run_once() { bench_time "SELECT count(q) FROM ($(query "$1")) q"; }

declare -A median peak priv
for v in $VARIANTS; do
	echo "== ($v) warm-up"
	run_once "$v" >/dev/null
	times=()
	for i in $(seq "$RUNS"); do
		read -r ms hwm shm rows < <(run_once "$v")
		[ "$rows" = "$n_customers" ] || { echo "($v) returned $rows rows, expected $n_customers" >&2; exit 1; }
		echo "   run $i: $ms ms, VmHWM $hwm kB, RssShmem $shm kB"
		times+=("$ms")
		if [ "$hwm" != NA ]; then
			# keep the largest peak over the timed runs
			if [ -z "${peak[$v]:-}" ] || [ "$hwm" -gt "${peak[$v]}" ]; then
				peak[$v]=$hwm
				priv[$v]=$((hwm - shm))
			fi
		fi
	done
	median[$v]=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
done

# (b2) and (c) must give every customer the same three scores.
if [[ " $VARIANTS " == *" c "* ]]; then
	differ=$("${psql[@]}" -At -d "$DB" -v as_of="$AS_OF" <<-EOF
		SELECT count(*) FILTER (WHERE (b2.r, b2.f, b2.m) IS DISTINCT FROM (c.r, c.f, c.m))
		FROM ($(query b2)) b2 FULL JOIN ($(query c)) c USING (customer_id);
	EOF
	)
	echo "== customers whose scores differ between (b2) and (c): $differ"
fi

# The report, as markdown.
best_b=
for v in b1 b2; do
	[ -n "${median[$v]:-}" ] || continue
	if [ -z "$best_b" ] || awk -v x="${median[$v]}" -v y="$best_b" 'BEGIN { exit !(x < y) }'; then
		best_b=${median[$v]}
	fi
done
echo
bench_describe
echo "as_of: $AS_OF"
echo "Runs: 1 warm-up + $RUNS timed per variant, median; peak = largest VmHWM of the leader backend"
echo
echo "| variant | median s | x (a) | x best of (b1,b2) | peak RSS MB | peak minus shared MB |"
echo "|---|---:|---:|---:|---:|---:|"
for v in a b1 b2 c; do
	[ -n "${median[$v]:-}" ] || { [ "$v" = c ] && echo "| c | pending | | | | |"; continue; }
	awk -v v="$v" -v t="${median[$v]}" -v a="${median[a]:-}" -v b="$best_b" \
		-v h="${peak[$v]:-}" -v p="${priv[$v]:-}" 'BEGIN {
		printf "| %s | %.2f | %s | %s | %s | %s |\n", v, t / 1000,
			a == "" ? "" : sprintf("%.2f", t / a), b == "" ? "" : sprintf("%.2f", t / b),
			h == "" ? "n/a" : sprintf("%.0f", h / 1024), p == "" ? "n/a" : sprintf("%.0f", p / 1024) }'
done
