#!/usr/bin/env bash
# The demo: bash test/demo.sh
#
# Builds and installs the extension, then on a throwaway cluster (or on the
# server PGHOST/PGPORT point at, if set) recreates database segment_demo,
# loads a generated data set (CUSTOMERS customers, default 20000, from SEED,
# default 42), attaches it as "demo" and prints:
#   - one line per set-up step (packages, build, cluster, load); the output of
#     apt-get and make goes to a log under /tmp/segment-demo.XXXXXX/
#   - the RFM report of test/demo_report.sql, the same for the same seed: the
#     data set, the scores per dimension, the largest R-F-M cells, the named
#     segments (a customer in every segment that holds it), the primary
#     segments (each customer once; the shares add up to 100.0%), the
#     lifecycle stages, who moved between primary segments in the last 90
#     days (from three snapshots) and a campaign's response per segment
#   - the paths of two gnuplot pictures in that directory: rfm_heatmap.png
#     (customers and average spend per recency x frequency score) and
#     segment_sizes.png (customers per primary segment).  gnuplot-nox is
#     installed if missing; if that fails, the pictures are skipped.  The
#     pictures of a default run are docs/images/rfm_heatmap.png and
#     docs/images/segment_sizes.png
#   - what became of the cluster: stopped and removed, or, with DEMO_KEEP=1,
#     left running, with the psql command to connect and the command to stop it
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=test/cluster.sh
source test/cluster.sh

# Size and seed of the generated data; the same seed gives the same report.
CUSTOMERS=${CUSTOMERS:-20000}
SEED=${SEED:-42}
GENERATOR=${GENERATOR:-bench/generate_orders.sql}
DEMO_KEEP=${DEMO_KEEP:-}
[ -f "$GENERATOR" ] || { echo "demo: $GENERATOR not found" >&2; exit 1; }

# The logs, the pictures and their data; left in place after the demo.
DEMO_DIR=$(mktemp -d /tmp/segment-demo.XXXXXX)
chmod 755 "$DEMO_DIR"
log=$DEMO_DIR/setup.log

ensure_packages "$log"
build_extension "$log"
own_cluster=
if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
	echo "== using the server at ${PGHOST:-default socket}, port ${PGPORT:-5432}"
else
	cluster_start || { cluster_log_tail; exit 1; }
	own_cluster=1
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
"${psql[@]}" -d segment_demo -v grid_csv="$DEMO_DIR/rf_grid.csv" \
	-v sizes_csv="$DEMO_DIR/segment_sizes.csv" -f test/demo_report.sql

# gnuplot, installed if missing.  Fails, with one line, if it cannot be.
ensure_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	echo "== installing gnuplot-nox for the pictures (apt-get output in $log)"
	{
		as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
			as_root env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q --no-install-recommends gnuplot-nox
	} >>"$log" 2>&1 </dev/null && command -v gnuplot >/dev/null
}

# The two pictures, from the CSV files the report wrote: the R x F grid of
# view demo_rf_grid and the primary segments of view demo_customers.
draw_pictures() {
	local terminal=pngcairo font='DejaVu Sans,11'
	gnuplot -e "set terminal pngcairo" >/dev/null 2>&1 || terminal=png
	gnuplot >>"$log" 2>&1 <<-EOF
		set terminal $terminal size 900,800 font "$font" noenhanced
		set output "$DEMO_DIR/rfm_heatmap.png"
		set datafile separator ","
		grid = "$DEMO_DIR/rf_grid.csv"
		stats grid using 1 name "R" nooutput
		stats grid using 3 name "N" nooutput
		set title "Customers per recency x frequency cell ($CUSTOMERS customers, seed $SEED)\nlabels: customers in the cell, and avg = their mean total spend (view demo_rf_grid)"
		set xlabel "recency score"
		set ylabel "frequency score"
		set cblabel "customers"
		set xrange [0.5:R_max + 0.5]
		set yrange [0.5:R_max + 0.5]
		set xtics 1 scale 0
		set ytics 1 scale 0
		set xtics add ("1\n(longest ago)" 1, sprintf("%d\n(most recent)", R_max) R_max)
		set ytics add ("1 (fewest orders)" 1, sprintf("%d (most orders)", R_max) R_max)
		set cbrange [0:N_max]
		set palette defined (0 "#fff7ec", 0.25 "#fdd49e", 0.5 "#fc8d59", 0.75 "#d7301f", 1 "#7f0000")
		set lmargin 24
		set bmargin 5
		label(n, avg) = n == 0 ? "0" : sprintf("%d\navg %.0f", n, avg)
		plot grid using 1:2:3 with image notitle, \
		     grid using 1:2:(label(\$3, \$3 == 0 ? 0 : \$4)):(\$3 > 0.55 * N_max ? 0xffffff : 0x000000) \
		          with labels textcolor rgb variable notitle

		reset
		set terminal $terminal size 900,560 font "$font" noenhanced
		set output "$DEMO_DIR/segment_sizes.png"
		set datafile separator ","
		sizes = "$DEMO_DIR/segment_sizes.csv"
		stats sizes using 1 name "S" nooutput
		stats sizes using 3 name "C" nooutput
		set lmargin 22
		set bmargin 4
		set title "Customers per primary segment ($CUSTOMERS customers, seed $SEED)\neach customer counted once, in the first segment of the map that holds its cell"
		set xlabel "customers"
		set ylabel ""
		set xrange [0:C_max * 1.25]
		set yrange [S_max + 0.6:0.4]
		set xtics out nomirror
		set ytics scale 0 nomirror
		set grid xtics
		set style fill solid 0.85 noborder
		plot sizes using (\$3 / 2):1:(\$3 / 2):(0.38):ytic(2) with boxxyerror lc rgb "#2b7bba" notitle, \
		     sizes using 3:1:(sprintf("  %d  (%.1f%%)", \$3, \$4)) with labels left notitle
	EOF
}

if ! ensure_gnuplot; then
	echo "== gnuplot could not be installed (see $log): skipped the pictures"
elif ! draw_pictures; then
	echo "== gnuplot failed (see $log): skipped the pictures"
else
	echo "== pictures (gnuplot): the R x F grid (view demo_rf_grid) and the primary segments"
	echo "   $DEMO_DIR/rfm_heatmap.png"
	echo "   $DEMO_DIR/segment_sizes.png"
fi
echo "== output of apt-get, make and gnuplot: $log"

# The end: nothing printed after this points at a cluster that is gone.
if [ -z "$own_cluster" ]; then
	echo "== database segment_demo stays on that server; its views are listed by \\dv demo_*"
	printf '   connect: psql%s%s -d segment_demo\n' \
		"${PGHOST:+ -h $(printf %q "$PGHOST")}" "${PGPORT:+ -p $PGPORT}"
elif [ -n "$DEMO_KEEP" ]; then
	trap - EXIT ERR   # do not stop the cluster on exit
	bindir=$("$PG_CONFIG" --bindir)
	stop="$bindir/pg_ctl -D $CLUSTER_DIR/data -m fast -w stop"
	# as root: as the cluster's user, from a directory that user may read
	[ "$(id -u)" -ne 0 ] || stop="(cd / && runuser -u postgres -- $stop)"
	echo "== the cluster keeps running (DEMO_KEEP=1); database segment_demo has the views of the report (\\dv demo_*)"
	echo "   connect: psql -h $CLUSTER_DIR -p $PGPORT -U postgres -d segment_demo"
	echo "   stop:    $stop && rm -rf $CLUSTER_DIR"
else
	trap - ERR
	cluster_stop
	echo "== stopped and removed the throwaway cluster; DEMO_KEEP=1 bash test/demo.sh leaves it running"
fi
