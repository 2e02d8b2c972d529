#!/usr/bin/env bash
# The demo: bash test/demo.sh
#
# Builds and installs the extension, then on a throwaway cluster (or on the
# server PGHOST/PGPORT point at, if set) recreates database segment_demo,
# loads a generated data set and prints an RFM report (test/demo_report.sql).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/cluster.sh
source test/cluster.sh

# Size and seed of the generated data; the same seed gives the same report.
CUSTOMERS=${CUSTOMERS:-20000}
SEED=${SEED:-42}
GENERATOR=${GENERATOR:-bench/generate_orders.sql}
[ -f "$GENERATOR" ] || { echo "demo: $GENERATOR not found" >&2; exit 1; }

ensure_packages
build_extension
if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
	echo "== using the server at ${PGHOST:-default socket}, port ${PGPORT:-5432}"
else
	cluster_start || { cluster_log_tail; exit 1; }
	trap cluster_log_tail ERR   # if a step below fails, show why
fi

psql=(psql -X -q -v ON_ERROR_STOP=1)
echo "== creating database segment_demo"
"${psql[@]}" -d postgres -c 'SET client_min_messages = warning' \
	-c 'DROP DATABASE IF EXISTS segment_demo WITH (FORCE)' \
	-c 'CREATE DATABASE segment_demo'
"${psql[@]}" -d segment_demo -c 'CREATE EXTENSION segment'
echo "== loading $CUSTOMERS customers (seed $SEED) with $GENERATOR"
"${psql[@]}" -d segment_demo -v customers="$CUSTOMERS" -v seed="$SEED" -f "$GENERATOR" >/dev/null
"${psql[@]}" -d segment_demo -c 'VACUUM ANALYZE'
echo
"${psql[@]}" -d segment_demo -f test/demo_report.sql
