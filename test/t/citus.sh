#!/usr/bin/env bash
# segment on Citus: a coordinator and two workers (three local clusters),
# orders distributed by customer over 8 shards, compared with the same data
# in a plain database.  Checked:
#   - rfm_stats per customer runs whole on the workers (EXPLAIN);
#   - rfm_score over all customers and rfm_thresholds give the single-node
#     answers, for every customer;
#   - the views of attachments on the distributed orders, with a reference
#     and with a co-located distributed customers table, hold the rows of
#     the plain database's;
#   - a segment_set column with a GIN index on a distributed table: the
#     index is on every shard, and queries through the coordinator answer
#     as on one node;
#   - maintain_attachment() on distributed orders refuses, saying why;
#   - through postgres_fdw, with segment in the server's extensions,
#     rfm_stats per customer is computed remotely.
# Citus is built from the vendored source beside the checkout
# (../shared/vendor) once per machine (test/citus_cluster.sh); without it
# the test is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# shellcheck source=test/cluster.sh
source test/cluster.sh
# shellcheck source=test/citus_cluster.sh
source test/citus_cluster.sh

if ! citus_source >/dev/null; then
	echo "skipped: no Citus source ($CITUS_VENDOR/citus-$CITUS_VERSION.tar.gz)"
	exit 0
fi
citus_ensure_built
export PGOPTIONS="-c client_min_messages=warning"
citus_start 2
coordinator=${CITUS_PORTS[0]}
failures=0

check() {
	local what=$1 expected=$2 actual=$3
	if [ -n "$expected" ] && [ "$expected" = "$actual" ]; then
		echo "ok   $what"
	else
		echo "FAIL $what: expected [$expected], got [$actual]" >&2
		failures=$((failures + 1))
	fi
}

dist() { citus_psql "$coordinator" "$@"; }
# a query's output in both databases; a query that fails, or prints
# nothing, fails the test
same() {
	local what=$1 query=$2 single distributed
	single=$(plain -At -c "$query")
	distributed=$(dist -At -c "$query")
	[ -n "$single" ] || { echo "FAIL $what: no output" >&2; failures=$((failures + 1)); return; }
	check "$what" "$single" "$distributed"
}
plain() { psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$coordinator" -U postgres -d plain "$@"; }

# the same orders and customers in both databases
psql -X -q -h "$CITUS_DIR" -p "$coordinator" -U postgres -d postgres -c "CREATE DATABASE plain"
plain -c "CREATE EXTENSION segment"
for db in plain dist; do
	# Citus warns that the generator's temporary functions stay local
	$db -v customers=20000 -v seed=7 -f bench/generate_orders.sql 2>&1 >/dev/null |
		{ grep -v -e 'will be created only locally' -e 'has dependency on unsupported object "schema pg_temp' || true; } >&2
done
dist >/dev/null <<'SQL'
SET citus.shard_count = 8;
SELECT create_distributed_table('orders', 'customer_id');
SELECT create_reference_table('customers');
CREATE TABLE customers_distributed AS SELECT * FROM customers;
ALTER TABLE customers_distributed ADD PRIMARY KEY (customer_id);
SELECT create_distributed_table('customers_distributed', 'customer_id', colocate_with => 'orders');
SQL
plain -c "CREATE TABLE customers_distributed AS SELECT * FROM customers"
export PGOPTIONS="$PGOPTIONS -c segment.as_of=2026-01-01"

# per customer: pushed down whole
plan=$(dist -At -c "EXPLAIN (COSTS OFF) SELECT customer_id, rfm_stats(order_time, amount) FROM orders GROUP BY customer_id")
in_tasks=${plan#*->  Task}
check "rfm_stats per customer runs on the workers" "yes" \
	"$([[ $plan == 'Custom Scan (Citus Adaptive)'* && $plan == *'Task Count: 8'* && $in_tasks == *'Aggregate'* ]] && echo yes)"

# every customer's scores and the thresholds, as on one node
scores="SELECT customer_id, (rfm_score(s, '2026-01-01', 5) OVER ())::text
		FROM (SELECT customer_id, rfm_stats(order_time, amount) AS s FROM orders GROUP BY customer_id) c ORDER BY 1"
same "rfm_score OVER () of every customer" "SELECT md5(string_agg(s::text, ',' ORDER BY s.customer_id)) FROM ($scores) s"
scored=$(dist -At -c "SELECT count(*) FROM ($scores) s")
check "customers scored" "20000" "$scored"
thresholds="SELECT rfm_thresholds(s, '2026-01-01', 5)::text
			FROM (SELECT rfm_stats(order_time, amount) AS s FROM orders GROUP BY customer_id) c"
same "rfm_thresholds" "$thresholds"

# attachments: every view, row for row
for db in plain dist; do
	$db >/dev/null <<-'SQL'
		SELECT attach('shop', 'orders', 'customer_id', 'order_time', 'amount', 'customers', 'customer_id');
		SELECT define_segment_rule('shop', 'Berlin', $$city = 'Berlin'$$);
		SELECT attach('colocated', 'orders', 'customer_id', 'order_time', 'amount', 'customers_distributed', 'customer_id');
	SQL
done
# the customers view's statistics per customer are computed on the shards
plan=$(dist -At -c "EXPLAIN (COSTS OFF) SELECT * FROM shop_customers")
in_tasks=${plan#*->  Task}
check "the customers view aggregates the orders on the workers" "yes" \
	"$([[ $in_tasks == *"Group Key: o.customer_id"* && $in_tasks == *"Seq Scan on orders_"* ]] && echo yes)"
views=$(dist -At -c "SELECT unnest(views) FROM attachments ORDER BY 1")
count=0
for view in $views; do
	content="SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM $view t"
	same "view $view" "$content"
	count=$((count + 1))
done
check "views compared" "33" "$count"

# segment sets with a GIN index on a distributed table
for db in plain dist; do
	$db >/dev/null <<-'SQL'
		CREATE TABLE customer_segments (customer_id bigint PRIMARY KEY, segments segment_set);
		INSERT INTO customer_segments SELECT customer_id, segment_set_agg(segment) FROM shop_segment_members GROUP BY 1;
		CREATE INDEX customer_segments_gin ON customer_segments USING gin (segments);
	SQL
done
dist -c "SELECT create_distributed_table('customer_segments', 'customer_id', colocate_with => 'orders')" >/dev/null
gin_shards=$(dist -At -c "
	SELECT count(*) FROM run_command_on_shards('customer_segments',
		\$\$SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
		   WHERE i.indrelid = '%s'::regclass AND a.amname = 'gin'\$\$) r WHERE r.success AND r.result = '1'")
check "GIN index on every shard" "8" "$gin_shards"
for query in "SELECT count(*) FROM customer_segments WHERE segments @> '{Champions,Berlin}'" \
	"SELECT count(*) FROM customer_segments WHERE segments && '{Lost,Hibernating}'" \
	"SELECT string_agg(customer_id::text, ',' ORDER BY customer_id) FROM customer_segments WHERE segments ? 'Berlin' AND customer_id < 500"; do
	same "$query" "$query"
done

# maintained state: refused, with the reason
error=$(dist -v VERBOSITY=verbose -c "SELECT maintain_attachment('shop')" 2>&1 >/dev/null || true)
check "maintain_attachment() on distributed orders refuses (0A000)" \
	"yes" "$([[ $error == *'ERROR:  0A000: cannot maintain the state of attachment "shop"'* &&
				$error == *'is a distributed table of Citus'* ]] && echo yes)"

# postgres_fdw: the aggregate is computed by the remote server
plain >/dev/null <<-SQL
	CREATE EXTENSION postgres_fdw;
	CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw
		OPTIONS (host '$CITUS_DIR', port '$coordinator', dbname 'plain', extensions 'segment');
	CREATE USER MAPPING FOR CURRENT_USER SERVER shard1 OPTIONS (user 'postgres');
	CREATE FOREIGN TABLE remote_orders (customer_id bigint, order_time timestamptz, amount numeric)
		SERVER shard1 OPTIONS (table_name 'orders');
SQL
remote="SELECT customer_id, rfm_stats(order_time, amount) FROM remote_orders GROUP BY customer_id"
plan=$(plain -At -c "EXPLAIN (VERBOSE, COSTS OFF) $remote")
check "postgres_fdw ships rfm_stats" "yes" \
	"$([[ $plan == *'Remote SQL: SELECT customer_id, public.rfm_stats(order_time, amount) FROM public.orders GROUP BY 1'* ]] && echo yes)"
local_answer=$(plain -At -c "SELECT md5(string_agg(s::text, ',' ORDER BY customer_id)) FROM (SELECT customer_id, rfm_stats(order_time, amount) s FROM orders GROUP BY 1) x")
remote_answer=$(plain -At -c "SELECT md5(string_agg(s::text, ',' ORDER BY customer_id)) FROM ($remote) x(customer_id, s)")
check "postgres_fdw answers as the table" "$local_answer" "$remote_answer"

[ "$failures" -eq 0 ] || exit 1
echo "Citus: a coordinator and 2 workers, 8 shards, 20,000 customers: scores, thresholds, $count views and segment sets as on one node"
