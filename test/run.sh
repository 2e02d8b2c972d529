#!/usr/bin/env bash
# The test command: bash test/run.sh
#
# Installs what is missing, builds and installs the extension, starts a
# throwaway cluster, runs the pg_regress suite (make installcheck) and then
# every test/t/*.sh, and ends with one line "N passed, N failed".  Exits
# non-zero if anything failed or nothing ran.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=test/cluster.sh
source test/cluster.sh

passed=0
failed=0

finish() {
	[ "$failed" -eq 0 ] || cluster_log_tail
	cluster_stop   # now, so nothing prints after the summary
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

# A step that cannot go on counts as one failure.
step() {
	local what=$1
	shift
	"$@" && return 0
	echo "FAILED: $what" >&2
	failed=$((failed + 1))
	finish
}

step "installing packages" ensure_packages
step "building the extension" build_extension
# Always our own cluster: a server the caller points at is none of our business.
unset PGHOST PGPORT PGUSER PGDATABASE
step "starting the cluster" cluster_start

# pg_regress.  Its results and regression.diffs go to the --outputdir given
# in the Makefile's REGRESS_OPTS; ask make for it rather than hard-code it.
# shellcheck disable=SC2016  # $(...) here is make syntax
outdir=$(make --no-print-directory -s PG_CONFIG="$PG_CONFIG" \
	--eval 'print-outputdir: ; @echo $(patsubst --outputdir=%,%,$(filter --outputdir=%,$(REGRESS_OPTS)))' \
	print-outputdir)
outdir=${outdir:-.}
log=$CLUSTER_DIR/installcheck.out
echo "== make installcheck"
make --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# PG15 prints "test foo ... ok 12 ms" (or indented "foo ... ok" inside
# parallel groups) and "... FAILED" / "... failed (ignored)"; PG16+ prints
# TAP lines "ok 1 - foo" / "not ok 1 - foo".
ok=$(grep -cE '\.\.\. +ok( |$)|^ok [0-9]+ ' "$log")
bad=$(grep -cE '\.\.\. +(FAILED|failed)|^not ok [0-9]+ ' "$log")
passed=$((passed + ok))
failed=$((failed + bad))
if [ "$status" -ne 0 ]; then
	# pg_regress may also fail before any test line (say, no database).
	[ "$bad" -gt 0 ] || failed=$((failed + 1))
	for diffs in "$outdir/regression.diffs" regression.diffs; do
		[ -s "$diffs" ] || continue
		echo "== $diffs"
		cat "$diffs"
		break
	done
fi

# Extra test scripts, each one test; they get PGHOST etc. of our cluster.
for t in test/t/*.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	if bash "$t"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t" >&2
		failed=$((failed + 1))
	fi
done

finish
