#!/usr/bin/env bash
# Writes with maintained state on Citus: bash bench/citus_state.sh [orders]
#
# A coordinator and two workers on this machine (test/citus_cluster.sh),
# orders distributed by customer over 8 shards, and the same table on a
# plain database on the coordinator's server.  Each without and with
# maintained state (maintain_attachment(); on the plain database without
# its history, which Citus does not keep), side by side in one run:
#   copy     COPY of the orders (default 500,000, of 50,000 customers) into
#            the empty table, through the coordinator
#   single   pgbench, 2 clients, one order per transaction
#   pair     pgbench, 2 clients, two orders of two random customers (any
#            shards) per transaction
# BENCH_RUNS runs each (default 3), medians; the ratios are with state over
# without.  Two cores run all three nodes and the clients: compare the
# ratios, not the absolute numbers, with a real cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/citus_state.sh${*:+ $*}"
ORDERS=${1:-500000}
CUSTOMERS=$((ORDERS / 10))
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-15}
# shellcheck source=bench/citus_common.sh
source bench/citus_common.sh
citus_bench_start "-c client_min_messages=warning"
psql -X -q -h "$CITUS_DIR" -p "$coordinator" -U postgres -d postgres -c "CREATE DATABASE plain"
citus_psql "$coordinator" -d plain -c "CREATE EXTENSION segment"
db() { citus_psql "$coordinator" -d "$1" "${@:2}"; }

data=$CITUS_DIR/orders.copy
db citus -At -c "COPY (SELECT 1 + (g::bigint * 7919) % $CUSTOMERS, timestamptz '2025-01-01' + g * interval '1 minute', (g % 97) + 0.99
				 FROM generate_series(1, $ORDERS) g) TO STDOUT" >"$data"
for database in plain citus; do
	db "$database" -c "CREATE TABLE orders (customer_id bigint, order_time timestamptz, amount numeric(12,2))" \
		-c "CREATE INDEX ON orders (customer_id)" >/dev/null
	[ "$database" = plain ] || db citus -c "SELECT create_distributed_table('orders', 'customer_id', shard_count => 8)" >/dev/null
	db "$database" -c "SELECT attach('shop', 'orders', 'customer_id', 'order_time', 'amount')" >/dev/null
done
cat >"$CITUS_DIR/single.sql" <<-EOF
	\set c random(1, $CUSTOMERS)
	INSERT INTO orders VALUES (:c, now(), 10);
EOF
cat >"$CITUS_DIR/pair.sql" <<-EOF
	\set a random(1, $CUSTOMERS)
	\set b random(1, $CUSTOMERS)
	BEGIN;
	INSERT INTO orders VALUES (:a, now(), 10);
	INSERT INTO orders VALUES (:b, now(), 20);
	COMMIT;
EOF

# one run of a kind on a database: milliseconds (copy) or transactions per second
run() {
	local database=$1 kind=$2
	case $kind in
	copy)
		db "$database" -c "TRUNCATE orders" >/dev/null
		db "$database" -At -c "\\timing on" -c "COPY orders FROM STDIN" <"$data" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
		;;
	single | pair)
		PGOPTIONS= pgbench -n -h "$CITUS_DIR" -p "$coordinator" -U postgres -c 2 -j 2 -T "$SECONDS_PER_RUN" \
			-f "$CITUS_DIR/$kind.sql" "$database" 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
		;;
	esac
}

declare -A result
for state in without with; do
	if [ "$state" = with ]; then
		for database in plain citus; do
			db "$database" -c "TRUNCATE orders" -c "SELECT maintain_attachment('shop')" >/dev/null
			# the state alone, as on Citus, which keeps no history
			[ "$database" = citus ] || db "$database" -c "SELECT drop_segment_history('shop')" >/dev/null
		done
	fi
	for database in plain citus; do
		for kind in copy single pair; do
			values=()
			for _ in $(seq "$RUNS"); do values+=("$(run "$database" "$kind")"); done
			result[$database.$kind.$state]=$(printf '%s\n' "${values[@]}" | median)
		done
		if [ "$state" = with ]; then
			differences=$(db "$database" -At -c "SELECT count(*) FROM (
				(SELECT customer_id, stats::text FROM shop_state
				 EXCEPT SELECT customer_id, rfm_stats(order_time, amount)::text FROM orders GROUP BY 1)
				UNION ALL
				(SELECT customer_id, rfm_stats(order_time, amount)::text FROM orders GROUP BY 1
				 EXCEPT SELECT customer_id, stats::text FROM shop_state)) d")
			[ "$differences" = 0 ] || { echo "$database: the state differs from the orders ($differences)" >&2; exit 1; }
		fi
	done
done

printf '\n| write | database | without state | with state | with / without |\n| --- | --- | ---: | ---: | ---: |\n'
for kind in copy single pair; do
	for database in plain citus; do
		awk -v k="$kind" -v d="$database" -v a="${result[$database.$kind.without]}" -v b="${result[$database.$kind.with]}" \
			-v n="$ORDERS" 'BEGIN {
			name = d == "citus" ? "Citus" : "plain PostgreSQL"
			if (k == "copy")
				printf "| COPY of %d orders, ms | %s | %.0f | %.0f | %.2f |\n", n, name, a, b, b / a
			else
				printf "| %s, transactions per second | %s | %.0f | %.0f | %.2f |\n",
					k == "single" ? "one order" : "two customers", name, a, b, b / a }'
	done
done
echo
echo "command: $COMMAND; $RUNS runs of ${SECONDS_PER_RUN} s or one COPY each, medians; $(nproc) cores," \
	"$(free -g | awk '/Mem:/ { print $2 }') GiB; $("$PG_CONFIG" --version), Citus $CITUS_VERSION, 8 shards on 2 workers," \
	"all nodes and clients on this machine"
