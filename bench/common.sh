# shellcheck shell=bash
# Shared by the benchmarks (bench/run.sh, bench/views.sh).  Source it.
#
#   bench_server        use the server PGHOST/PGPORT point at, or start a
#                       throwaway cluster (test/cluster.sh)
#   bench_data N        database segment_bench with N generated customers,
#                       reused when it already holds the same data
#   sql QUERY           run a query in segment_bench, unaligned output
#   bench_time QUERY    run a query in a fresh session; prints
#                       "<ms> <VmHWM kB> <RssShmem kB> <first output line>"
#   bench_describe      the machine, server, settings and data, for RESULTS.md
#
# Every session gets work_mem=2GB and max_parallel_workers_per_gather from
# BENCH_WORKERS (default: the server's), through PGOPTIONS.

DB=segment_bench
SEED=${SEED:-42}
psql=(psql -X -q -v ON_ERROR_STOP=1)

sql() { "${psql[@]}" -d "$DB" -Atc "$1"; }

bench_server() {
	if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
		echo "== using the server at ${PGHOST:-default socket}, port ${PGPORT:-5432}"
	else
		# shellcheck source=test/cluster.sh
		source test/cluster.sh
		cluster_start # stops and removes itself on exit
	fi
	"${psql[@]}" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
		"${psql[@]}" -d postgres -c "CREATE DATABASE $DB"
	WORKERS=${BENCH_WORKERS:-$(sql "SHOW max_parallel_workers_per_gather")}
	export PGOPTIONS="${PGOPTIONS:-} -c work_mem=2GB -c max_parallel_workers_per_gather=$WORKERS"
}

# The generator stamps orders last, so an interrupted generation is never reused.
bench_data() {
	local stamp="customers=$1 seed=$SEED" t0
	if [ "$(sql "SELECT obj_description(to_regclass('orders'), 'pg_class')")" = "$stamp" ]; then
		GENERATION="reused the existing data"
	else
		echo "== generating $1 customers (seed $SEED)"
		t0=$(date +%s.%N)
		"${psql[@]}" -d "$DB" -v customers="$1" -v seed="$SEED" -f bench/generate_orders.sql
		sql "COMMENT ON TABLE orders IS '$stamp'"
		GENERATION=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "generated in %.1f s", b - a }')
	fi
}

# The backend's RSS includes the shared buffers it touched, hence RssShmem.
bench_time() {
	local out
	out=$("${psql[@]}" -At -d "$DB" ${AS_OF:+-v as_of="$AS_OF"} <<-EOF
		SELECT pg_backend_pid() AS pid \gset
		\setenv BENCH_PID :pid
		\timing on
		$1;
		\timing off
		\! grep -E '^(VmHWM|RssShmem):' /proc/\$BENCH_PID/status 2>/dev/null || true
	EOF
	)
	awk '/^Time:/ { t = $2 } /^VmHWM:/ { h = $2 } /^RssShmem:/ { s = $2 }
		!/^(Time|VmHWM|RssShmem):/ && n == "" { n = $0 }
		END { print t, (h == "" ? "NA" : h), (s == "" ? "NA" : s), n }' <<<"$out"
}

bench_describe() {
	local settings
	settings=$(sql "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
		FROM pg_settings WHERE name IN ('work_mem', 'max_parallel_workers_per_gather', 'jit',
		'shared_buffers', 'hash_mem_multiplier')")
	echo "Command: $COMMAND"
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
		"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "Server: $(sql "SELECT version()")"
	echo "Settings: $settings"
	[ -z "$(sql "SELECT to_regclass('orders')")" ] ||
		echo "Data: $(sql "SELECT (SELECT count(*) FROM customers) || ' customers, ' || (SELECT count(*) FROM orders)
			|| ' orders (' || pg_size_pretty(pg_table_size('orders')) || ')'"), seed $SEED${GENERATION:+; $GENERATION}"
}
