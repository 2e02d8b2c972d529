#!/usr/bin/env bash
# Randomized check of the maintained state: two concurrent pgbench clients
# run 100,000 mixed inserts, updates (amounts, times, moves to another
# customer) and deletes on the orders of 300 customers; afterwards the state
# equals the statistics computed again from the orders, exactly.  pgbench
# counts failed transactions: there must be none (no deadlock, no error).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
db=segment_state_random
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" 2>/dev/null' EXIT
psql=(psql -X -q -v ON_ERROR_STOP=1 -d "$db")

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
"${psql[@]}" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION segment;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, t timestamptz, amount numeric(10, 2));
CREATE INDEX ON orders (customer_id);
INSERT INTO orders (customer_id, t, amount)
SELECT 1 + i % 300, timestamptz '2024-01-01' + make_interval(hours => i), (i % 997) / 10.0
FROM generate_series(1, 3000) i;
SELECT count(*) FROM attach('random', 'orders', 'customer_id', 't', 'amount');
SELECT maintain_attachment('random');
SQL

cat >"$work/mixed.sql" <<'SQL'
\set c random(1, 300)
\set d random(1, 300)
\set op random(1, 100)
\if :op <= 50
INSERT INTO orders (customer_id, t, amount)
VALUES (:c, timestamptz '2024-01-01' + random() * interval '700 days',
        CASE WHEN random() < 0.05 THEN NULL ELSE round((random() * 200 - 10)::numeric, 2) END);
\elif :op <= 65
UPDATE orders SET amount = amount + 1 WHERE id = (SELECT max(id) FROM orders WHERE customer_id = :c);
\elif :op <= 75
UPDATE orders SET t = t + interval '3 days' WHERE id = (SELECT min(id) FROM orders WHERE customer_id = :c);
\elif :op <= 85
UPDATE orders SET customer_id = :d WHERE id = (SELECT max(id) FROM orders WHERE customer_id = :c);
\else
DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE customer_id = :c);
\endif
SQL

"$bindir/pgbench" -n -c 2 -j 2 -t 50000 -f "$work/mixed.sql" "$db" >"$work/pgbench.log" 2>&1 || {
	cat "$work/pgbench.log" >&2
	exit 1
}
grep -E "^number of (transactions actually processed|failed transactions)" "$work/pgbench.log"
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.log")
[ "${failed:-0}" = 0 ] || { echo "$failed transactions failed" >&2; exit 1; }

read -r differences customers < <("${psql[@]}" -At -F ' ' <<'SQL'
SELECT count(*) FILTER (WHERE s.stats::text IS DISTINCT FROM o.stats::text), count(*)
FROM random_state s
FULL JOIN (SELECT customer_id, rfm_stats(t, amount) AS stats FROM orders
           WHERE customer_id IS NOT NULL GROUP BY 1 HAVING count(t) > 0) o USING (customer_id);
SQL
)
echo "after 100,000 mixed writes: $customers customers, $differences differences"
[ "$differences" = 0 ] && [ "$customers" -gt 0 ]
