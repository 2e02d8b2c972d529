#!/usr/bin/env bash
# segment_set benchmark: bash bench/segment_set.sh [customers]   (default 1000000)
#
# The same memberships (bench/segment_set.sql: every customer in 3 to 8 of
# 200 segments) stored three ways, each with the index a user would build:
#   a   ss_set(customer_id, segments segment_set), GIN (segment_set_ops)
#   b   ss_array(customer_id, segments text[]),    GIN (array_ops)
#   c   ss_pairs(customer_id, segment text),       B-tree (segment, customer_id)
# and three questions, each counting customers:
#   one   in segment X          a/b: segments @> {X}      c: segment = X
#   two   in X and in Y         a/b: segments @> {X,Y}    c: self-join on customer_id
#   or    in X or in Y          a/b: segments && {X,Y}    c: count(DISTINCT customer_id) ... IN (X, Y)
# Reported: index size, index build time (median of BENCH_BUILD_RUNS builds,
# 3), table size, and the latency of each question, median and fastest of
# BENCH_RUNS (21) runs after 3 warm-up runs (psql \timing, so planning and
# the client round trip are included).  The variants take turns, a b c a b
# c ..., in one session per question, so that anything else the machine
# does slows them alike.  The three variants must count the same customers,
# or the script fails.  Then one EXPLAIN (ANALYZE, BUFFERS) per variant and
# question shows where the time goes.
#
# Settings for every session: jit=off, no parallel query and no parallel
# index build (GIN builds are serial before PostgreSQL 18; this keeps the
# B-tree comparable), maintenance_work_mem=256MB, work_mem=2GB (bench/common.sh).
#
# Server: the one PGHOST/PGPORT point at if either is set (database
# segment_set_bench is then kept, its data regenerated), else a throwaway
# cluster from test/cluster.sh.  The extension must be installed there.
#
# Environment: SEED (42), BENCH_RUNS (21), BENCH_BUILD_RUNS (3),
# SEGMENT_X ('segment 017'), SEGMENT_Y ('segment 042').
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

COMMAND="bash bench/segment_set.sh${*:+ $*}"
for var in BENCH_RUNS BENCH_BUILD_RUNS SEED SEGMENT_X SEGMENT_Y; do
	[ -z "${!var:-}" ] || COMMAND="$var='${!var}' $COMMAND"
done

CUSTOMERS=${1:-1000000}
RUNS=${BENCH_RUNS:-21}
BUILD_RUNS=${BENCH_BUILD_RUNS:-3}
WARMUP=3
X=${SEGMENT_X:-segment 017}
Y=${SEGMENT_Y:-segment 042}
# shellcheck source=bench/common.sh
source bench/common.sh
DB=segment_set_bench
bench_server
export PGOPTIONS="$PGOPTIONS -c jit=off -c max_parallel_workers_per_gather=0
	-c max_parallel_maintenance_workers=0 -c maintenance_work_mem=256MB"
PGOPTIONS=$(tr -s '\n\t' '  ' <<<"$PGOPTIONS")

[ -n "$(sql "SELECT 1 FROM pg_available_extensions WHERE name = 'segment'")" ] || {
	echo "extension segment is not installed on the server (make install)" >&2
	exit 1
}
# recreate it, so a kept database never runs an older install script
sql "SET client_min_messages = warning; DROP EXTENSION IF EXISTS segment CASCADE;
	CREATE EXTENSION segment" >/dev/null

echo "== generating $CUSTOMERS customers (seed $SEED)"
t0=$(date +%s.%N)
"${psql[@]}" -d "$DB" -v customers="$CUSTOMERS" -v seed="$SEED" -f bench/segment_set.sql
GENERATION=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "generated in %.1f s", b - a }')

# SQL literals of the two segments, as text, as a segment_set and as text[]
sq="'"
qx="'${X//$sq/$sq$sq}'"
qy="'${Y//$sq/$sq$sq}'"
set_one=$(sql "SELECT quote_literal(segment_set(ARRAY[$qx])::text)")
set_two=$(sql "SELECT quote_literal(segment_set(ARRAY[$qx, $qy])::text)")

declare -A index_sql table_of query
index_sql[a]="CREATE INDEX ss_set_gin ON ss_set USING gin (segments)"
index_sql[b]="CREATE INDEX ss_array_gin ON ss_array USING gin (segments)"
index_sql[c]="CREATE INDEX ss_pairs_segment ON ss_pairs (segment, customer_id)"
table_of[a]=ss_set
table_of[b]=ss_array
table_of[c]=ss_pairs
index_of() { sed -n 's/^CREATE INDEX \([a-z_]*\) .*/\1/p' <<<"${index_sql[$1]}"; }

query[a,one]="SELECT count(*) FROM ss_set WHERE segments @> $set_one"
query[a,two]="SELECT count(*) FROM ss_set WHERE segments @> $set_two"
query[a,or]="SELECT count(*) FROM ss_set WHERE segments && $set_two"
query[b,one]="SELECT count(*) FROM ss_array WHERE segments @> ARRAY[$qx]"
query[b,two]="SELECT count(*) FROM ss_array WHERE segments @> ARRAY[$qx, $qy]"
query[b,or]="SELECT count(*) FROM ss_array WHERE segments && ARRAY[$qx, $qy]"
query[c,one]="SELECT count(*) FROM ss_pairs WHERE segment = $qx"
query[c,two]="SELECT count(*) FROM ss_pairs x JOIN ss_pairs y USING (customer_id) WHERE x.segment = $qx AND y.segment = $qy"
query[c,or]="SELECT count(DISTINCT customer_id) FROM ss_pairs WHERE segment IN ($qx, $qy)"

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Index builds: BUILD_RUNS rounds of a, b, c; the median of each
declare -A build_ms build_times
for i in $(seq "$BUILD_RUNS"); do
	for v in a b c; do
		ms=$("${psql[@]}" -At -d "$DB" <<-EOF | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
			SET client_min_messages = warning;
			DROP INDEX IF EXISTS $(index_of "$v");
			\timing on
			${index_sql[$v]};
		EOF
		)
		echo "== ($v) build $i: $ms ms"
		build_times[$v]+="$ms"$'\n'
	done
done
for v in a b c; do
	build_ms[$v]=$(grep . <<<"${build_times[$v]}" | median)
done
sql "VACUUM ANALYZE ss_set, ss_array, ss_pairs"

# Queries: one session per question, the variants taking turns (a b c a b
# c ...), so that whatever else the machine does hits them alike; WARMUP
# rounds, then RUNS timed rounds
declare -A latency fastest rows
for q in one two or; do
	out=$({
		printf '%s\n' '\timing on'
		for _ in $(seq $((WARMUP + RUNS))); do
			for v in a b c; do echo "${query[$v,$q]};"; done
		done
	} | "${psql[@]}" -At -d "$DB")
	i=0
	for v in a b c; do
		# line pairs (count, time); this variant's are every third pair
		mine=$(paste - - <<<"$out" | awk -v k="$i" '(NR - 1) % 3 == k')
		i=$((i + 1))
		rows[$v,$q]=$(cut -f1 <<<"$mine" | sort -u)
		[ "$(wc -l <<<"${rows[$v,$q]}")" -eq 1 ] || { echo "($v) $q: counts vary: ${rows[$v,$q]}" >&2; exit 1; }
		times=$(cut -f2 <<<"$mine" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n "$RUNS")
		latency[$v,$q]=$(median <<<"$times")
		fastest[$v,$q]=$(sort -g <<<"$times" | head -1)
		echo "== ($v) $q: ${rows[$v,$q]} customers, median ${latency[$v,$q]} ms, fastest ${fastest[$v,$q]} ms"
	done
	if [ "${rows[a,$q]}" != "${rows[b,$q]}" ] || [ "${rows[a,$q]}" != "${rows[c,$q]}" ]; then
		echo "$q: the variants disagree: a=${rows[a,$q]} b=${rows[b,$q]} c=${rows[c,$q]}" >&2
		exit 1
	fi
done

# The report, as markdown
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
settings=$(sql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	FROM pg_settings WHERE name IN ('work_mem', 'maintenance_work_mem', 'max_parallel_workers_per_gather',
	'max_parallel_maintenance_workers', 'jit', 'shared_buffers', 'random_page_cost', 'effective_cache_size')")
echo
echo "Command: $COMMAND"
echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
	"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
echo "Server: $(sql "SELECT version()")"
echo "Settings: $settings"
echo "Data: $(sql "SELECT count(*) FROM ss_set") customers, $(sql "SELECT count(*) FROM ss_pairs") memberships" \
	"of $(sql "SELECT count(DISTINCT segment) FROM ss_pairs") segments, seed $SEED; $GENERATION"
echo "Segments: X = $X, Y = $Y; customers: in X ${rows[a,one]}, in X and Y ${rows[a,two]}, in X or Y ${rows[a,or]}"
echo "Runs: index builds median of $BUILD_RUNS; queries $WARMUP warm-up + $RUNS timed rounds, variants taking turns; median (fastest) ms"
echo
echo "| variant | index | index MB | build s | table MB | contains-one ms | contains-two ms | overlaps-two ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for v in a b c; do
	idx=$(index_of "$v")
	case $v in
		a) what="segment_set, GIN segment_set_ops" ;;
		b) what="text[], GIN array_ops" ;;
		c) what="(customer_id, segment), B-tree (segment, customer_id)" ;;
	esac
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$v" "$what" \
		"$(mb "$(sql "SELECT pg_relation_size('$idx')")")" \
		"$(awk -v t="${build_ms[$v]}" 'BEGIN { printf "%.2f", t / 1000 }')" \
		"$(mb "$(sql "SELECT pg_table_size('${table_of[$v]}')")")" \
		"${latency[$v,one]} (${fastest[$v,one]})" "${latency[$v,two]} (${fastest[$v,two]})" \
		"${latency[$v,or]} (${fastest[$v,or]})"
done
echo
echo "Average stored value: segment_set $(sql "SELECT round(avg(pg_column_size(segments)), 1) FROM ss_set") bytes," \
	"text[] $(sql "SELECT round(avg(pg_column_size(segments)), 1) FROM ss_array") bytes"

echo
echo "## Plans (EXPLAIN ANALYZE, BUFFERS, one run each)"
for q in one two or; do
	for v in a b c; do
		echo
		echo "### ($v) $q"
		echo '```'
		sql "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query[$v,$q]}"
		echo '```'
	done
done
