# shellcheck shell=bash
# Helpers for the tests and benchmarks on Citus (test/t/citus.sh,
# bench/citus.sh): build Citus from the vendored source beside the checkout,
# start a coordinator and two workers as three local clusters.  Source it
# after test/cluster.sh (for as_root and resolve_pg_config); do not run it.
#
#   citus_source       the vendored tarball, or nothing (then skip)
#   citus_ensure_built build and install Citus once per machine and source
#                      (a stamp file names what was installed); apt-get
#                      installs what the build needs
#   citus_start N      start a coordinator and N workers (default 2) with
#                      Citus and segment created on each, the workers added;
#                      they listen on unix sockets only, in their directory,
#                      and know each other by it (trust authentication);
#                      sets CITUS_PORTS (coordinator first) and CITUS_DIR,
#                      and stops them on exit
#   citus_stop         stop them and remove their directory (idempotent)
#   citus_psql P ...   psql -X -q -v ON_ERROR_STOP=1 on port P, database citus

CITUS_VENDOR=${CITUS_VENDOR:-$SEGMENT_ROOT/../shared/vendor}
CITUS_VERSION=13.2.2
CITUS_BUILD_DIR=${CITUS_BUILD_DIR:-/var/tmp/segment-citus}
CITUS_DIR=
CITUS_PORTS=()

citus_source() {
	local tarball=$CITUS_VENDOR/citus-$CITUS_VERSION.tar.gz
	[ -r "$tarball" ] && echo "$tarball"
}

# The stamp says which source, patch and PostgreSQL the installed Citus was
# built from; a later run with the same finds it and builds nothing.
citus_ensure_built() {
	local tarball patch stamp_name log package missing=()
	tarball=$(citus_source) || return 1
	patch=$CITUS_VENDOR/citus-$CITUS_VERSION-pg15.20.patch
	[ -n "${PG_CONFIG:-}" ] || resolve_pg_config || return 1
	# the contents, not the paths: a clone elsewhere finds the same stamp
	stamp_name=$( { sha256sum <"$tarball"; [ ! -r "$patch" ] || sha256sum <"$patch"; "$PG_CONFIG" --version; } |
		sha256sum | cut -c1-16)
	if [ -e "$CITUS_BUILD_DIR/installed-$stamp_name" ] && [ -e "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
		echo "== Citus $CITUS_VERSION already built and installed ($CITUS_BUILD_DIR/installed-$stamp_name)"
		return 0
	fi
	mkdir -p "$CITUS_BUILD_DIR" || return 1
	log=$CITUS_BUILD_DIR/build.log
	echo "== building Citus $CITUS_VERSION from $tarball (a few minutes on 2 cores; output in $log)"
	: >"$log"
	for package in liblz4-dev libzstd-dev libkrb5-dev libssl-dev libpq-dev; do
		dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		{ as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
			as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
			>>"$log" 2>&1 || {
			tail -n 20 "$log" >&2
			return 1
		}
	fi
	# each step only after the one before succeeded (set -e does not hold
	# on the left of ||)
	(
		cd "$CITUS_BUILD_DIR" &&
			rm -rf "citus-$CITUS_VERSION" &&
			mkdir "citus-$CITUS_VERSION" &&
			tar -xzf "$tarball" -C "citus-$CITUS_VERSION" --strip-components=1 &&
			cd "citus-$CITUS_VERSION" &&
			{ [ ! -r "$patch" ] || patch -p1 --forward --batch <"$patch"; } &&
			./configure --without-libcurl PG_CONFIG="$PG_CONFIG" &&
			make -j"$(nproc)" &&
			as_root make install
	) >>"$log" 2>&1 || {
		echo "building Citus failed; the last lines of $log:" >&2
		tail -n 30 "$log" >&2
		return 1
	}
	touch "$CITUS_BUILD_DIR/installed-$stamp_name"
}

citus_psql() {
	local port=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "$CITUS_DIR" -p "$port" -U postgres -d citus "$@"
}

citus_start() {
	local workers=${1:-2} bindir port node
	[ -n "${PG_CONFIG:-}" ] || resolve_pg_config || return 1
	bindir=$("$PG_CONFIG" --bindir)
	CITUS_DIR=$(mktemp -d /tmp/segment-citus.XXXXXX) || return 1
	chmod 755 "$CITUS_DIR"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$CITUS_DIR"
	trap citus_stop EXIT
	trap 'exit 130' INT TERM
	CITUS_PORTS=()
	for node in $(seq 0 "$workers"); do
		port=$(free_port) || return 1
		CITUS_PORTS+=("$port")
		(cd "$CITUS_DIR" && as_postgres "$bindir/initdb" -D "$CITUS_DIR/node$node" -U postgres --auth=trust \
			--encoding=UTF8 --no-locale --no-sync) >"$CITUS_DIR/initdb$node.log" 2>&1 || {
			cat "$CITUS_DIR/initdb$node.log" >&2
			return 1
		}
		cat >>"$CITUS_DIR/node$node/postgresql.conf" <<-EOF

			# a node of a throwaway Citus cluster (test/citus_cluster.sh)
			port = $port
			listen_addresses = ''
			unix_socket_directories = '$CITUS_DIR'
			shared_preload_libraries = 'citus'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			shared_buffers = 128MB
			max_connections = 120
			max_prepared_transactions = 100
			timezone = 'UTC'
			log_timezone = 'UTC'
		EOF
		(cd "$CITUS_DIR" && as_postgres "$bindir/pg_ctl" -D "$CITUS_DIR/node$node" -l "$CITUS_DIR/node$node.log" \
			-w -t 60 -s start) || {
			tail -n 20 "$CITUS_DIR/node$node.log" >&2
			return 1
		}
		psql -X -q -h "$CITUS_DIR" -p "$port" -U postgres -d postgres -c "CREATE DATABASE citus" || return 1
		citus_psql "$port" -c "CREATE EXTENSION citus" || return 1
	done
	citus_psql "${CITUS_PORTS[0]}" -c "SELECT citus_set_coordinator_host('$CITUS_DIR', ${CITUS_PORTS[0]})" >/dev/null || return 1
	for port in "${CITUS_PORTS[@]:1}"; do
		citus_psql "${CITUS_PORTS[0]}" -c "SELECT citus_add_node('$CITUS_DIR', $port)" >/dev/null || return 1
	done
	# created on the coordinator, Citus creates it on the workers
	citus_psql "${CITUS_PORTS[0]}" -c "CREATE EXTENSION segment" || return 1
	echo "== Citus: coordinator on port ${CITUS_PORTS[0]}, workers on ${CITUS_PORTS[*]:1} ($CITUS_DIR)"
}

citus_stop() {
	local node bindir
	[ -n "$CITUS_DIR" ] && [ -d "$CITUS_DIR" ] || return 0
	bindir=$("$PG_CONFIG" --bindir)
	for node in "$CITUS_DIR"/node*/; do
		[ -f "$node/postmaster.pid" ] || continue
		(cd "$CITUS_DIR" && as_postgres "$bindir/pg_ctl" -D "$node" -m immediate -s stop) || true
	done
	rm -rf "$CITUS_DIR"
	CITUS_DIR=
}

# As the OS user that owns the clusters: postgres refuses to run as root.
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
