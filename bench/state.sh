#!/usr/bin/env bash
# Maintained state: bash bench/state.sh [customers]   (default 1000000)
#
# 1. Insert throughput with pgbench, 2 clients, BENCH_SECONDS (20) each, one
#    order per transaction for a random customer of 100,000, into three
#    empty orders tables: without trigger, with segment's C trigger
#    (maintain_attachment), and with a PL/pgSQL trigger doing the same
#    locked upsert.
# 2. Read latency through the maintained state on the generated data set
#    (bench/generate_orders.sql, database segment_bench): the segment
#    summary and one segment's members, BENCH_READS (11) reads each, p50
#    and p95.
# Server and environment as for bench/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/state.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
READS=${BENCH_READS:-11}
# shellcheck source=bench/common.sh
source bench/common.sh
bench_server
bench_data "$CUSTOMERS"
pgbench=$("${PG_CONFIG:-pg_config}" --bindir)/pgbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE; CREATE EXTENSION segment" >/dev/null
"${psql[@]}" -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS ins_plain, ins_c, ins_pl, ins_pl_state, ins_state, bench_state;
CREATE TABLE ins_plain (order_id bigserial PRIMARY KEY, customer_id bigint, order_time timestamptz, amount numeric(12, 2));
CREATE INDEX ON ins_plain (customer_id);
CREATE TABLE ins_c (LIKE ins_plain INCLUDING ALL);
CREATE TABLE ins_pl (LIKE ins_plain INCLUDING ALL);
-- one order for each customer first, so that maintain_attachment computes
-- real thresholds and both triggers score against them
INSERT INTO ins_plain (customer_id, order_time, amount)
SELECT c, now() - (c % 700) * interval '1 day', (c % 100) + 0.5 FROM generate_series(1, 100000) c;
INSERT INTO ins_c SELECT * FROM ins_plain;
INSERT INTO ins_pl SELECT * FROM ins_plain;
SELECT count(*) FROM attach('ins', 'ins_c', 'customer_id', 'order_time', 'amount');
SELECT maintain_attachment('ins');
-- the same work in PL/pgSQL: lock the customer, merge the order, store
-- what the merged statistics give (scores, stage, segments, validity)
CREATE TABLE ins_pl_state (LIKE ins_state INCLUDING ALL);
CREATE OR REPLACE FUNCTION ins_pl_merge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	merged rfm_stats;
	judged_at timestamptz;
	thresholds rfm_thresholds;
	new_scores rfm;
BEGIN
	IF NEW.customer_id IS NOT NULL AND NEW.order_time IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock(('ins_pl_state'::regclass::oid::bigint << 32)
									  | (hashtext(NEW.customer_id::text)::bigint & 4294967295));
		INSERT INTO ins_pl_state AS s (customer_id, stats)
		VALUES (NEW.customer_id, rfm_stats_of_order(NEW.order_time, NEW.amount))
		ON CONFLICT (customer_id) DO UPDATE SET stats = rfm_stats_combine(s.stats, excluded.stats)
		RETURNING s.stats INTO merged;
		SELECT a.thresholds INTO thresholds FROM attachments a WHERE a.attachment_name = 'ins';
		judged_at := GREATEST(segment_as_of(), last_order_time(merged));
		new_scores := rfm_score(merged, judged_at, thresholds);
		UPDATE ins_pl_state s
		SET scores = new_scores, lifecycle_stage = lifecycle_stage(merged, judged_at),
			segments = coalesce((SELECT c.segments FROM ins_cells c WHERE c.scores = new_scores), '{}'),
			scored_at = segment_as_of(), valid_until = segments_valid_until(merged, judged_at, thresholds)
		WHERE s.customer_id = NEW.customer_id;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER merge AFTER INSERT ON ins_pl FOR EACH ROW EXECUTE FUNCTION ins_pl_merge();
INSERT INTO ins_pl_state SELECT * FROM ins_state;
SQL

declare -A tps
for table in ins_plain ins_c ins_pl; do
	cat >"$work/$table.sql" <<-EOF
		\set c random(1, 100000)
		INSERT INTO $table (customer_id, order_time, amount)
		VALUES (:c, now() - random() * interval '700 days', round((random() * 100)::numeric, 2));
	EOF
	"$pgbench" -n -c 2 -j 2 -T "$SECONDS_PER_RUN" -f "$work/$table.sql" "$DB" >"$work/$table.log" 2>&1
	tps[$table]=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$table.log")
done
echo "| inserts, 2 clients | tps | x no trigger |"
echo "|---|---:|---:|"
for table in ins_plain ins_c ins_pl; do
	awk -v n="$table" -v t="${tps[$table]}" -v p="${tps[ins_plain]}" \
		'BEGIN { printf "| %s | %.0f | %.2f |\n", n, t, t / p }'
done
awk -v c="${tps[ins_c]}" -v p="${tps[ins_pl]}" 'BEGIN { printf "C trigger / PL/pgSQL trigger: %.2f\n", c / p }'

# reads through the maintained state at the full data set
as_of=$(sql "SELECT max(order_time) FROM orders")
export PGOPTIONS="$PGOPTIONS -c segment.as_of=$(printf '%s' "$as_of" | sed 's/ /\\ /g')"
sql "CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id)" >/dev/null
sql "SELECT count(*) FROM attach('bench', 'orders', 'customer_id', 'order_time', 'amount',
	customers => 'customers', customer_key => 'customer_id')" >/dev/null
sql "SELECT maintain_attachment('bench')" >/dev/null
echo
echo "| read through the maintained state | p50 s | p95 s |"
echo "|---|---:|---:|"
for view in bench_segment_summary bench_segment_champions; do
	times=()
	for _ in $(seq "$READS"); do
		read -r ms _ < <(bench_time "SELECT count(q) FROM (SELECT * FROM $view) q")
		times+=("$ms")
	done
	printf '%s\n' "${times[@]}" | sort -g | awk -v v="$view" '{ t[NR] = $1 }
		END { printf "| SELECT * FROM %s | %.2f | %.2f |\n", v, t[int((NR + 1) / 2)] / 1000, t[int(NR * 0.95 + 0.999)] / 1000 }'
done
echo
bench_describe
