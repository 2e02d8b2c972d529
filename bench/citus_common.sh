# shellcheck shell=bash
# Shared by the Citus benchmarks (bench/citus.sh, bench/citus_state.sh,
# bench/citus_thresholds.sh).  Source it from the checkout's top folder.
#
#   citus_bench_start OPTIONS  build Citus from ../shared/vendor once
#                              (test/citus_cluster.sh) and start a
#                              coordinator and two workers on this machine,
#                              sessions run with PGOPTIONS=OPTIONS; sets
#                              coordinator to its port
#   median                     the median of the numbers on standard input
# shellcheck source=test/cluster.sh
source test/cluster.sh
# shellcheck source=test/citus_cluster.sh
source test/citus_cluster.sh

citus_bench_start() {
	citus_source >/dev/null || { echo "no Citus source in $CITUS_VENDOR" >&2; exit 1; }
	citus_ensure_built
	export PGOPTIONS=$1
	citus_start 2
	coordinator=${CITUS_PORTS[0]}
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
