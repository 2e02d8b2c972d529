#!/usr/bin/env bash
# The SQL of the documentation runs as written, and the outputs it shows are
# what it prints.
#
# Every ```sql block of README.md and then of docs/*.md, in file order, runs
# in one psql session (psql -X -q -v ON_ERROR_STOP=1, TimeZone UTC), as a
# reader pasting them one after the other would run them, in a fresh
# database loaded with the demo data (bench/generate_orders.sql, 20,000
# customers, seed 42, as test/demo.sh loads it).  The fences:
#
#   ```sql          runs, and must not fail
#   ```sql fails    runs, and its last statement must fail
#   ```text         right after a ```sql block (only blank lines between):
#                   what that block prints, compared with what it printed
#                   (trailing blanks and blank lines at either end aside);
#                   after a "fails" block, each of its lines must be a line
#                   of the block's error report (ERROR, DETAIL, HINT)
#   anything else   (```console, ```sh, a ```text block elsewhere) is not run
#
# A failure names the file and line of the block and prints psql's error or
# the difference.  DOCS_SQL_SHOW=1 prints every block's output, for writing
# the ```text blocks; DOCS_SQL_KEEP=dir keeps the script psql ran and each
# block's output (actual.N, errors.N) in dir.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

db=segment_docs_sql
customers=20000   # the outputs shown in the documentation are of this data
work=$(mktemp -d)
cleanup() {
	dropdb --if-exists "$db" >/dev/null 2>&1
	if [ -n "${DOCS_SQL_KEEP:-}" ]; then
		mkdir -p "$DOCS_SQL_KEEP" && cp -r "$work"/. "$DOCS_SQL_KEEP"/
	fi
	rm -rf "$work"
}
trap cleanup EXIT

files=(README.md docs/*.md)

# The script psql runs, the expected outputs (expect.N) and one line per
# sql block: number, file, line of its fence, fails (0/1), the line of the
# script its first line became.
awk -v work="$work" '
function emit(s) { print s > script; generated++ }
function unclosed() {
	if (inside) { printf "%s:%d: the block opened here is never closed\n", block_file, block_line > "/dev/stderr"; bad = 1 }
}
BEGIN { script = work "/docs.sql"; blocks = work "/blocks"; n = 0; generated = 0; inside = 0; pending = 0; bad = 0 }
FNR == 1 { unclosed(); inside = 0; pending = 0 }
!inside && /^```/ {
	match($0, /^`+/); fence = RLENGTH
	info = substr($0, fence + 1); sub(/^[ \t]+/, "", info); sub(/[ \t]+$/, "", info)
	words = split(info, w, /[ \t]+/)
	inside = 1; kind = ""; block_file = FILENAME; block_line = FNR
	if (words >= 1 && w[1] == "sql") {
		n++; kind = "sql"; fails = 0; last_code = ""
		for (i = 2; i <= words; i++) if (w[i] == "fails") fails = 1
		emit("\\echo @@@docs_sql block " n)
		if (fails) emit("\\set ON_ERROR_STOP 0")
		printf "%d\t%s\t%d\t%d\t%d\n", n, FILENAME, FNR, fails, generated + 1 > blocks
	} else if (words >= 1 && w[1] == "text" && pending) {
		kind = "expect"; expect = work "/expect." pending; printf "" > expect
	}
	pending = 0
	next
}
!inside { if ($0 !~ /^[ \t]*$/) pending = 0; next }
/^```+[ \t]*$/ && match($0, /^`+/) && RLENGTH >= fence {
	inside = 0
	if (kind == "sql") {
		if (last_code != "" && last_code !~ /;[ \t]*$/ && last_code !~ /^[ \t]*\\/) {
			printf "%s:%d: the last statement of this block does not end with a semicolon\n", block_file, block_line > "/dev/stderr"
			bad = 1
		}
		if (fails) {
			emit("\\if :ERROR"); emit("\\else"); emit("\\echo @@@docs_sql notfailed " n); emit("\\endif")
			emit("\\set ON_ERROR_STOP 1")
		}
		pending = n
	} else if (kind == "expect") close(expect)
	next
}
kind == "sql" {
	emit($0)
	code = $0; sub(/--.*$/, "", code)
	if (code !~ /^[ \t]*$/) last_code = code
	next
}
kind == "expect" { print > expect }
END {
	unclosed()
	emit("\\echo @@@docs_sql end")
	close(script); close(blocks)
	if (n == 0) { print "no ```sql block found" > "/dev/stderr"; bad = 1 }
	exit bad
}' "${files[@]}" || exit 1
touch "$work/blocks"
count=$(wc -l <"$work/blocks")

dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v customers="$customers" -v seed=42 \
	-f bench/generate_orders.sql >/dev/null || exit 1

echo "== running $count sql blocks of ${files[*]}"
PGTZ=UTC psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$work/docs.sql" >"$work/out" 2>"$work/err"
status=$?

# Each block's output (actual.N), errors (errors.N, without psql's
# "psql:file:line: " prefix) and the markers of blocks that should have
# failed and did not.
awk -v work="$work" '
FNR == 1 { file++ }
file == 1 { first[$1] = $5; n = $1; next }
file == 2 {
	if ($0 ~ /^@@@docs_sql block /) { current = $3; printf "" > (work "/actual." current); next }
	if ($0 ~ /^@@@docs_sql notfailed /) { print $3 > (work "/notfailed"); next }
	if ($0 == "@@@docs_sql end") { print "end" > (work "/ended"); next }
	if (current) print > (work "/actual." current)
	next
}
{
	if (match($0, /^psql:[^:]*:[0-9]+: /)) {
		prefix = substr($0, 1, RLENGTH - 2); sub(/^psql:[^:]*:/, "", prefix)
		line = prefix + 0; target = 0
		for (b = 1; b <= n; b++) if (first[b] <= line) target = b
		text = substr($0, RLENGTH + 1)
		if (text ~ /^ERROR:/) print target "\t" line > (work "/error_lines")
	} else text = $0
	if (target) print text > (work "/errors." target)
}' "$work/blocks" "$work/out" "$work/err"

failed=0
fail() {
	echo "FAIL $1"
	failed=$((failed + 1))
}
# trailing blanks and leading and trailing blank lines go
normalize() {
	sed -e 's/[[:space:]]*$//' "$1" | awk 'NF { for (; blank > 0; blank--) print ""; print; seen = 1; next } seen { blank++ }'
}

# ON_ERROR_STOP: the last error of a block not marked "fails" stopped psql
stopped=
if [ "$status" -ne 0 ] || [ ! -f "$work/ended" ]; then
	stopped=$(awk -F'\t' 'NR == FNR { fails[$1] = $4; next } !fails[$1] { last = $0 } END { print last }' \
		"$work/blocks" "$work/error_lines" 2>/dev/null)
	if [ -n "$stopped" ]; then
		IFS=$'\t' read -r n gen <<<"$stopped"
		IFS=$'\t' read -r _ file line _ first < <(awk -F'\t' -v n="$n" '$1 == n' "$work/blocks")
		fail "$file:$line: the block starting here failed, in the statement ending at line $((line + 1 + gen - first)):"
		sed -e 's/^/   /' "$work/errors.$n"
		stopped=$n
	else
		fail "psql stopped (status $status):"
		sed -e 's/^/   /' "$work/err"
	fi
fi

checked=0
while IFS=$'\t' read -r n file line fails first; do
	touch "$work/actual.$n" "$work/errors.$n"
	if [ -n "${DOCS_SQL_SHOW:-}" ]; then
		echo "---- $file:$line"
		cat "$work/actual.$n" "$work/errors.$n"
	fi
	if [ "$fails" = 1 ] && grep -qx "$n" "$work/notfailed" 2>/dev/null; then
		fail "$file:$line: this block is marked \"fails\", but its last statement succeeded"
		continue
	fi
	[ -f "$work/expect.$n" ] || continue
	# a block psql did not reach or stopped in has nothing to compare
	if [ "$n" = "$stopped" ] || ! grep -q "^@@@docs_sql block $n\$" "$work/out"; then
		continue
	fi
	checked=$((checked + 1))
	if [ "$fails" = 1 ]; then
		while IFS= read -r want; do
			[ -n "$want" ] || continue
			if ! sed -e 's/[[:space:]]*$//' "$work/errors.$n" | grep -qxF -- "$want"; then
				fail "$file:$line: the error shown after this block is not what it reports"
				echo "   shown:    $want"
				sed -e 's/^/   reported: /' "$work/errors.$n"
				break
			fi
		done < <(normalize "$work/expect.$n")
	elif ! diff -u --label "shown in $file" --label "printed" \
		<(normalize "$work/expect.$n") <(normalize "$work/actual.$n") >"$work/diff"; then
		fail "$file:$line: the output shown after this block is not what it prints"
		cat "$work/diff"
	fi
done <"$work/blocks"

echo "== $count sql blocks, $checked outputs compared, $failed failures"
[ "$failed" -eq 0 ]
