#!/usr/bin/env bash
# Fuzzes the text input and binary receive function of every type of the
# extension with test/fuzz/fuzz_types.c: 150,000 generated inputs per type and
# function, mutated from valid values, each one accepted or rejected with a
# clean ERROR (no internal error, no crash), and every accepted value read
# back unchanged from its own text and binary output.  segment_set, whose
# labels are converted between encodings, is also fed from LATIN1 and SJIS
# clients.  The seed is random and printed; FUZZ_SEED=N replays a run,
# FUZZ_COUNT=N changes the number of inputs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pg_config=${PG_CONFIG:-pg_config}
db=segment_fuzz_types
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists "$db" 2>/dev/null' EXIT

includedir=$("$pg_config" --includedir)
libdir=$("$pg_config" --libdir)
if [ ! -f "$includedir/libpq-fe.h" ]; then
	echo "libpq-fe.h is not in $includedir (apt-get install libpq-dev)" >&2
	exit 1
fi
link=(-lpq -lm)
[ -d "$libdir" ] && link=(-L"$libdir" -Wl,-rpath,"$libdir" "${link[@]}")
gcc -O2 -Wall -Wextra -Werror -I"$includedir" test/fuzz/fuzz_types.c "${link[@]}" -o "$work/fuzz_types"

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION segment'

# every base type of the extension must be fuzzed
types=$(psql -X -At -d "$db" -c "
	SELECT t.typname FROM pg_type t
	JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'segment'
	WHERE t.typtype = 'b' AND t.typelem = 0 ORDER BY 1")
known=$("$work/fuzz_types" --list-types | sort)
if [ "$types" != "$known" ]; then
	echo "the extension's base types and the fuzzed types differ:" >&2
	diff <(echo "$types") <(echo "$known") >&2 || true
	exit 1
fi

seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
count=${FUZZ_COUNT:-150000}
export PGDATABASE=$db
status=0
"$work/fuzz_types" --seed "$seed" --count "$count" || status=1
for encoding in LATIN1 SJIS; do
	echo "== segment_set from a $encoding client"
	PGCLIENTENCODING=$encoding "$work/fuzz_types" --seed "$seed" --type segment_set \
		--count $((count / 5)) || status=1
done
[ "$status" -eq 0 ] || echo "fuzzing found problems; replay with FUZZ_SEED=$seed" >&2
exit "$status"
