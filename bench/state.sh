#!/usr/bin/env bash
# Maintained state: bash bench/state.sh [customers]   (default 1000000)
#
# 1. Insert throughput with pgbench, 2 clients, BENCH_SECONDS (20) each, one
#    order per transaction for a random customer of 100,000, into three
#    orders tables that start with one order per customer (so that the
#    thresholds exist and both triggers score): without trigger, with
#    segment's C trigger
#    (maintain_attachment), and with a PL/pgSQL trigger doing the same
#    work (lock the customer's row, merge, write the row once).
#    BENCH_ROUNDS (2) rounds, every other one in the opposite order; each
#    run starts after a VACUUM of the five tables and a CHECKPOINT.
# 2. Read latency through the maintained state on the generated data set
#    (bench/generate_orders.sql, database segment_bench): the segment
#    summary and one segment's members, BENCH_READS (11) reads each, p50
#    and p95.
# BENCH_ONLY=insert or BENCH_ONLY=read runs one part.  Server and
# environment as for bench/run.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COMMAND="bash bench/state.sh${*:+ $*}"
CUSTOMERS=${1:-1000000}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
READS=${BENCH_READS:-11}
# shellcheck source=bench/common.sh
source bench/common.sh
ONLY=${BENCH_ONLY:-}
bench_server
[ "$ONLY" = insert ] || bench_data "$CUSTOMERS"
pgbench=$("${PG_CONFIG:-pg_config}" --bindir)/pgbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the state tables of earlier runs outlive the extension
sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE;
	DROP TABLE IF EXISTS ins_state, ins_cells, bench_state, bench_cells, bench_tags; CREATE EXTENSION segment" >/dev/null
if [ "$ONLY" != read ]; then
"${psql[@]}" -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS ins_plain, ins_c, ins_pl, ins_pl_state;
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
-- the same work in PL/pgSQL, written the way the C trigger works: lock the
-- customer's row, merge the order, write the row once with what the merged
-- statistics give (scores, stage, segments, validity), keeping the row's
-- span of validity while it stays true (so that writes can be heap-only)
CREATE TABLE ins_pl_state (LIKE ins_state INCLUDING ALL) WITH (fillfactor = 80);
CREATE OR REPLACE FUNCTION ins_pl_merge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	merged rfm_stats;
	old_from timestamptz;
	old_until timestamptz;
	existed boolean;
	scored_at timestamptz;
	judged_at timestamptz;
	thresholds rfm_thresholds;
	new_scores rfm;
	new_from timestamptz;
	new_until timestamptz;
BEGIN
	IF NEW.customer_id IS NOT NULL AND NEW.order_time IS NOT NULL THEN
		SELECT s.stats, s.valid_from, s.valid_until INTO merged, old_from, old_until
		FROM ins_pl_state s WHERE s.customer_id = NEW.customer_id FOR NO KEY UPDATE;
		existed := FOUND;
		merged := rfm_stats_combine(merged, rfm_stats_of_order(NEW.order_time, NEW.amount));
		SELECT a.thresholds INTO thresholds FROM attachments a WHERE a.attachment_name = 'ins';
		scored_at := segment_as_of();
		judged_at := GREATEST(scored_at, last_order_time(merged));
		new_scores := rfm_score(merged, judged_at, thresholds);
		new_from := scored_at;
		new_until := segments_valid_until(merged, judged_at, thresholds);
		IF existed AND segments_valid_from(merged, judged_at, thresholds) <= old_from AND old_from <= scored_at THEN
			new_from := old_from;
		END IF;
		IF existed AND scored_at < old_until AND old_until <= new_until THEN
			new_until := old_until;
		END IF;
		INSERT INTO ins_pl_state AS s
		VALUES (NEW.customer_id, merged, new_scores, lifecycle_stage(merged, judged_at),
				coalesce((SELECT c.segments FROM ins_cells c WHERE c.scores = new_scores), '{}'),
				scored_at, new_until, new_from)
		ON CONFLICT (customer_id) DO UPDATE
		SET (stats, scores, lifecycle_stage, segments, scored_at, valid_until, valid_from) =
			ROW(excluded.stats, excluded.scores, excluded.lifecycle_stage, excluded.segments,
				excluded.scored_at, excluded.valid_until, excluded.valid_from);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER merge AFTER INSERT ON ins_pl FOR EACH ROW EXECUTE FUNCTION ins_pl_merge();
INSERT INTO ins_pl_state SELECT * FROM ins_state;
SQL

declare -A tps
sql "SELECT pg_stat_reset_single_table_counters(t::regclass) FROM unnest(ARRAY['ins_state', 'ins_pl_state']) t" >/dev/null
ROUNDS=${BENCH_ROUNDS:-2}
tables=(ins_plain ins_c ins_pl)
for table in "${tables[@]}"; do
	cat >"$work/$table.sql" <<-EOF
		\set c random(1, 100000)
		INSERT INTO $table (customer_id, order_time, amount)
		VALUES (:c, now() - random() * interval '700 days', round((random() * 100)::numeric, 2));
	EOF
done
for round in $(seq "$ROUNDS"); do
	order=("${tables[@]}")
	[ $((round % 2)) -eq 0 ] && order=(ins_pl ins_c ins_plain)
	for table in "${order[@]}"; do
		# every run starts vacuumed and at a checkpoint, so that none pays for
		# the vacuuming or the full-page writes its predecessor caused
		sql "VACUUM ins_plain, ins_c, ins_pl, ins_state, ins_pl_state" >/dev/null
		sql "CHECKPOINT" >/dev/null
		"$pgbench" -n -c 2 -j 2 -T "$SECONDS_PER_RUN" -f "$work/$table.sql" "$DB" >"$work/$table.log" 2>&1
		tps[$table,$round]=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$table.log")
	done
done
echo "| inserts, 2 clients | tps per round | x no trigger, per round |"
echo "|---|---:|---:|"
for table in "${tables[@]}"; do
	t="" r=""
	for round in $(seq "$ROUNDS"); do
		t+="${t:+ / }$(printf '%.0f' "${tps[$table,$round]}")"
		r+="${r:+ / }$(awk -v a="${tps[$table,$round]}" -v b="${tps[ins_plain,$round]}" 'BEGIN { printf "%.2f", a / b }')"
	done
	echo "| $table | $t | $r |"
done
sql "SELECT relname || ': ' || n_tup_upd || ' updates, ' || round(100.0 * n_tup_hot_upd / greatest(n_tup_upd, 1)) || '% heap-only'
	 FROM pg_stat_user_tables WHERE relname IN ('ins_state', 'ins_pl_state') ORDER BY 1"
for round in $(seq "$ROUNDS"); do
	awk -v c="${tps[ins_c,$round]}" -v p="${tps[ins_pl,$round]}" -v r="$round" \
		'BEGIN { printf "round %d: C trigger / PL/pgSQL trigger: %.2f\n", r, c / p }'
done
fi

# reads through the maintained state at the full data set
if [ "$ONLY" != insert ]; then
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
fi
echo
bench_describe
