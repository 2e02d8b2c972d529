#!/usr/bin/env bash
# The test suite under AddressSanitizer and UndefinedBehaviorSanitizer:
#
#   bash test/memcheck.sh            (PG_CONFIG=... to pick the server)
#
# Builds segment.so with -fsanitize=address,undefined and runs the whole
# suite (pg_regress, the isolation specs, every test/t/*.sh, so the type
# fuzzer too) against a throwaway cluster of the ordinary, uninstrumented
# server.  The extension's own code is checked: stack and global buffer
# overflows, out-of-bounds indexes, signed overflow, bad shifts, misaligned
# and null accesses, ...  The server's code is not, and since the sanitizer
# runtime comes with segment.so instead of first in the process (preloading
# it into Debian's postgres deadlocks at start), allocations are the server's
# own: overruns of palloc'd memory are not caught.
#
# Nothing is installed into the server PG_CONFIG points at: its installation
# (Debian layout: /usr/lib/postgresql/N, /usr/share/postgresql/N,
# /usr/include/postgresql) and the source tree are copied to a temporary
# directory first.  Not run by CI; prints the sanitizer reports found, if
# any, and exits non-zero when there are reports or failed tests.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
# shellcheck source=test/cluster.sh
source test/cluster.sh

ensure_packages || exit 1
started=$(date +%s)
bindir=$("$PG_CONFIG" --bindir)
case $bindir in
*/usr/lib/postgresql/*/bin) ;;
*)
	echo "test/memcheck.sh copies a Debian-layout installation; $bindir is not one" >&2
	exit 1
	;;
esac
prefix=${bindir%/usr/lib/postgresql/*}
version=${bindir#*/usr/lib/postgresql/}
version=${version%/bin}

work=$(mktemp -d /tmp/segment-memcheck.XXXXXX)
chmod 755 "$work"   # the server, run as postgres, runs from the copy
cleanup() {
	cluster_stop
	rm -rf "$work"
}
trap cleanup EXIT

echo "== copying PostgreSQL $version and the source tree to $work"
mkdir -p "$work/pg/usr/lib/postgresql" "$work/pg/usr/share/postgresql" "$work/pg/usr/include"
cp -a "$prefix/usr/lib/postgresql/$version" "$work/pg/usr/lib/postgresql/" &&
	cp -a "$prefix/usr/share/postgresql/$version" "$work/pg/usr/share/postgresql/" &&
	cp -a "$prefix/usr/include/postgresql" "$work/pg/usr/include/" || exit 1
mkdir "$work/src"
tar --exclude=./.git --exclude=./test/results --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . |
	tar -C "$work/src" -xf - || exit 1
export PG_CONFIG=$work/pg/usr/lib/postgresql/$version/bin/pg_config
cd "$work/src" || exit 1

echo "== building with AddressSanitizer and UndefinedBehaviorSanitizer"
# A backend overwrites its environment with its process title before it
# loads segment.so, so ASAN_OPTIONS would not be seen: the options are
# compiled in.  Reports go to the server log and abort the process, so the
# test that ran into one fails too.
cat >src/memcheck_options.c <<'EOF'
/* Options of the sanitizer runtimes, built by test/memcheck.sh only. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "verify_asan_link_order=0:detect_leaks=0:abort_on_error=1";
}

const char *
__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}
EOF
sed -i 's|^PG_CONFIG ?= pg_config|OBJS += src/memcheck_options.o\n&|' Makefile
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
make -s PG_CONFIG="$PG_CONFIG" with_llvm=no COPT="$sanitize" >"$work/build.log" 2>&1 &&
	make -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >>"$work/build.log" 2>&1 || {
	cat "$work/build.log"
	exit 1
}
if ! nm -D "$("$PG_CONFIG" --pkglibdir)/segment.so" | grep -c __asan_init >/dev/null; then
	echo "segment.so is not instrumented" >&2
	exit 1
fi

# An ERROR leaves the frames it unwinds with a long jump, and the poison of
# the instrumented ones among them stays: with the runtime not first in the
# process, nothing clears it, and later calls would be reported on stale
# poison.  A small preloaded library clears the stack's poison before every
# long jump the server makes (Debian's server calls __longjmp_chk).
cat >"$work/unpoison_longjmp.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>

void		__longjmp_chk(jmp_buf env, int value);
void		siglongjmp(sigjmp_buf env, int value);

static void
unpoison_stack(void)
{
	void		(*handle_no_return) (void) =
		(void (*) (void)) dlsym(RTLD_DEFAULT, "__asan_handle_no_return");

	if (handle_no_return)
		handle_no_return();
}

void
__longjmp_chk(jmp_buf env, int value)
{
	void		(*next) (jmp_buf, int) =
		(void (*) (jmp_buf, int)) dlsym(RTLD_NEXT, "__longjmp_chk");

	unpoison_stack();
	next(env, value);
	__builtin_unreachable();
}

void
siglongjmp(sigjmp_buf env, int value)
{
	void		(*next) (sigjmp_buf, int) =
		(void (*) (sigjmp_buf, int)) dlsym(RTLD_NEXT, "siglongjmp");

	unpoison_stack();
	next(env, value);
	__builtin_unreachable();
}
EOF
gcc -O2 -Wall -shared -fPIC -o "$work/unpoison_longjmp.so" "$work/unpoison_longjmp.c" -ldl || exit 1
export CLUSTER_SERVER_ENV="LD_PRELOAD=$work/unpoison_longjmp.so"
unset PGHOST PGPORT PGUSER PGDATABASE
cluster_start || exit 1
trap cleanup EXIT   # cluster_start set its own
passed=0
failed=0
echo "== make installcheck"
if make --no-print-directory PG_CONFIG="$PG_CONFIG" with_llvm=no installcheck >"$work/installcheck.out" 2>&1; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
	head -n 200 test/results/regression.diffs 2>/dev/null
fi
grep -E '^test |^     [a-z_]+ +\.\.\.|tests passed|failed' "$work/installcheck.out"
for t in test/t/*.sh; do
	echo "== $t"
	if bash "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

log=$CLUSTER_DIR/server.log
pattern='AddressSanitizer|runtime error:|terminated by signal|TRAP:'
reports=$(grep -cE "$pattern" "$log")
if [ "$reports" -gt 0 ]; then
	echo "== sanitizer reports and abnormal ends in the server log"
	grep -E -A30 "$pattern" "$log"
fi
echo "memcheck: $passed suites passed, $failed failed, $reports sanitizer reports or abnormal ends," \
	"$(($(date +%s) - started)) s"
[ "$failed" -eq 0 ] && [ "$reports" -eq 0 ]
