# shellcheck shell=bash
# Shared helpers for test/run.sh and test/demo.sh.  Source it, do not run it.
#
#   ensure_packages    apt-get install what is missing (PostgreSQL 15, make, gcc, R)
#   build_extension    make && make install, from the repository root
#                      Both take an optional log file: given one, they append
#                      the output of apt-get and make to it and print one line
#                      (and, if the step fails, the end of the log) instead
#   cluster_start      initdb + pg_ctl start a throwaway cluster; exports
#                      PGHOST PGPORT PGUSER PGDATABASE; stops it on exit.
#                      CLUSTER_SERVER_ENV, if set, is VAR=value words put in
#                      the server's environment (test/memcheck.sh preloads a
#                      library with it)
#   cluster_stop       stop it and remove its directory (idempotent)
#   cluster_log_tail   print the end of the server log
#
# PG_CONFIG may be set by the caller; otherwise the Debian PostgreSQL 15 one
# is used if present, else whatever pg_config is on PATH.

SEGMENT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTER_DIR=

# Run a command as root: directly when we are root, else through sudo.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Set PG_CONFIG to an absolute path.  Called after ensure_packages, because on
# a fresh machine the Debian pg_config only exists once it is installed.
resolve_pg_config() {
	local default=/usr/lib/postgresql/15/bin/pg_config
	[ -x "$default" ] || default=pg_config
	PG_CONFIG=$(command -v "${PG_CONFIG:-$default}") || {
		echo "pg_config not found (set PG_CONFIG)" >&2
		return 1
	}
	export PG_CONFIG
}

# Run a command with its output appended to the file $1, or as it is when $1
# is empty.  On failure, show the end of the file.
run_logged() {
	local log=$1
	shift
	[ -n "$log" ] || { "$@"; return; }
	"$@" >>"$log" 2>&1 && return 0
	echo "failed; the last lines of $log:" >&2
	tail -n 20 "$log" >&2
	return 1
}

# Install the build and server packages that are missing.  A PG_CONFIG given
# by the caller means they bring their own PostgreSQL (and libpq): then only
# make, gcc and R.  libpq-dev is for the C client of test/t/fuzz_types.sh,
# r-base-core for the independent fits of test/t/models_r.sh.
# With a log file ($1), apt-get writes there and one line is printed.
ensure_packages() {
	local log=${1:-} wanted=(make gcc r-base-core) missing=() p
	[ -n "${PG_CONFIG:-}" ] || wanted+=(postgresql-15 postgresql-server-dev-15 libpq-dev)
	for p in "${wanted[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "== installing: ${missing[*]}${log:+ (apt-get output in $log)}"
		run_logged "$log" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
			run_logged "$log" as_root env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -q --no-install-recommends "${missing[@]}" ||
			return 1
	elif [ -n "$log" ]; then
		echo "== packages: ${wanted[*]} already installed"
	fi
	resolve_pg_config
}

# Build and install the extension (make install needs root for the system
# PostgreSQL directories).  With a log file ($1), make writes there and one
# line is printed.
build_extension() {
	local log=${1:-}
	echo "== building with $PG_CONFIG${log:+ (make output in $log)}"
	run_logged "$log" make -C "$SEGMENT_ROOT" --no-print-directory PG_CONFIG="$PG_CONFIG" &&
		run_logged "$log" as_root make -C "$SEGMENT_ROOT" --no-print-directory PG_CONFIG="$PG_CONFIG" install
}

# Run a command as the cluster's OS user: postgres refuses to run as root.
# The cd keeps it out of a cwd that user may not be allowed to read.
as_cluster_user() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$CLUSTER_DIR" && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# Pick a port nothing listens on over TCP.  The server only listens on the
# socket in its own directory, so this is just to avoid confusing numbers.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
	done
	return 1
}

cluster_start() {
	local bindir port
	[ -n "${PG_CONFIG:-}" ] || resolve_pg_config || return 1
	bindir=$("$PG_CONFIG" --bindir) || return 1
	port=$(free_port) || return 1
	# /tmp, not $TMPDIR: the postgres user must reach it, and a socket path
	# may not be longer than about 100 bytes.
	CLUSTER_DIR=$(mktemp -d /tmp/segment-cluster.XXXXXX) || return 1
	trap cluster_stop EXIT
	trap 'exit 130' INT TERM   # make Ctrl-C run the EXIT trap too
	# The socket lives here, so clients (root, or the sudo user) must reach it.
	chmod 755 "$CLUSTER_DIR"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$CLUSTER_DIR"

	echo "== starting a throwaway cluster in $CLUSTER_DIR (port $port)"
	as_cluster_user "$bindir/initdb" -D "$CLUSTER_DIR/data" -U postgres \
		--auth=trust --encoding=UTF8 --no-locale --no-sync \
		>"$CLUSTER_DIR/initdb.log" 2>&1 || {
		cat "$CLUSTER_DIR/initdb.log" >&2
		return 1
	}
	# Appending keeps the file owned by the cluster user.
	cat >>"$CLUSTER_DIR/data/postgresql.conf" <<-EOF

		# throwaway test cluster (test/cluster.sh)
		port = $port
		listen_addresses = ''
		unix_socket_directories = '$CLUSTER_DIR'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		shared_buffers = 256MB
		max_worker_processes = 16
		max_parallel_workers = 8
		max_parallel_workers_per_gather = 2
		timezone = 'UTC'
		log_timezone = 'UTC'
		log_line_prefix = '%m [%p] %q%u@%d '
	EOF
	# shellcheck disable=SC2086  # CLUSTER_SERVER_ENV is words on purpose
	as_cluster_user env ${CLUSTER_SERVER_ENV:-} "$bindir/pg_ctl" -D "$CLUSTER_DIR/data" \
		-l "$CLUSTER_DIR/server.log" -w -t 60 -s start || {
		echo "server did not start" >&2
		cluster_log_tail
		return 1
	}
	export PGHOST=$CLUSTER_DIR PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	unset PGHOSTADDR PGSERVICE PGOPTIONS
}

cluster_stop() {
	[ -n "$CLUSTER_DIR" ] && [ -d "$CLUSTER_DIR" ] || return 0
	if [ -f "$CLUSTER_DIR/data/postmaster.pid" ]; then
		as_cluster_user "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$CLUSTER_DIR/data" \
			-m fast -w -s stop >/dev/null 2>&1
	fi
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=
}

cluster_log_tail() {
	local log=$CLUSTER_DIR/server.log
	[ -f "$log" ] || return 0
	echo "== last lines of the server log ($log)"
	tail -n 40 "$log"
}
