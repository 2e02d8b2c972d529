#!/usr/bin/env bash
# Reads of the segment history at scale: bash bench/history.sh [customers]
#
# A maintained attachment of the generated data (default 1,000,000
# customers, bench/generate_orders.sql), its history started at the last
# order, then a year before it filled in: for each customer, intervals of
# two RFM segments and two lifecycle stages over that year, written
# straight into the history table (the triggers would need a year of
# writes), about 4 rows per customer more.  Timed, median of
# BENCH_READS fresh sessions (default 5):
#   - segment_members_at() of the largest RFM segment, 90 days back and now
#   - segment_transitions() over the last 90 days and over a quarter a
#     year back
#   - <a>_campaign_performance over 1,000,000 sends of one campaign
# The machine, server and settings are printed for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/history.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
READS=${BENCH_READS:-5}
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"

as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="${PGOPTIONS:-} -c segment.as_of=$(printf '%s' "$as_of" | sed 's/ /\\ /g')"
sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE;
	DROP TABLE IF EXISTS hist_state, hist_history, hist_sends; CREATE EXTENSION segment" >/dev/null
sql "CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id)" >/dev/null
echo "== maintaining $CUSTOMERS customers, with history"
sql "SELECT count(*) FROM attach('hist', 'orders', 'customer_id', 'order_time', 'amount')" >/dev/null
sql "SELECT maintain_attachment('hist')" >/dev/null
echo "== a year of history before the last order"
"${psql[@]}" -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
-- per customer: an RFM segment for the first half of the year, another
-- for the second; a stage for 100 to 250 days, another until the start
INSERT INTO hist_history (customer_id, kind, segment, entered_at, left_at)
SELECT s.customer_id, x.kind, x.segment, x.entered_at, x.left_at
FROM hist_state s,
	 LATERAL (SELECT (SELECT history_since FROM attachments WHERE attachment_name = 'hist') AS since,
					 (s.customer_id % 97) * interval '1 day' AS shift) t,
	 LATERAL (VALUES
		('rfm', (ARRAY['Lost', 'Hibernating', 'About to Sleep', 'Promising'])[1 + s.customer_id % 4],
		 t.since - interval '365 days', t.since - interval '180 days' + t.shift),
		('rfm', (ARRAY['Hibernating', 'At Risk', 'Loyal Customers', 'Lost', 'Need Attention'])[1 + s.customer_id % 5],
		 t.since - interval '180 days' + t.shift, t.since),
		('lifecycle', 'active', t.since - interval '365 days', t.since - interval '250 days' + t.shift),
		('lifecycle', 'at_risk', t.since - interval '250 days' + t.shift, t.since)) x(kind, segment, entered_at, left_at)
WHERE s.customer_id % 10 <> 0;
UPDATE attachments SET history_since = history_since - interval '365 days' WHERE attachment_name = 'hist';
VACUUM ANALYZE hist_history;
-- one campaign to every customer, 60 days back
CREATE TABLE hist_sends AS
SELECT s.customer_id, 'Spring sale'::text AS campaign,
	   (SELECT history_since + interval '305 days' FROM attachments WHERE attachment_name = 'hist') AS sent_at,
	   CASE WHEN s.customer_id % 3 = 0 THEN (SELECT history_since + interval '306 days' FROM attachments
											 WHERE attachment_name = 'hist') END AS opened_at
FROM hist_state s;
VACUUM ANALYZE hist_sends;
SELECT count(*) FROM attach_campaigns('hist', 'hist_sends', 'customer_id', 'campaign', 'sent_at', 'opened_at');
SQL
rows=$(sql "SELECT count(*) FROM hist_history")
since=$(sql "SELECT history_since FROM attachments WHERE attachment_name = 'hist'")
largest=$(sql "SELECT segment FROM hist_history WHERE kind = 'rfm' AND left_at IS NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
echo "history: $rows intervals since $since; the largest segment now: $largest"
echo
echo "| read, $CUSTOMERS customers, $rows intervals | rows | median s | max s |"
echo "|---|---:|---:|---:|"
for query in \
	"SELECT count(*) FROM segment_members_at('hist', '$largest', timestamptz '$as_of' - interval '90 days')" \
	"SELECT count(*) FROM segment_members_at('hist', '$largest', timestamptz '$as_of')" \
	"SELECT sum(customers) FROM segment_transitions('hist', timestamptz '$as_of' - interval '90 days', timestamptz '$as_of')" \
	"SELECT sum(customers) FROM segment_transitions('hist', timestamptz '$as_of' - interval '300 days', timestamptz '$as_of' - interval '210 days')" \
	"SELECT sum(recipients) FROM hist_campaign_performance"; do
	times=()
	answer=
	for _ in $(seq "$READS"); do
		read -r ms _ _ answer < <(bench_time "$query")
		times+=("$ms")
	done
	printf '%s\n' "${times[@]}" | sort -g | awk -v q="$query" -v a="$answer" '{ t[NR] = $1 }
		END { printf "| `%s` | %s | %.2f | %.2f |\n", q, a, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000 }'
done
echo
bench_describe
