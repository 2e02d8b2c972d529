#!/usr/bin/env bash
# pg_dump and restore of a database with attached tables, a custom segment
# map, rule segments, a maintained attachment with published views and a
# table of segment sets with a GIN index, restored twice into fresh
# databases: a custom-format dump through pg_restore and a plain dump
# through psql, both with an empty search_path.  Every view of every attachment has the same content (the
# published pseudonyms too: their secret is a table that comes along), the
# custom map, rules and segment sets come along, the restored GIN index is
# used and gives the answers of the original (and of a sequential scan),
# and the restored triggers keep the restored state and customer tags
# current.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d)
databases=(segment_dump_src segment_dump_dst segment_dump_plain)
drop_databases() {
	for db in "${databases[@]}"; do dropdb --if-exists "$db" 2>/dev/null; done
	return 0
}
trap 'rm -rf "$work"; drop_databases' EXIT
# the views judge customers at a fixed time, so both reads agree
export PGOPTIONS="-c segment.as_of=2025-01-01"
psql=(psql -X -q -v ON_ERROR_STOP=1)

drop_databases
createdb segment_dump_src
"${psql[@]}" -d segment_dump_src >/dev/null <<'SQL'
CREATE EXTENSION segment;
CREATE TABLE customers (customer_id int PRIMARY KEY, country text);
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric);
INSERT INTO customers SELECT c, (ARRAY['TR', 'DE'])[1 + c % 2] FROM generate_series(1, 500) c;
INSERT INTO orders
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 11 + k * 17) % 300), (c % 97) + k
FROM generate_series(1, 480) c, generate_series(1, 1 + c % 6) k;
SELECT copy_segment_map('default', 'house');
UPDATE segment_map_boxes SET segment_name = 'Top' WHERE map_name = 'house' AND segment_name = 'Champions';
SELECT attach('main_store', 'orders', 'customer_id', 'ordered_at', 'amount', 'customers', 'customer_id',
			  map_name => 'house');
SELECT define_segment_rule('main_store', 'Turkey', $$country = 'TR'$$);
SELECT attach('second', 'orders', 'customer_id', 'ordered_at', 'amount');
CREATE INDEX ON orders (customer_id);
SELECT maintain_attachment('second');
-- maintained with a customers table: its attribute rule's tags are stored
SELECT maintain_attachment('main_store');
-- published: the pseudonyms must survive the dump (the secret is a table)
CREATE EXTENSION pgcrypto;
SELECT set_customer_columns('main_store', '{country}');
SELECT set_minimum_group_size('main_store', 5);
SELECT publish_views('main_store');
-- every customer's segments, some NULL and some empty, with a GIN index
CREATE TABLE customer_segments (customer_id int PRIMARY KEY, segments segment_set);
INSERT INTO customer_segments
SELECT customer_id, segment_set_agg(segment) FROM main_store_segment_members GROUP BY customer_id;
INSERT INTO customer_segments SELECT c, CASE WHEN c % 2 = 0 THEN '{}'::segment_set END FROM generate_series(1001, 1020) c;
UPDATE customer_segments SET segments = segments + 'vip' WHERE customer_id % 10 = 3;
CREATE INDEX customer_segments_gin ON customer_segments USING gin (segments);
SQL

"$bindir/pg_dump" -Fc -f "$work/dump" segment_dump_src
createdb segment_dump_dst
"$bindir/pg_restore" --exit-on-error -d segment_dump_dst "$work/dump"
"$bindir/pg_dump" -Fp -f "$work/dump.sql" segment_dump_src
createdb segment_dump_plain
PGOPTIONS="$PGOPTIONS -c search_path=" "${psql[@]}" -d segment_dump_plain -f "$work/dump.sql" >/dev/null
restored=(segment_dump_dst segment_dump_plain)

# every view's rows, hashed in a fixed order, in both databases
views=$("${psql[@]}" -At -d segment_dump_src -c "SELECT unnest(views) FROM public.attachments ORDER BY 1")
[ -n "$views" ] || { echo "no views were built" >&2; exit 1; }
status=0
count=0
# same: what a query answers in the original and in every restored database
same() {
	local what=$1 query=$2 src dst db
	src=$("${psql[@]}" -At -d segment_dump_src -c "$query")
	for db in "${restored[@]}"; do
		dst=$("${psql[@]}" -At -d "$db" -c "$query")
		if [ "$src" != "$dst" ]; then
			echo "$what differs in $db: $src vs $dst" >&2
			status=1
		fi
	done
}
for v in $views; do
	same "view $v" "SET search_path = ''; SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM $v t"
	count=$((count + 1))
done
for table in segment_maps segment_map_boxes segment_rules attachments customer_segments second_history main_store_history; do
	same "table $table" "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM public.$table t"
done

# the segment sets: the GIN index is used and answers as in the original and
# as a sequential scan does
searches=(
	"segments @> '{Top}'"
	"segments @> '{Turkey,vip}'"
	"segments && '{Lost,Hibernating}'"
	"segments ? 'At Risk'"
	"segments ? 'no such segment'"
)
for where in "${searches[@]}"; do
	query="SELECT count(*) || ' ' || coalesce(md5(string_agg(customer_id::text, ',' ORDER BY customer_id)), '') FROM customer_segments WHERE $where"
	same "the customers with $where" "SET enable_seqscan = off; $query"
	for db in segment_dump_src "${restored[@]}"; do
		plan=$("${psql[@]}" -At -d "$db" -c "SET enable_seqscan = off; EXPLAIN (COSTS OFF) $query")
		if ! grep -q 'Bitmap Index Scan on customer_segments_gin' <<<"$plan"; then
			echo "$db does not use the GIN index for $where:" >&2
			echo "$plan" >&2
			status=1
		fi
		indexed=$("${psql[@]}" -At -d "$db" -c "SET enable_seqscan = off; $query")
		scanned=$("${psql[@]}" -At -d "$db" -c "SET enable_indexscan = off; SET enable_bitmapscan = off; $query")
		if [ "$indexed" != "$scanned" ]; then
			echo "$db: the GIN index finds $indexed for $where, a sequential scan $scanned" >&2
			status=1
		fi
	done
done
nonempty=$("${psql[@]}" -At -d segment_dump_src -c "SELECT count(*) FROM customer_segments WHERE segments @> '{Top}'")
[ "$nonempty" -gt 0 ] || { echo "no customer is in segment Top: the searches prove nothing" >&2; status=1; }

# the restored trigger keeps the restored state current
write="SET segment.as_of = '2025-01-02'; INSERT INTO orders VALUES (1, '2024-12-30', 5); DELETE FROM orders WHERE customer_id = 2;
	SELECT count(*) || ' ' || md5(string_agg(customer_id || ' ' || stats::text, ',' ORDER BY customer_id)) FROM second_state"
same "the maintained state after writes" "$write"
# and the restored trigger on the customers table keeps the restored tags
write="SET segment.as_of = '2025-01-02'; INSERT INTO customers VALUES (501, 'TR'), (502, 'DE'); UPDATE customers SET country = 'TR' WHERE customer_id % 10 = 1;
	DELETE FROM customers WHERE customer_id = 4; UPDATE customers SET customer_id = 600 WHERE customer_id = 8;
	SELECT count(*) || ' ' || md5(string_agg(customer_id || ' ' || segments::text, ',' ORDER BY customer_id)) FROM main_store_tags"
same "the customer tags after writes" "$write"
# and both write the restored history
for table in second_history main_store_history; do
	same "$table after writes" "SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM public.$table t"
done
moved=$("${psql[@]}" -At -d segment_dump_src -c "SELECT (SELECT count(*) FROM second_history WHERE left_at IS NOT NULL)
	+ (SELECT count(*) FROM main_store_history WHERE kind = 'rule' AND left_at IS NOT NULL)")
[ "$moved" -gt 0 ] || { echo "no interval of the history ended: the comparison proves little" >&2; status=1; }
tagged=$("${psql[@]}" -At -d segment_dump_src -c "SELECT count(*) FROM main_store_tags WHERE segments ? 'Turkey'")
[ "$tagged" -gt 0 ] || { echo "no customer is tagged Turkey: the comparison proves nothing" >&2; status=1; }
echo "$count views, the configuration tables, the segment sets and their GIN index, the maintained state, tags and history" \
	"compared after pg_restore of a custom dump and psql of a plain dump"
exit $status
