#!/usr/bin/env bash
# pg_dump and restore of a database with attached tables, a custom segment
# map, rule segments and a maintained attachment: the restore into a fresh database (pg_restore runs
# with an empty search_path) gives every view of every attachment the same
# content, and the custom map and rules come along.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists segment_dump_src 2>/dev/null; dropdb --if-exists segment_dump_dst 2>/dev/null' EXIT
# the views judge customers at a fixed time, so both reads agree
export PGOPTIONS="-c segment.as_of=2025-01-01"
psql=(psql -X -q -v ON_ERROR_STOP=1)

dropdb --if-exists segment_dump_src 2>/dev/null
dropdb --if-exists segment_dump_dst 2>/dev/null
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
SQL

"$bindir/pg_dump" -Fc -f "$work/dump" segment_dump_src
createdb segment_dump_dst
"$bindir/pg_restore" --exit-on-error -d segment_dump_dst "$work/dump"

# every view's rows, hashed in a fixed order, in both databases
views=$("${psql[@]}" -At -d segment_dump_src -c "SELECT unnest(views) FROM public.attachments ORDER BY 1")
[ -n "$views" ] || { echo "no views were built" >&2; exit 1; }
status=0
count=0
for v in $views; do
	query="SET search_path = ''; SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM $v t"
	src=$("${psql[@]}" -At -d segment_dump_src -c "$query")
	dst=$("${psql[@]}" -At -d segment_dump_dst -c "$query")
	count=$((count + 1))
	if [ "$src" != "$dst" ]; then
		echo "view $v differs after restore: $src vs $dst" >&2
		status=1
	fi
done
for table in segment_maps segment_map_boxes segment_rules attachments; do
	query="SELECT count(*) || ' ' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM public.$table t"
	if [ "$("${psql[@]}" -At -d segment_dump_src -c "$query")" != "$("${psql[@]}" -At -d segment_dump_dst -c "$query")" ]; then
		echo "table $table differs after restore" >&2
		status=1
	fi
done
# the restored trigger keeps the restored state current
write="INSERT INTO orders VALUES (1, '2024-12-30', 5); DELETE FROM orders WHERE customer_id = 2;
	SELECT count(*) || ' ' || md5(string_agg(customer_id || ' ' || stats::text, ',' ORDER BY customer_id)) FROM second_state"
if [ "$("${psql[@]}" -At -d segment_dump_src -c "$write")" != "$("${psql[@]}" -At -d segment_dump_dst -c "$write")" ]; then
	echo "the maintained state differs after writes to the restored database" >&2
	status=1
fi
echo "$count views, the configuration tables and the maintained state compared after pg_dump and pg_restore"
exit $status
