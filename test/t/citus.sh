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
#   - maintained state on the distributed orders: kept by each worker on
#     its shards, equal to the orders recomputed and to the plain
#     database's, through writes on the coordinator and on a worker,
#     MERGE, four concurrent writers with refreshes meanwhile, two bulk
#     writers, a role that may write orders only, savepoints, refreshes of
#     the thresholds (found in passes) and limits, TRUNCATE,
#     rebuild_state(), a column's new type and stop_maintaining();
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

# maintained state on the distributed orders, against the same attachment
# maintained on the plain database: the workers' folds, rescores and
# refills run with the analysis time of every node
for port in "${CITUS_PORTS[@]}"; do
	citus_psql "$port" -c "SET citus.enable_ddl_propagation = off" -c "ALTER DATABASE citus SET segment.as_of = '2026-01-01'"
done
for db in plain dist; do
	$db >/dev/null <<-'SQL'
		CREATE INDEX ON orders (customer_id);
		SELECT attach('kept', 'orders', 'customer_id', 'order_time', 'amount', 'customers', 'customer_id');
		SELECT maintain_attachment('kept');
	SQL
done
check "each worker keeps its shards: rows for 8 shard pairs" "8" \
	"$(dist -At -c "SELECT sum(r.result::int) FROM run_command_on_workers(\$\$SELECT count(*) FROM attachments WHERE shard_of = 'kept'\$\$) r WHERE r.success")"
# the stored state against the orders, recomputed here; and against the
# stored thresholds, cells and limits, scored here
recomputed="SELECT count(*) FROM (
	(SELECT customer_id, stats::text FROM kept_state
	 EXCEPT SELECT customer_id, rfm_stats(order_time, amount)::text FROM orders GROUP BY customer_id)
	UNION ALL
	(SELECT customer_id, rfm_stats(order_time, amount)::text FROM orders GROUP BY customer_id
	 EXCEPT SELECT customer_id, stats::text FROM kept_state)) d"
rescored="SELECT count(*) FROM kept_state s, attachments a,
	LATERAL segment_internal.state_values(s.stats, '2026-01-01', a.thresholds, a.cell_segments, NULL, NULL, a.lifecycle_limits) v
	WHERE a.attachment_name = 'kept'
	  AND (s.scores, s.lifecycle_stage, s.segments) IS DISTINCT FROM (v.scores, v.lifecycle_stage, v.segments)"
state_checks() {
	local when=$1
	check "$when: state = the orders, recomputed" "0" "$(dist -At -c "$recomputed")"
	check "$when: scores, stages, segments = state_values()" "0" "$(dist -At -c "$rescored")"
	check "$when: customers in the state" "$(dist -At -c "SELECT count(DISTINCT customer_id) FROM orders")" \
		"$(dist -At -c "SELECT count(*) FROM kept_state")"
}
compare_views() {
	local when=$1 view content compared=0
	for view in $(dist -At -c "SELECT unnest(views) FROM attachments WHERE attachment_name = 'kept' ORDER BY 1"); do
		content="SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM $view t"
		same "$when: view $view" "$content"
		compared=$((compared + 1))
	done
	check "$when: views of the maintained attachment compared" "16" "$compared"
}
state_checks "maintained"
same "maintained: thresholds from the distributed state" "SELECT thresholds::text FROM attachments WHERE attachment_name = 'kept'"
compare_views "maintained"

# writes through the coordinator, in both databases: new and returning
# customers, a refund, a NULL amount, changed and deleted orders, several
# shards in one transaction
writes="BEGIN;
INSERT INTO orders (order_id, customer_id, order_time, amount)
	SELECT 10000000 + customer_id, customer_id, '2025-12-30', 25 FROM customers WHERE customer_id % 97 = 0;
INSERT INTO orders (order_id, customer_id, order_time, amount) VALUES
	(20000001, 900001, '2025-12-31', 10), (20000002, 900001, '2025-12-31 12:00', -4), (20000003, 900002, '2025-12-31', NULL);
UPDATE orders SET amount = amount + 1 WHERE customer_id % 83 = 0;
UPDATE orders SET order_time = '2024-06-01' WHERE customer_id % 89 = 0 AND order_id % 2 = 0;
DELETE FROM orders WHERE customer_id % 79 = 0 AND order_time < '2025-06-01';
COMMIT;"
plain -c "$writes" >/dev/null
dist -c "$writes" >/dev/null
state_checks "after writes through the coordinator"
compare_views "after writes through the coordinator"

# writes on a worker (Citus's shells there route them): to its own shards
# (executed in the session) and to the other worker's
worker=${CITUS_PORTS[1]}
citus_psql "$worker" >/dev/null <<-'SQL'
	INSERT INTO orders (order_id, customer_id, order_time, amount)
		SELECT 30000000 + g, g, '2025-12-31', 3 FROM generate_series(1, 40) g;
	UPDATE orders SET amount = 0 WHERE customer_id BETWEEN 41 AND 60;
	DELETE FROM orders WHERE customer_id BETWEEN 61 AND 70;
SQL
state_checks "after writes on a worker"

# MERGE through the coordinator (Citus needs a source of its own tables; a
# co-located one here): a delete, an update, an order of a new customer
dist >/dev/null <<-'SQL'
	CREATE TABLE order_changes (order_id bigint, customer_id bigint, amount numeric(12,2));
	SELECT create_distributed_table('order_changes', 'customer_id', colocate_with => 'orders');
	INSERT INTO order_changes
	SELECT order_id, customer_id, CASE WHEN customer_id % 2 = 0 THEN NULL ELSE amount + 1 END
	FROM orders WHERE customer_id BETWEEN 71 AND 90;
	INSERT INTO order_changes VALUES (31000001, 20001, 42), (31000002, 20002, 0);
	MERGE INTO orders o
	USING order_changes c ON o.customer_id = c.customer_id AND o.order_id = c.order_id
	WHEN MATCHED AND c.amount IS NULL THEN DELETE
	WHEN MATCHED THEN UPDATE SET amount = c.amount
	WHEN NOT MATCHED THEN INSERT (order_id, customer_id, order_time, amount)
		VALUES (c.order_id, c.customer_id, '2025-12-30', c.amount);
	DROP TABLE order_changes;
SQL
state_checks "after MERGE"

# concurrent writers through the coordinator for 8 s: two customers per
# transaction, on any shards, in either order, while the thresholds are
# refreshed.  A transaction may be cancelled as a deadlock (Citus detects
# them), none may hang: the fold takes its locks while the statements run
# (src/state_trigger.c, lock_customer()).
cat >"$CITUS_DIR/writers.sql" <<-'SQL'
	\set a random(1, 2000)
	\set b random(1, 2000)
	BEGIN;
	INSERT INTO orders (order_id, customer_id, order_time, amount) VALUES (40000000 + :client_id, :a, '2025-12-31', 5);
	UPDATE orders SET amount = amount + 1 WHERE customer_id = :b;
	INSERT INTO orders (order_id, customer_id, order_time, amount) VALUES (40000000 + :client_id, :b, '2025-12-31', 7);
	DELETE FROM orders WHERE customer_id = :a AND order_time < '2020-01-01';
	COMMIT;
SQL
PGOPTIONS= timeout 300 pgbench -n -h "$CITUS_DIR" -p "$coordinator" -U postgres -c 4 -j 2 -T 8 \
	-f "$CITUS_DIR/writers.sql" citus >"$CITUS_DIR/writers.out" 2>&1 &
writers=$!
# refreshes for as long as the writers run; those that end before them
# certainly overlapped.  A refresh locks the state shards of one node after
# another, so it too may be cancelled as a deadlock (by PostgreSQL on one
# worker or by Citus across them) and is then retried, as a client would.
overlapping=0
refreshes_cancelled=0
while kill -0 "$writers" 2>/dev/null; do
	if dist -c "SET statement_timeout = '300s'" -c "SELECT refresh_attachment_thresholds('kept')" \
		>/dev/null 2>"$CITUS_DIR/refresh.err"; then
		! kill -0 "$writers" 2>/dev/null || overlapping=$((overlapping + 1))
	elif grep -q '^ERROR: .*deadlock' "$CITUS_DIR/refresh.err"; then
		refreshes_cancelled=$((refreshes_cancelled + 1))
	else
		cat "$CITUS_DIR/refresh.err" >&2
		failures=$((failures + 1))
		break
	fi
done
wait "$writers" || { cat "$CITUS_DIR/writers.out" >&2; failures=$((failures + 1)); }
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$CITUS_DIR/writers.out")
cancelled=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$CITUS_DIR/writers.out")
check "concurrent writers: no client aborted, transactions committed" "yes" \
	"$(! grep -q 'aborted' "$CITUS_DIR/writers.out" && [ "${processed:-0}" -gt 20 ] && echo yes)"
check "concurrent writers: refreshes that ended while they ran" "yes" "$([ "$overlapping" -ge 1 ] && echo yes)"
echo "     ($processed committed, ${cancelled:-0} cancelled as deadlocks;" \
	"$overlapping refreshes meanwhile, $refreshes_cancelled cancelled as deadlocks)"
state_checks "after 4 concurrent writers and refreshes"

# two bulk writers at once, each past the 256 customers' locks of a shard
# in one transaction, the same customers in other orders: both end (neither
# waits to lock the whole shard), one may be cancelled as a deadlock
bulk="INSERT INTO orders (order_id, customer_id, order_time, amount)
	SELECT 80000000 + g, 1 + (g * 7) % 20000, '2025-12-31', 2 FROM generate_series(1, 3000) g"
dist -c "SET statement_timeout = '300s'" -c "$bulk" >/dev/null 2>"$CITUS_DIR/bulk1.err" &
first=$!
dist -c "SET statement_timeout = '300s'" -c "${bulk//g \* 7/g * 13}" >/dev/null 2>"$CITUS_DIR/bulk2.err" || true
wait "$first" || true
errors=$(cat "$CITUS_DIR"/bulk?.err | grep '^ERROR' || true)
deadlocks=$(grep -c 'involved in a distributed deadlock' <<<"$errors" || true)
check "two concurrent bulk writers: both ended, no error but at most one deadlock" "yes" \
	"$([ "$(grep -c . <<<"$errors" || true)" = "$deadlocks" ] && [ "$deadlocks" -le 1 ] && echo yes)"
echo "     ($deadlocks cancelled as a deadlock)"
state_checks "after two concurrent bulk writers"

# a role that may write orders and nothing else
dist >/dev/null <<-'SQL'
	CREATE ROLE order_writer LOGIN;
	GRANT INSERT, UPDATE, SELECT ON orders TO order_writer;
SQL
dist -c "SET ROLE order_writer" -c "INSERT INTO orders (order_id, customer_id, order_time, amount) VALUES (90000001, 17, '2025-12-31', 8)" \
	-c "UPDATE orders SET amount = 1 WHERE customer_id = 18" >/dev/null
state_checks "after writes of a role that may write orders only"

# the thresholds refreshed across the shards, as on one node, found in
# passes that bring the coordinator counts of key ranges, not a row per
# customer (sql/rfm_thresholds.sql, rfm_thresholds_by_selection)
passes=$(dist -c "SET client_min_messages = debug1" -c "SELECT refresh_attachment_thresholds('kept')" 2>&1 >/dev/null |
	grep -c 'rfm_thresholds_by_selection: pass' || true)
check "after refresh: thresholds found in passes over the workers" "yes" "$([ "$passes" -ge 2 ] && echo yes)"
check "after refresh: the thresholds of the customers' state" \
	"$(dist -At -c "SELECT rfm_thresholds(s.stats, '2026-01-01', 5)::text FROM kept_state s JOIN customers c USING (customer_id)")" \
	"$(dist -At -c "SELECT thresholds::text FROM attachments WHERE attachment_name = 'kept'")"
state_checks "after refresh"
# new lifecycle limits: every node rescores its shards
dist -c "SELECT set_lifecycle_limits('kept', new_days => 45)" >/dev/null
state_checks "after new lifecycle limits"
check "after new lifecycle limits: the nodes' copy" "{45,2,4,3,90,180}" \
	"$(dist -At -c "SELECT DISTINCT r.result FROM run_command_on_workers(\$\$SELECT DISTINCT lifecycle_limits FROM attachments WHERE shard_of = 'kept'\$\$) r")"

# TRUNCATE through the coordinator clears the state; rebuild_state() fills it
dist -c "CREATE TABLE orders_saved AS SELECT * FROM orders" -c "TRUNCATE orders" >/dev/null
check "after TRUNCATE: no state" "0" "$(dist -At -c "SELECT count(*) FROM kept_state")"
dist -c "INSERT INTO orders SELECT * FROM orders_saved" >/dev/null
state_checks "after the orders came back"
check "rebuild_state() counts every customer" "$(dist -At -c "SELECT count(*) FROM kept_state")" \
	"$(dist -At -c "SELECT rebuild_state('kept')")"
# in one transaction: orders written, then truncated (each worker clears
# its shards in the backend that holds their events), then written again;
# and writes rolled back to a savepoint, on several shards
dist >/dev/null <<-'SQL'
	BEGIN;
	INSERT INTO orders (order_id, customer_id, order_time, amount) SELECT 60000000 + g, g, '2025-12-31', 9 FROM generate_series(1, 50) g;
	TRUNCATE orders;
	INSERT INTO orders (order_id, customer_id, order_time, amount) SELECT 60000100 + g, g, '2025-12-30', 4 FROM generate_series(40, 60) g;
	COMMIT;
SQL
state_checks "after writes, TRUNCATE and writes in one transaction"
check "after writes, TRUNCATE and writes in one transaction: customers" "21" "$(dist -At -c "SELECT count(*) FROM kept_state")"
dist -c "INSERT INTO orders SELECT * FROM orders_saved" >/dev/null
dist >/dev/null <<-'SQL'
	BEGIN;
	INSERT INTO orders (order_id, customer_id, order_time, amount) SELECT 70000000 + g, g, '2025-12-31', 11 FROM generate_series(1, 30) g;
	SAVEPOINT s;
	DELETE FROM orders WHERE customer_id BETWEEN 31 AND 60;
	INSERT INTO orders (order_id, customer_id, order_time, amount) SELECT 70000100 + g, g, '2025-12-31', 13 FROM generate_series(61, 90) g;
	ROLLBACK TO SAVEPOINT s;
	UPDATE orders SET amount = amount * 2 WHERE customer_id BETWEEN 91 AND 120;
	COMMIT;
SQL
state_checks "after a savepoint rolled back across shards"

# a column's type and values changed: every node derives its shards again
# (the views of the other attachments read the column)
dist -c "SELECT detach('shop')" -c "SELECT detach('colocated')" \
	-c "ALTER TABLE orders ALTER COLUMN amount TYPE bigint USING (amount * 100)::bigint" >/dev/null
recomputed=${recomputed//rfm_stats(order_time, amount)/rfm_stats(order_time, amount::numeric)}
dist -c "INSERT INTO orders (order_id, customer_id, order_time, amount) VALUES (50000001, 5, '2025-12-31', 250)" >/dev/null
state_checks "after ALTER COLUMN amount TYPE bigint USING amount * 100"

# text keys, hashed by their type for the customers' locks
dist >/dev/null <<-'SQL'
	CREATE TABLE orders_text (customer text, order_time timestamptz, amount numeric);
	SELECT create_distributed_table('orders_text', 'customer', colocate_with => 'none');
	INSERT INTO orders_text SELECT 'customer ' || (g % 500), timestamptz '2025-01-01' + g * interval '1 hour', g % 50
	FROM generate_series(1, 5000) g;
	CREATE INDEX ON orders_text (customer);
	SELECT attach('texts', 'orders_text', 'customer', 'order_time', 'amount');
	SELECT maintain_attachment('texts');
	BEGIN;
	INSERT INTO orders_text SELECT 'customer ' || g, '2025-12-31', 3 FROM generate_series(495, 505) g;
	UPDATE orders_text SET amount = amount + 1 WHERE customer IN ('customer 7', 'customer 8');
	DELETE FROM orders_text WHERE customer = 'customer 9';
	COMMIT;
SQL
check "text keys: state = the orders, recomputed" "0" "$(dist -At -c "SELECT count(*) FROM (
	(SELECT customer_id, stats::text FROM texts_state
	 EXCEPT SELECT customer, rfm_stats(order_time, amount)::text FROM orders_text GROUP BY 1)
	UNION ALL
	(SELECT customer, rfm_stats(order_time, amount)::text FROM orders_text GROUP BY 1
	 EXCEPT SELECT customer_id, stats::text FROM texts_state)) d")"
check "text keys: customers in the state" "505" "$(dist -At -c "SELECT count(*) FROM texts_state")"
check "maintain_attachment() gives back the caller's multi_shard_modify_mode" "parallel" \
	"$(dist -At -c "SELECT count(*) FROM attach('texts_again', 'orders_text', 'customer', 'order_time', 'amount')" \
		-c "BEGIN" -c "SELECT maintain_attachment('texts_again')" -c "SHOW citus.multi_shard_modify_mode" -c "ROLLBACK" | tail -n 1)"

# what stays on one node is refused, saying why
error=$(dist -v VERBOSITY=verbose -c "SELECT keep_segment_history('kept')" 2>&1 >/dev/null || true)
check "keep_segment_history() on Citus refuses (0A000)" "yes" \
	"$([[ $error == *'ERROR:  0A000: cannot keep the segment history of attachment "kept"'* ]] && echo yes)"
dist -c "CREATE TABLE orders_by_order (LIKE orders)" -c "SELECT create_distributed_table('orders_by_order', 'order_id')" \
	-c "SELECT attach('by_order', 'orders_by_order', 'customer_id', 'order_time', 'amount')" >/dev/null
error=$(dist -v VERBOSITY=verbose -c "SELECT maintain_attachment('by_order')" 2>&1 >/dev/null || true)
check "maintain_attachment() of orders distributed by another column refuses (0A000)" "yes" \
	"$([[ $error == *'ERROR:  0A000: cannot maintain the state of attachment "by_order"'* &&
				$error == *'is not distributed by its customer column'* ]] && echo yes)"

# stop_maintaining(): the nodes forget their shards, the tables go
dist -c "SELECT stop_maintaining('kept')" >/dev/null
check "after stop_maintaining(): the nodes' rows and triggers (2 workers answering)" "2 0" \
	"$(dist -At -c "SELECT count(*) || ' ' || sum(r.result::int) FROM run_command_on_workers(\$\$SELECT (SELECT count(*) FROM attachments WHERE shard_of = 'kept') + (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'segment\_kept\_%')\$\$) r WHERE r.success")"
check "after stop_maintaining(): its tables" "none" \
	"$(dist -At -c "SELECT coalesce(string_agg(relname, ','), 'none') FROM pg_class WHERE relname LIKE 'kept\_state%'")"

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
echo "Citus: a coordinator and 2 workers, 8 shards, 20,000 customers: scores, thresholds, $count views, segment sets and maintained state as on one node"
