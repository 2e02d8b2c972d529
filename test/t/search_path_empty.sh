#!/usr/bin/env bash
# The main workflow (attach with a customers table, rules, a copied map,
# maintained state with trigger writes, refreshed thresholds, every view,
# scores, segment sets) works with search_path = '' and every name
# qualified, and gives exactly what the same workflow gives, unqualified,
# under the default search_path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work=$(mktemp -d)
cleanup() {
	dropdb --if-exists segment_path_default 2>/dev/null || true
	dropdb --if-exists segment_path_empty 2>/dev/null || true
}
trap 'cleanup; rm -rf "$work"' EXIT
cleanup
export PGOPTIONS="-c segment.as_of=2025-01-01"

# $1: database, $2: the SET search_path statement, $3: the qualification
run() {
	local db=$1 path=$2 q=$3
	createdb "$db"
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION segment' >/dev/null
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/$db.out" <<SQL
$path
CREATE TABLE ${q}customers (customer_id integer PRIMARY KEY, city text);
CREATE TABLE ${q}orders (order_id serial PRIMARY KEY, customer_id integer, ordered_at timestamptz, amount numeric);
CREATE INDEX ON ${q}orders (customer_id);
INSERT INTO ${q}customers SELECT c, (ARRAY['Izmir', 'Ankara'])[1 + c % 2] FROM generate_series(1, 300) c;
INSERT INTO ${q}orders (customer_id, ordered_at, amount)
SELECT c, timestamptz '2024-12-31' - make_interval(days => (c * 7 + k * 13) % 300), (c % 17) + k
FROM generate_series(1, 280) c, generate_series(1, 1 + c % 6) k;
SELECT ${q}copy_segment_map('default', 'house');
UPDATE ${q}segment_map_boxes SET recency_min = 5 WHERE map_name = 'house' AND segment_name = 'Champions';
SELECT count(*) FROM ${q}attach('shop', '${q}orders', 'customer_id', 'ordered_at', 'amount',
								 '${q}customers', 'customer_id', map_name => 'house');
SELECT ${q}define_segment_rule('shop', 'Izmir recent', \$\$city = 'Izmir' AND recency_days <= 60\$\$);
SELECT ${q}define_segment_rule('shop', 'Big', 'average_order_value > population_average_order_value');
SELECT ${q}maintain_attachment('shop') IS NOT NULL;
INSERT INTO ${q}orders (customer_id, ordered_at, amount) VALUES (290, '2024-12-30', 12.5), (3, '2024-12-31', 7);
UPDATE ${q}orders SET amount = 99 WHERE order_id = 1;
UPDATE ${q}orders SET customer_id = 4 WHERE order_id = 2;
DELETE FROM ${q}orders WHERE order_id = 3;
SELECT ${q}refresh_attachment_thresholds('shop');
SELECT count(*) FROM ${q}attach('plain', '${q}orders', 'customer_id', 'ordered_at', 'amount');
-- every view of both attachments, row by row in a fixed order
SELECT format('SELECT %L, count(*), md5(string_agg(t::text, E''\\n'' ORDER BY t::text)) FROM %s t', v, v)
FROM ${q}attachments a, unnest(a.views) v ORDER BY a.attachment_name, v \gexec
SELECT count(*), md5(string_agg(s::text, ',' ORDER BY s.customer_id)) FROM ${q}shop_state s;
SELECT attachment_name, thresholds, population_average_order_value FROM ${q}attachments ORDER BY 1;
SELECT ${q}rfm_score(s.stats, '2025-01-01', 3) OVER (ORDER BY s.customer_id) FROM ${q}shop_state s LIMIT 5;
SELECT ${q}lifecycle_stage(s.stats, '2025-01-01') FROM ${q}shop_state s ORDER BY s.customer_id LIMIT 5;
CREATE TABLE ${q}sets AS SELECT customer_id, ${q}segment_set_agg(segment) AS segments
FROM ${q}shop_segment_members GROUP BY customer_id;
CREATE INDEX ON ${q}sets USING gin (segments ${q}segment_set_ops);
SET enable_seqscan = off;
SELECT count(*) FROM ${q}sets WHERE segments OPERATOR(${q}@>) '{Izmir recent}';
SELECT count(*) FROM ${q}sets WHERE segments OPERATOR(${q}?) 'Top' OR segments OPERATOR(${q}&&) '{Lost,Big}';
SELECT ${q}detach('plain');
SQL
}

run segment_path_default "SHOW search_path;" ""
run segment_path_empty "SET search_path = ''; SHOW search_path;" "public."
if ! diff <(sed 1d "$work/segment_path_default.out") <(sed 1d "$work/segment_path_empty.out") >"$work/diff"; then
	echo "results differ between the default and the empty search_path:" >&2
	head -40 "$work/diff" >&2
	exit 1
fi
lines=$(wc -l <"$work/segment_path_empty.out")
[ "$lines" -gt 40 ] || { echo "too little output: $lines lines" >&2; exit 1; }
echo "$lines lines of results alike under the default and the empty search_path"
