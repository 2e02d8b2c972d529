#!/usr/bin/env bash
# Randomized differential test of the maintained state.
#
# For a plain orders table and for one partitioned by range of order time,
# random writes of every kind run in phases; after each phase (and every
# few seconds during the concurrent ones) the state must equal the
# statistics computed again from the orders, exactly, and every stored score
# must be the one the stored thresholds give, and the open intervals of the
# history must be the memberships the state stores, none overlapping:
#
#   copy        psql COPY, one in a transaction with a savepoint rolled back
#   sequential  one pgbench client: every kind of transaction below, plus
#               transactions that fold at each statement (SET CONSTRAINTS
#               state_commit IMMEDIATE), a TRUNCATE rolled back, and (the
#               partitioned table) a partition truncated
#   concurrent  4 pgbench clients, each transaction several statements over
#               several customers in random order: single and multi-row
#               INSERT; UPDATE of amount, time (across partitions) and
#               customer; DELETE; INSERT ... ON CONFLICT DO UPDATE of several
#               rows; MERGE; writable CTEs; savepoints rolled back; beside
#               them a psql COPY loop
#   migration   the same, while the amount column becomes float8 (ALTER
#               COLUMN TYPE) and then numeric(12, 2) again (a column added,
#               filled, the old one dropped and the new one renamed, in one
#               transaction)
#   truncate    TRUNCATE of the table (and of a partition), COPY after it,
#               and a change of the customer column's type, refused
#   partitions  (partitioned table) a partition with orders attached, then
#               dropped; one of the table's detached, attached again; one
#               created and written
#
# Clients update and delete only orders they inserted (column writer), so
# two clients never wait for each other on an order: any wait is on the
# state, and pgbench counts a deadlock there as a failed transaction.  There
# must be none (pgbench runs without --max-tries: no retries), and no client
# may abort.  pgbench reports how many transactions of each script ran.
#
# STATE_RANDOM_SEED fixes pgbench's random seed (the concurrent phases stay
# nondeterministic).  STATE_RANDOM_BREAK=trigger disables the orders
# table's triggers for the last 2 seconds of the first concurrent phase, and
# STATE_RANDOM_BREAK=state writes a state row by hand after the first
# phase (a customer without orders): either must make the test fail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
db=segment_state_random
seed=${STATE_RANDOM_SEED:-$((RANDOM * 32768 + RANDOM))}
sabotage=${STATE_RANDOM_BREAK:-}
customers=300
work=$(mktemp -d)
# background jobs of this script are killed on exit, by their process ids
jobs_to_kill=()
cleanup() {
	local pid
	for pid in "${jobs_to_kill[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
	dropdb --if-exists "$db" 2>/dev/null || true
}
trap cleanup EXIT
psql_db=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")
echo "seed $seed"

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
"${psql_db[@]}" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION segment;
SQL

# The check: differences between the state and the statistics computed
# again from the orders, state rows whose scores or segments are not the
# ones the stored thresholds give, rows left in state_commits, customers.
check_sql() {
	local att=$1 orders=$2
	cat <<-SQL
		SELECT (SELECT count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text)
				FROM ${att}_state s
				FULL JOIN (SELECT customer_id, rfm_stats(t, amount::numeric) AS stats FROM $orders
						   WHERE customer_id IS NOT NULL GROUP BY 1 HAVING count(t) > 0) o USING (customer_id)),
			   (SELECT count(*) FILTER (WHERE s.scores IS DISTINCT FROM
											  rfm_score(s.stats, GREATEST(s.scored_at, last_order_time(s.stats)), a.thresholds)
										   OR s.segments IS DISTINCT FROM segment_set(segment_memberships(s.scores, 'default')))
				FROM ${att}_state s CROSS JOIN (SELECT thresholds FROM attachments WHERE attachment_name = '$att') a)
			   -- the open intervals of the history are what the state stores,
			   -- and no two intervals of a customer's segment overlap
			   + (SELECT count(*) FROM (
					(SELECT customer_id, kind, segment FROM ${att}_history WHERE left_at IS NULL AND kind <> 'rule'
					 EXCEPT ALL
					 (SELECT customer_id, 'rfm', unnest(segment_set_labels(segments)) FROM ${att}_state
					  UNION ALL SELECT customer_id, 'lifecycle', lifecycle_stage FROM ${att}_state))
					UNION ALL
					((SELECT customer_id, 'rfm', unnest(segment_set_labels(segments)) FROM ${att}_state
					  UNION ALL SELECT customer_id, 'lifecycle', lifecycle_stage FROM ${att}_state)
					 EXCEPT ALL
					 SELECT customer_id, kind, segment FROM ${att}_history WHERE left_at IS NULL AND kind <> 'rule')) d)
			   + (SELECT count(*) FROM ${att}_history x JOIN ${att}_history y
					ON x.customer_id = y.customer_id AND x.kind = y.kind AND x.segment = y.segment AND x.ctid < y.ctid
				   AND x.entered_at < coalesce(y.left_at, 'infinity') AND y.entered_at < coalesce(x.left_at, 'infinity')),
			   (SELECT count(*) FROM state_commits),
			   (SELECT count(*) FROM ${att}_state),
			   (SELECT count(*) FROM $orders);
	SQL
}

failures=0
check() {
	local label=$1 att=$2 orders=$3 differences stored commits state_rows order_rows
	read -r differences stored commits state_rows order_rows < <(check_sql "$att" "$orders" | "${psql_db[@]}" -At -F ' ')
	printf '  check after %-28s %6s orders, %4s customers: %s differences, %s stored or history differences, %s state_commits rows\n' \
		"$label:" "$order_rows" "$state_rows" "$differences" "$stored" "$commits"
	if [ "$differences" != 0 ] || [ "$stored" != 0 ] || [ "$commits" != 0 ] || [ "$state_rows" = 0 ]; then
		echo "FAILED: the state of $att differs from its orders after $label" >&2
		failures=$((failures + 1))
	fi
}

# Checks again and again while writers run, until file $out.stop exists:
# the state is written in the transaction that writes the orders, so any
# one snapshot sees both agree.
check_loop() {
	local att=$1 orders=$2 out=$3
	while [ ! -e "$out.stop" ]; do
		check_sql "$att" "$orders" | "${psql_db[@]}" -At -F ' ' >>"$out" 2>&1 || true
		sleep 1.5
	done
}

# Stops the check loop writing to $1 (process $2) and judges its checks.
during_checks() {
	local out=$1 pid=$2 label=$3 bad
	touch "$out.stop"
	wait "$pid" || true
	bad=$(awk 'NF != 5 || $1 != 0 || $2 != 0' "$out" | head -5)
	echo "  $(awk 'END { print NR }' "$out") checks during $label, $(awk 'NF == 5 && $1 == 0 && $2 == 0' "$out" | wc -l) without differences"
	if [ -n "$bad" ]; then
		echo "FAILED: checks during $label: $bad" >&2
		failures=$((failures + 1))
	fi
}

# Runs pgbench; prints the transactions of each script; fails when a
# client aborted or any transaction failed.
bench() {
	local label=$1
	shift
	local log=$work/pgbench.$label.log status=0 failed
	"$bindir/pgbench" -n --random-seed="$seed" "$@" "$db" >"$log" 2>&1 || status=$?
	awk -v label="$label" '
		function flush() { if (script != "") printf "  %-11s %-18s %6d transactions, %d failed\n", label, script, done, bad }
		/^SQL script [0-9]+:/ { flush(); script = $4; sub(".*/", "", script); sub("\\.sql$", "", script); done = bad = 0 }
		/^ - [0-9]+ transactions/ { done = $2 }
		/^ - number of failed transactions/ { bad = $6 }
		/^number of (transactions actually processed|failed transactions)/ { total = total "  " label ": " $0 "\n" }
		END { flush(); printf "%s", total }
	' "$log"
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
	if [ "$status" -ne 0 ] || [ "${failed:-x}" != 0 ] || grep -q "aborted" "$log"; then
		echo "FAILED: pgbench $label (exit $status, ${failed:-?} failed transactions)" >&2
		grep -iE "error|aborted|deadlock" "$log" | head -20 >&2
		failures=$((failures + 1))
	fi
}

# COPY data: n orders of random customers, some without an amount, and
# (nulls = 1) some without a time: the partitioned table's key has one.
copy_data() {
	local n=$1 writer=$2 nulls=${3:-1}
	awk -v n="$n" -v writer="$writer" -v nulls="$nulls" -v customers="$customers" -v seed="$RANDOM" 'BEGIN {
		srand(seed)
		for (i = 0; i < n; i++) {
			c = 1 + int(rand() * customers)
			t = sprintf("2024-%02d-%02d %02d:%02d:00+00", 1 + int(rand() * 12), 1 + int(rand() * 28),
						int(rand() * 24), int(rand() * 60))
			if (nulls && rand() < 0.02) t = "\\N"
			a = sprintf("%.2f", rand() * 300 - 10)
			if (rand() < 0.05) a = "\\N"
			printf "%d\t%s\t%s\t%d\n", c, t, a, writer
		}
	}'
}

# The write scripts, for orders table T (conflict target K, id sequence Q).
# Customers c1, c2, c3 are distinct and random; each client updates and
# deletes only its own orders.
write_scripts() {
	local dir=$1 T=$2 K=$3 Q=$4 P
	mkdir -p "$dir"
	local header='\set c1 random(1, '$customers')
\set d random(1, 99)
\set e random(1, 99)
\set c2 1 + (:c1 + :d) % '$customers'
\set c3 1 + (:c1 + :d + :e) % '$customers'
\set c4 random(1, '$customers')
\set h1 random(0, 16799)
\set h2 random(0, 16799)
\set h3 random(0, 16799)
\set a1 random(-1000, 30000)
\set a2 random(-1000, 30000)
\set a3 random(-1000, 30000)
\set z random(0, 39)
\set shift random(-60, 60)'
	# amounts with a NULL now and then; times in 2024 and 2025
	local t1="timestamptz '2024-01-01' + make_interval(hours => :h1)"
	local t2="timestamptz '2024-01-01' + make_interval(hours => :h2)"
	local t3="timestamptz '2024-01-01' + make_interval(hours => :h3)"
	local amt1="CASE WHEN :a1 % 25 = 0 THEN NULL ELSE :a1 / 100.0 END"
	local amt2=":a2 / 100.0"
	local amt3=":a3 / 100.0"
	# the partitioned table's key holds the time: no order without one
	local no_time=NULL
	[ "$T" != part_orders ] || no_time=$t1
	local own="writer = :client_id"

	cat >"$dir/insert.sql" <<-SQL
		$header
		BEGIN;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c1, $t1, $amt1, :client_id);
		INSERT INTO $T (customer_id, t, amount, writer) VALUES
			(:c3, $t2, $amt2, :client_id),
			(CASE WHEN :z = 0 THEN NULL ELSE :c2 END, CASE WHEN :z = 1 THEN $no_time ELSE $t3 END, $amt3, :client_id),
			(:c1, $t3, $amt2, :client_id),
			(:c2, $t1, NULL, :client_id);
		INSERT INTO $T (customer_id, t, amount, writer)
		SELECT :c4, $t2 + make_interval(days => g), $amt3 + g, :client_id FROM generate_series(1, 1 + :z % 3) g;
		COMMIT;
	SQL

	cat >"$dir/update.sql" <<-SQL
		$header
		BEGIN;
		UPDATE $T SET amount = amount + 1 WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c2 AND $own);
		UPDATE $T SET t = t + make_interval(days => :shift) WHERE id = (SELECT min(id) FROM $T WHERE customer_id = :c1 AND $own);
		UPDATE $T SET customer_id = :c2 WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c3 AND $own);
		UPDATE $T SET amount = amount WHERE customer_id = :c1 AND $own;
		\if :z < 2
		UPDATE $T SET t = CASE WHEN t IS NULL THEN $t1 ELSE $no_time END, amount = CASE WHEN amount IS NULL THEN 1 END
		WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c4 AND $own);
		\endif
		UPDATE $T SET amount = amount * 2, customer_id = :c4 WHERE customer_id = :c1 AND $own AND amount < 3;
		COMMIT;
	SQL

	cat >"$dir/delete.sql" <<-SQL
		$header
		BEGIN;
		DELETE FROM $T WHERE id = (SELECT min(id) FROM $T WHERE customer_id = :c3 AND $own);
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c1, $t1, $amt1, :client_id);
		DELETE FROM $T WHERE customer_id = :c2 AND $own AND (amount < 20 OR t IS NULL);
		DELETE FROM $T WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c1 AND $own);
		COMMIT;
	SQL

	# existing orders of the client (amounts above 40) meet the conflict;
	# the update adds to the amount, and moves a large one to customer c4
	cat >"$dir/upsert.sql" <<-SQL
		$header
		BEGIN;
		INSERT INTO $T AS o (id, customer_id, t, amount, writer)
		SELECT coalesce(x.id, nextval('$Q')), v.c, coalesce(x.t, v.t), v.amount, :client_id
		FROM (VALUES (:c2, $t1, $amt2), (:c1, $t2, $amt3), (:c3, $t3, $amt1)) v(c, t, amount)
		LEFT JOIN LATERAL (SELECT id, t FROM $T WHERE customer_id = v.c AND $own ORDER BY id DESC LIMIT 1) x
			ON v.amount > 40
		ON CONFLICT ($K) DO UPDATE
		SET amount = o.amount + excluded.amount,
			customer_id = CASE WHEN excluded.amount > 250 THEN :c4 ELSE excluded.customer_id END;
		INSERT INTO $T AS o (id, customer_id, t, amount, writer)
		SELECT x.id, x.customer_id, x.t, 5, :client_id FROM $T x WHERE x.customer_id = :c4 AND x.$own
		ON CONFLICT ($K) DO UPDATE SET amount = excluded.amount;
		COMMIT;
	SQL

	# MERGE: the newest own order of each customer, if any, is deleted
	# (small amount), or moved a day later and its amount raised; customers
	# without one get an order
	cat >"$dir/merge.sql" <<-SQL
		$header
		BEGIN;
		MERGE INTO $T o
		USING (SELECT v.c, v.t, v.amount, (SELECT max(x.id) FROM $T x WHERE x.customer_id = v.c AND x.$own) AS target
			   FROM (VALUES (:c3, $t1, $amt2), (:c1, $t2, $amt3), (:c2, $t3, $amt1)) v(c, t, amount)) s
		ON o.id = s.target
		WHEN MATCHED AND s.amount < 30 THEN DELETE
		WHEN MATCHED THEN UPDATE SET amount = o.amount + s.amount, t = o.t + interval '1 day'
		WHEN NOT MATCHED AND s.amount IS NOT NULL THEN INSERT (customer_id, t, amount, writer)
			VALUES (s.c, s.t, s.amount, :client_id);
		COMMIT;
	SQL

	cat >"$dir/cte.sql" <<-SQL
		$header
		BEGIN;
		WITH moved AS (
			DELETE FROM $T WHERE id IN (SELECT id FROM $T WHERE customer_id = :c1 AND $own ORDER BY id DESC LIMIT 2)
			RETURNING t, amount
		)
		INSERT INTO $T (customer_id, t, amount, writer) SELECT :c2, t + interval '1 hour', amount * 2, :client_id FROM moved;
		WITH added AS (
			INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c3, $t1, $amt1, :client_id), (:c1, $t2, $amt2, :client_id)
			RETURNING id
		)
		UPDATE $T SET t = t - interval '2 days' WHERE id = (SELECT min(id) FROM $T WHERE customer_id = :c3 AND $own);
		COMMIT;
	SQL

	cat >"$dir/savepoint.sql" <<-SQL
		$header
		BEGIN;
		\if :z < 10
		SAVEPOINT first;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c4, $t3, $amt3, :client_id);
		ROLLBACK TO SAVEPOINT first;
		\endif
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c1, $t1, $amt1, :client_id);
		SAVEPOINT a;
		UPDATE $T SET amount = amount + 100 WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c2 AND $own);
		DELETE FROM $T WHERE id = (SELECT min(id) FROM $T WHERE customer_id = :c3 AND $own);
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c2, $t2, 1000, :client_id), (:c3, $t3, 1000, :client_id);
		ROLLBACK TO SAVEPOINT a;
		UPDATE $T SET t = t + interval '5 days' WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c3 AND $own);
		SAVEPOINT b;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c2, $t2, $amt2, :client_id);
		RELEASE SAVEPOINT b;
		SAVEPOINT c;
		DELETE FROM $T WHERE customer_id = :c1 AND $own;
		ROLLBACK TO SAVEPOINT c;
		COMMIT;
	SQL

	# one client only: folding at each statement locks state rows as it
	# goes, and a TRUNCATE waits for every other writer
	cat >"$dir/immediate.sql" <<-SQL
		$header
		BEGIN;
		SET CONSTRAINTS state_commit IMMEDIATE;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c3, $t1, $amt1, :client_id), (:c1, $t2, $amt2, :client_id);
		UPDATE $T SET amount = amount + 2 WHERE id = (SELECT max(id) FROM $T WHERE customer_id = :c2 AND $own);
		SET CONSTRAINTS state_commit DEFERRED;
		DELETE FROM $T WHERE id = (SELECT min(id) FROM $T WHERE customer_id = :c1 AND $own);
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c2, $t3, $amt3, :client_id);
		COMMIT;
	SQL

	cat >"$dir/truncate_rollback.sql" <<-SQL
		$header
		BEGIN;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c1, $t1, $amt1, :client_id);
		TRUNCATE $T;
		INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c2, $t2, $amt2, :client_id);
		ROLLBACK;
	SQL

	# a partition of the partitioned table emptied, in a transaction that
	# wrote before and writes after
	if [ "$T" = part_orders ]; then
		{
			echo "$header"
			echo '\set q random(1, 8)'
			echo 'BEGIN;'
			echo "INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c1, $t1, $amt1, :client_id);"
			for P in 1 2 3 4 5 6 7 8; do
				echo "\\if :q = $P"
				echo "TRUNCATE part_orders_q$P;"
				printf '%s\n' '\endif'
			done
			echo "INSERT INTO $T (customer_id, t, amount, writer) VALUES (:c2, $t2, $amt2, :client_id);"
			echo 'COMMIT;'
		} >"$dir/truncate_part.sql"
	fi
}

# pgbench options of the scripts any number of clients run, weights times
# $2, in array scripts
concurrent_scripts() {
	local dir=$1 x=${2:-1}
	scripts=(-f "$dir/insert.sql@$((6 * x))" -f "$dir/update.sql@$((4 * x))" -f "$dir/delete.sql@$((3 * x))"
		-f "$dir/upsert.sql@$((3 * x))" -f "$dir/merge.sql@$((3 * x))" -f "$dir/cte.sql@$((3 * x))"
		-f "$dir/savepoint.sql@$((3 * x))")
}

# Changes the type of the amount column, in one transaction, while the
# clients write.
migrate() {
	local orders=$1 how=$2
	if [ "$how" = alter ]; then
		"${psql_db[@]}" -c "ALTER TABLE $orders ALTER COLUMN amount TYPE float8"
	else
		"${psql_db[@]}" <<-SQL
			BEGIN;
			ALTER TABLE $orders ADD COLUMN amount_new numeric(12, 2);
			UPDATE $orders SET amount_new = amount;
			ALTER TABLE $orders DROP COLUMN amount;
			ALTER TABLE $orders RENAME COLUMN amount_new TO amount;
			COMMIT;
		SQL
	fi
}

amount_type() {
	"${psql_db[@]}" -At -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = '$1'::regclass AND attname = 'amount' AND NOT attisdropped"
}

run_table() {
	local att=$1 orders=$2 conflict=$3 nulls=$4 dir=$work/$1 loop_pid mig_pid copy_pid out rows
	echo "== $att: $orders"
	write_scripts "$dir" "$orders" "$conflict" "${orders}_id_seq"

	# copy: orders loaded before the attachment is maintained, then COPY in a
	# transaction with a savepoint rolled back
	copy_data 3000 0 "$nulls" >"$dir/load.tsv"
	copy_data 500 0 "$nulls" >"$dir/more.tsv"
	copy_data 700 0 "$nulls" >"$dir/lost.tsv"
	"${psql_db[@]}" >/dev/null <<-SQL
		\copy $orders (customer_id, t, amount, writer) FROM '$dir/load.tsv'
		SET client_min_messages = warning;
		SELECT count(*) FROM attach('$att', '$orders', 'customer_id', 't', 'amount');
		SELECT maintain_attachment('$att');
	SQL
	check maintain "$att" "$orders"
	"${psql_db[@]}" <<-SQL
		BEGIN;
		\copy $orders (customer_id, t, amount, writer) FROM '$dir/more.tsv'
		SAVEPOINT s;
		\copy $orders (customer_id, t, amount, writer) FROM '$dir/lost.tsv'
		ROLLBACK TO SAVEPOINT s;
		COMMIT;
	SQL
	echo "  copy        500 orders copied, 700 more rolled back to a savepoint"
	check copy "$att" "$orders"
	if [ "$sabotage" = state ]; then
		# a row of a customer without orders, which no write heals
		"${psql_db[@]}" -c "INSERT INTO ${att}_state SELECT * FROM jsonb_populate_record(NULL::${att}_state,
			(SELECT to_jsonb(s) || jsonb_build_object('customer_id', $customers + 1) FROM ${att}_state s WHERE customer_id = 7))"
	fi

	# sequential: one client, every kind of write
	local scripts
	concurrent_scripts "$dir" 4
	scripts+=(-f "$dir/immediate.sql@12" -f "$dir/truncate_rollback.sql@3")
	[ ! -f "$dir/truncate_part.sql" ] || scripts+=(-f "$dir/truncate_part.sql@1")
	bench sequential -c 1 -T 8 "${scripts[@]}"
	concurrent_scripts "$dir"
	check sequential "$att" "$orders"

	# concurrent: 4 clients, a COPY loop and checks meanwhile
	out=$work/$att.concurrent.checks
	: >"$out"
	check_loop "$att" "$orders" "$out" &
	loop_pid=$!
	jobs_to_kill+=("$loop_pid")
	(
		for _ in $(seq 1 12); do
			copy_data 150 99 "$nulls" | "${psql_db[@]}" -c "\\copy $orders (customer_id, t, amount, writer) FROM STDIN"
			sleep 0.5
		done
	) &
	copy_pid=$!
	jobs_to_kill+=("$copy_pid")
	if [ "$sabotage" = trigger ]; then
		(sleep 10 && "${psql_db[@]}" -c "ALTER TABLE $orders DISABLE TRIGGER USER") &
		jobs_to_kill+=("$!")
	fi
	bench concurrent -c 4 -j 2 -T 12 "${scripts[@]}"
	[ "$sabotage" != trigger ] || "${psql_db[@]}" -c "ALTER TABLE $orders ENABLE TRIGGER USER"
	wait "$copy_pid" || { echo "FAILED: the COPY loop" >&2; failures=$((failures + 1)); }
	echo "  concurrent  12 COPY of 150 orders each beside the clients"
	during_checks "$out" "$loop_pid" concurrent
	check concurrent "$att" "$orders"

	# migration: the amount column changes type twice under the clients
	out=$work/$att.migration.checks
	: >"$out"
	check_loop "$att" "$orders" "$out" &
	loop_pid=$!
	jobs_to_kill+=("$loop_pid")
	(
		sleep 5
		migrate "$orders" alter
		echo "  migration   amount is now $(amount_type "$orders") (ALTER COLUMN TYPE)"
		sleep 6
		migrate "$orders" dance
		echo "  migration   amount is now $(amount_type "$orders") (column added, copied, dropped, renamed)"
	) &
	mig_pid=$!
	jobs_to_kill+=("$mig_pid")
	bench migration -c 4 -j 2 -T 18 "${scripts[@]}"
	wait "$mig_pid" || { echo "FAILED: the migration" >&2; failures=$((failures + 1)); }
	during_checks "$out" "$loop_pid" migration
	check migration "$att" "$orders"
	if [ "$(amount_type "$orders")" != "numeric(12,2)" ]; then
		echo "FAILED: the migration did not run to its end" >&2
		failures=$((failures + 1))
	fi

	# truncate: a partition, then the whole table, COPY after it in the same
	# transaction; the customer key's type may not change
	if [ "$orders" = part_orders ]; then
		rows=$("${psql_db[@]}" -At -c "SELECT count(*) FROM ONLY part_orders_q3")
		"${psql_db[@]}" -c "TRUNCATE part_orders_q3"
		echo "  truncate    partition part_orders_q3 ($rows orders)"
		check "truncate of a partition" "$att" "$orders"
	fi
	"${psql_db[@]}" <<-SQL
		BEGIN;
		INSERT INTO $orders (customer_id, t, amount, writer) VALUES (1, '2024-05-05', 5, 0);
		TRUNCATE $orders;
		\copy $orders (customer_id, t, amount, writer) FROM '$dir/load.tsv'
		UPDATE $orders SET amount = amount + 1 WHERE customer_id % 7 = 0;
		COMMIT;
	SQL
	echo "  truncate    the table, COPY of 3000 orders and an update after it, in one transaction"
	check "truncate and copy" "$att" "$orders"
	if "${psql_db[@]}" -v VERBOSITY=terse -c "ALTER TABLE $orders ALTER COLUMN customer_id TYPE bigint" 2>"$work/key.err" ||
		! grep -q "is the customer key of maintained attachment" "$work/key.err"; then
		echo "FAILED: the type of the customer column of $orders changed, or not for the reason expected" >&2
		cat "$work/key.err" >&2
		failures=$((failures + 1))
	else
		echo "  key type    refused: $(head -1 "$work/key.err")"
	fi
	check "refused key change" "$att" "$orders"

	# partitions: one attached with orders of its own, then dropped; one of
	# the table's detached and attached again; one created and written
	if [ "$orders" = part_orders ]; then
		"${psql_db[@]}" <<-SQL
			CREATE TABLE part_orders_2030 (LIKE part_orders INCLUDING DEFAULTS);
			INSERT INTO part_orders_2030 (customer_id, t, amount, writer)
			SELECT 1 + (g * 7) % $customers, timestamptz '2030-01-01' + make_interval(hours => g), g % 50, 0
			FROM generate_series(1, 400) g;
			ALTER TABLE part_orders ATTACH PARTITION part_orders_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
		SQL
		check "attach partition" "$att" "$orders"
		"${psql_db[@]}" -c "DROP TABLE part_orders_2030"
		check "drop partition" "$att" "$orders"
		rows=$("${psql_db[@]}" -At -c "SELECT count(*) FROM ONLY part_orders_q2")
		"${psql_db[@]}" -c "ALTER TABLE part_orders DETACH PARTITION part_orders_q2"
		check "detach partition ($rows orders)" "$att" "$orders"
		"${psql_db[@]}" -c "ALTER TABLE part_orders ATTACH PARTITION part_orders_q2 FOR VALUES FROM ('2024-04-01') TO ('2024-07-01')"
		check "attach it again" "$att" "$orders"
		"${psql_db[@]}" <<-SQL
			CREATE TABLE part_orders_2031 PARTITION OF part_orders FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');
			INSERT INTO part_orders (customer_id, t, amount, writer)
			SELECT 1 + g % $customers, timestamptz '2031-01-01' + make_interval(hours => g), 3, 0 FROM generate_series(1, 100) g;
		SQL
		check "create partition" "$att" "$orders"
	fi
}

"${psql_db[@]}" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE plain_orders (id bigserial PRIMARY KEY, customer_id int, t timestamptz, amount numeric(12, 2), writer int);
CREATE INDEX ON plain_orders (customer_id, writer);

CREATE TABLE part_orders (id bigserial, customer_id int, t timestamptz, amount numeric(12, 2), writer int,
						  PRIMARY KEY (id, t)) PARTITION BY RANGE (t);
CREATE INDEX ON part_orders (customer_id, writer);
SELECT format('CREATE TABLE part_orders_q%s PARTITION OF part_orders FOR VALUES FROM (%L) TO (%L)',
			  q, timestamptz '2024-01-01' + make_interval(months => 3 * (q - 1)),
			  timestamptz '2024-01-01' + make_interval(months => 3 * q))
FROM generate_series(1, 8) q \gexec
CREATE TABLE part_orders_other PARTITION OF part_orders DEFAULT;
SQL

start=$SECONDS
run_table plain plain_orders id 1
run_table part part_orders "id, t" 0
echo "$((SECONDS - start)) s, $failures failed checks"
[ "$failures" = 0 ]
