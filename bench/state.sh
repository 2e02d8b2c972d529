#!/usr/bin/env bash
# Maintained state: bash bench/state.sh [customers]   (default 1000000)
#
# 1. Bulk load: COPY of BENCH_COPY_ORDERS (500,000) orders of 100,000
#    customers from a server-side file into an empty orders table with a
#    primary key and a customer index, without and with a maintained
#    attachment (its state written when the COPY commits), BENCH_ROUNDS (3)
#    rounds, every other one in the opposite order.
# 2. Insert throughput with pgbench, 2 clients, BENCH_SECONDS (20) each, one
#    order per transaction for a random customer of 100,000, into two
#    orders tables that start with one order per customer (so that the
#    thresholds exist): without trigger and with a maintained attachment.
#    Each run starts after a VACUUM of the tables and a CHECKPOINT.
# 3. Read latency through the maintained state on the generated data set
#    (bench/generate_orders.sql, database segment_bench): the segment
#    summary, one segment's members and their count, BENCH_READS (11) reads
#    each, p50 and p95.
# BENCH_ONLY=copy, insert or read runs one part.  Server and environment as
# for bench/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/state.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
READS=${BENCH_READS:-11}
# shellcheck source=bench/common.sh
source bench/common.sh
ONLY=${BENCH_ONLY:-}
bench_server
[ "$ONLY" != "" ] && [ "$ONLY" != read ] || bench_data "$CUSTOMERS"
pgbench=$("${PG_CONFIG:-pg_config}" --bindir)/pgbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the state tables of earlier runs outlive the extension
sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE;
	DROP TABLE IF EXISTS ins_state, ins_cells, load_state, load_cells, bench_state, bench_cells, bench_tags,
		ins_history, insb_state, load_history, bare_state, bench_history;
	CREATE EXTENSION segment" >/dev/null
# bulk load
if [ "$ONLY" = "" ] || [ "$ONLY" = copy ]; then
COPY_ORDERS=${BENCH_COPY_ORDERS:-500000}
csv=/tmp/segment_bench_orders.csv
sql "COPY (SELECT i, 1 + (i * 7919) % 100000, timestamptz '2024-01-01' + (i % 700) * interval '1 day' + (i % 86400) * interval '1 second',
			   round(((i * 31) % 10000) / 100.0, 2)
		  FROM generate_series(1::bigint, $COPY_ORDERS) i) TO '$csv'" >/dev/null
"${psql[@]}" -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS load_plain, load_kept, load_bare;
CREATE TABLE load_plain (order_id bigint PRIMARY KEY, customer_id bigint, order_time timestamptz, amount numeric(12, 2));
CREATE INDEX ON load_plain (customer_id);
CREATE TABLE load_kept (LIKE load_plain INCLUDING ALL);
CREATE TABLE load_bare (LIKE load_plain INCLUDING ALL);
SELECT count(*) FROM attach('load', 'load_kept', 'customer_id', 'order_time', 'amount');
SELECT maintain_attachment('load');
-- maintained without history
SELECT count(*) FROM attach('bare', 'load_bare', 'customer_id', 'order_time', 'amount');
SELECT maintain_attachment('bare');
SELECT drop_segment_history('bare');
SQL
declare -A copy_ms
ROUNDS=${BENCH_ROUNDS:-3}
for round in $(seq "$ROUNDS"); do
	order=(load_plain load_kept load_bare)
	[ $((round % 2)) -eq 0 ] && order=(load_bare load_kept load_plain)
	for table in "${order[@]}"; do
		sql "TRUNCATE $table" >/dev/null
		sql "VACUUM load_plain, load_kept, load_state, load_history, load_bare, bare_state" >/dev/null
		sql "CHECKPOINT" >/dev/null
		read -r ms _ < <(bench_time "COPY $table FROM '$csv'")
		copy_ms[$table,$round]=$ms
	done
done
[ "$(sql "SELECT count(*) FROM load_state")" = "$(sql "SELECT count(DISTINCT customer_id) FROM load_kept")" ] ||
	{ echo "the state of the bulk load is wrong" >&2; exit 1; }
echo "| COPY $COPY_ORDERS orders, 100,000 customers | s per round | throughput x unmaintained, per round | x maintained without history |"
echo "|---|---:|---:|---:|"
for table in load_plain load_bare load_kept; do
	t="" r="" h=""
	for round in $(seq "$ROUNDS"); do
		t+="${t:+ / }$(awk -v a="${copy_ms[$table,$round]}" 'BEGIN { printf "%.1f", a / 1000 }')"
		r+="${r:+ / }$(awk -v a="${copy_ms[$table,$round]}" -v b="${copy_ms[load_plain,$round]}" 'BEGIN { printf "%.2f", b / a }')"
		h+="${h:+ / }$(awk -v a="${copy_ms[$table,$round]}" -v b="${copy_ms[load_bare,$round]}" 'BEGIN { printf "%.2f", b / a }')"
	done
	echo "| $table | $t | $r | $h |"
done
rm -f "$csv"
echo
fi

# single-row inserts
if [ "$ONLY" = "" ] || [ "$ONLY" = insert ]; then
"${psql[@]}" -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS ins_plain, ins_c, ins_b;
CREATE TABLE ins_plain (order_id bigserial PRIMARY KEY, customer_id bigint, order_time timestamptz, amount numeric(12, 2));
CREATE INDEX ON ins_plain (customer_id);
CREATE TABLE ins_c (LIKE ins_plain INCLUDING ALL);
CREATE TABLE ins_b (LIKE ins_plain INCLUDING ALL);
-- one order for each customer first, so that maintain_attachment computes
-- real thresholds and the state scores against them
INSERT INTO ins_plain (customer_id, order_time, amount)
SELECT c, now() - (c % 700) * interval '1 day', (c % 100) + 0.5 FROM generate_series(1, 100000) c;
INSERT INTO ins_c SELECT * FROM ins_plain;
INSERT INTO ins_b SELECT * FROM ins_plain;
SELECT count(*) FROM attach('ins', 'ins_c', 'customer_id', 'order_time', 'amount');
SELECT maintain_attachment('ins');
-- maintained without history
SELECT count(*) FROM attach('insb', 'ins_b', 'customer_id', 'order_time', 'amount');
SELECT maintain_attachment('insb');
SELECT drop_segment_history('insb');
SQL

declare -A tps
sql "SELECT pg_stat_reset_single_table_counters('ins_state'::regclass)" >/dev/null
ROUNDS=${BENCH_ROUNDS:-3}
tables=(ins_plain ins_b ins_c)
for table in "${tables[@]}"; do
	cat >"$work/$table.sql" <<-EOF
		\set c random(1, 100000)
		INSERT INTO $table (customer_id, order_time, amount)
		VALUES (:c, now() - random() * interval '700 days', round((random() * 100)::numeric, 2));
	EOF
done
for round in $(seq "$ROUNDS"); do
	order=("${tables[@]}")
	[ $((round % 2)) -eq 0 ] && order=(ins_c ins_b ins_plain)
	for table in "${order[@]}"; do
		# every run starts vacuumed and at a checkpoint, so that none pays for
		# the vacuuming or the full-page writes its predecessor caused
		sql "VACUUM ins_plain, ins_c, ins_state, ins_history, ins_b, insb_state" >/dev/null
		sql "CHECKPOINT" >/dev/null
		"$pgbench" -n -c 2 -j 2 -T "$SECONDS_PER_RUN" -f "$work/$table.sql" "$DB" >"$work/$table.log" 2>&1
		tps[$table,$round]=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$table.log")
	done
done
echo "| inserts, 2 clients | tps per round | x no trigger, per round | x maintained without history |"
echo "|---|---:|---:|---:|"
for table in "${tables[@]}"; do
	t="" r="" h=""
	for round in $(seq "$ROUNDS"); do
		t+="${t:+ / }$(printf '%.0f' "${tps[$table,$round]}")"
		r+="${r:+ / }$(awk -v a="${tps[$table,$round]}" -v b="${tps[ins_plain,$round]}" 'BEGIN { printf "%.2f", a / b }')"
		h+="${h:+ / }$(awk -v a="${tps[$table,$round]}" -v b="${tps[ins_b,$round]}" 'BEGIN { printf "%.2f", a / b }')"
	done
	echo "| $table | $t | $r | $h |"
done
sql "SELECT relname || ': ' || n_tup_upd || ' updates, ' || round(100.0 * n_tup_hot_upd / greatest(n_tup_upd, 1)) || '% heap-only'
	 FROM pg_stat_user_tables WHERE relname = 'ins_state'"
echo
fi

# reads through the maintained state at the full data set
if [ "$ONLY" = "" ] || [ "$ONLY" = read ]; then
as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="$PGOPTIONS -c segment.as_of=$(printf '%s' "$as_of" | sed 's/ /\\ /g')"
sql "CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id)" >/dev/null
sql "SELECT count(*) FROM attach('bench', 'orders', 'customer_id', 'order_time', 'amount',
	customers => 'customers', customer_key => 'customer_id')" >/dev/null
sql "SELECT maintain_attachment('bench')" >/dev/null
echo
echo "| read through the maintained state | p50 s | p95 s |"
echo "|---|---:|---:|"
for query in "SELECT count(q) FROM (SELECT * FROM bench_segment_summary) q" \
	"SELECT count(q) FROM (SELECT * FROM bench_segment_champions) q" \
	"SELECT count(*) FROM bench_segment_champions"; do
	times=()
	for _ in $(seq "$READS"); do
		read -r ms _ < <(bench_time "$query")
		times+=("$ms")
	done
	printf '%s\n' "${times[@]}" | sort -g | awk -v q="$query" '{ t[NR] = $1 }
		END { printf "| %s | %.2f | %.2f |\n", q, t[int((NR + 1) / 2)] / 1000, t[int(NR * 0.95 + 0.999)] / 1000 }'
done
fi
echo
bench_describe
