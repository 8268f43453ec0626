#!/usr/bin/env bash
# A throwaway PostgreSQL server as a local process, for tests and local runs: no Docker, no system service.
#
#   scripts/deps/postgres.sh start DIR [PORT]   prints postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/deps/postgres.sh stop DIR
#
# start installs Debian's postgresql package when no server binaries are present, creates a cluster in DIR/data
# (superuser postgres, trust authentication, reachable only on 127.0.0.1 and through a unix socket in DIR), tuned
# for speed over durability (fsync off: a crash can lose the data, which is fine for throwaway data only), starts it
# and prints its URL as the only line on stdout. PORT defaults to a free port (the one used before, when the cluster
# already exists and that port is still free). Running start again while the server runs prints the URL again.
# As root, the server runs as the postgres OS user (PostgreSQL refuses to run as root) and DIR is made its own;
# otherwise it runs as the current user. The server log is DIR/postgres.log. Delete DIR after stop to start afresh.
# PG_BINDIR overrides where the server binaries are looked for.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: $deps_name start DIR [PORT] | stop DIR" >&2
  exit 2
}

# Prints the directory holding initdb, pg_ctl and postgres, preferring the major version $1 when given.
find_bindir() {
  local want="${1:-}" dir
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/postgres" ] || die "PG_BINDIR=$PG_BINDIR has no postgres binary"
    echo "$PG_BINDIR"
    return 0
  fi
  if [ -n "$want" ] && [ -x "/usr/lib/postgresql/$want/bin/postgres" ]; then
    echo "/usr/lib/postgresql/$want/bin"
    return 0
  fi
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
    if [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

# Runs a command as the OS user $run_user (root switches to it; anyone else already is it).
as_user() {
  if [ "$(id -un)" = "$run_user" ]; then
    "$@"
  elif [ "$(id -u)" -ne 0 ]; then
    die "the server in $dir belongs to user $run_user: run this as $run_user or root"
  elif command -v runuser >/dev/null; then
    runuser -u "$run_user" -- "$@"
  else
    su -s /bin/sh "$run_user" -c "$(printf '%q ' "$@")"
  fi
}

# Sets $bindir for the cluster in $data (if any), installing PostgreSQL when there is none.
need_bindir() {
  local version=""
  [ -f "$data/PG_VERSION" ] && version="$(cat "$data/PG_VERSION")"
  if ! bindir="$(find_bindir "$version")"; then
    apt_install postgresql
    bindir="$(find_bindir "$version")" || die "postgresql was installed but no server binaries were found"
  fi
}

# Succeeds when a server runs on the cluster in $data.
running() {
  [ -f "$data/postmaster.pid" ] && as_user "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1
}

print_url() {
  echo "postgres://postgres@127.0.0.1:$1/postgres"
}

# The last line of the server log that says why it stopped, for error messages.
log_reason() {
  local line
  line="$(grep -E '(FATAL|PANIC|ERROR):' "$dir/postgres.log" 2>/dev/null | tail -n 1 | sed -E 's/^.*(FATAL|PANIC|ERROR): +//')"
  echo "${line:-see $dir/postgres.log}"
}

write_settings() {
  local port="$1" sockets="$dir"
  # A unix socket path longer than 107 bytes cannot be bound: go without the socket then (TCP is what callers use).
  [ "${#dir}" -le 90 ] || sockets=""
  cat >"$data/throwaway.conf" <<EOF
# Written by scripts/deps/postgres.sh on each start: a throwaway server for tests and local runs.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sockets'
max_connections = 200
# Speed over durability: the data is thrown away anyway.
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 1GB
checkpoint_timeout = 30min
jit = off
timezone = 'UTC'
log_timezone = 'UTC'
EOF
  [ "$run_user" = "$(id -un)" ] || chown "$run_user:" "$data/throwaway.conf"
}

cmd_start() {
  local port="${1:-}" stored="" attempt
  [ -z "$port" ] || check_port "$port"

  if [ "$(id -u)" -eq 0 ]; then
    run_user=postgres
  else
    run_user="$(id -un)"
  fi
  need_bindir
  if [ "$run_user" = postgres ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin postgres ||
      die "could not create the postgres OS user to run the server as"
  fi
  # An existing cluster keeps running as whoever owns it.
  [ -d "$data" ] && run_user="$(stat -c %U "$data")"

  mkdir -p "$dir"
  exec 9>>"$dir/.lock"
  flock 9
  if [ "$(id -u)" -eq 0 ] && [ "$run_user" != root ]; then
    chown "$run_user:" "$dir" "$dir/.lock"
    chmod 700 "$dir"
  fi
  as_user test -w "$dir" -a -x "$dir" ||
    die "user $run_user cannot write to $dir (is a parent directory closed to it?): pick a directory such as /tmp/NAME"

  if running; then
    stored="$(sed -n 4p "$data/postmaster.pid")"
    [ -z "$port" ] || [ "$port" = "$stored" ] || die "already running in $dir on port $stored, not $port"
    print_url "$stored"
    return 0
  fi

  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    as_user "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
      >"$dir/initdb.log" 2>&1 9>&- || die "initdb failed: $(tail -n 1 "$dir/initdb.log")"
    cat >"$data/pg_hba.conf" <<'EOF'
# Written by scripts/deps/postgres.sh: trust, but only over the unix socket in the server's directory and 127.0.0.1.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
    echo "include_if_exists = 'throwaway.conf'" >>"$data/postgresql.conf"
    [ "$run_user" = "$(id -un)" ] || chown "$run_user:" "$data/pg_hba.conf"
  fi

  [ -f "$data/throwaway.conf" ] && stored="$(sed -nE 's/^port = ([0-9]+)$/\1/p' "$data/throwaway.conf")"
  for attempt in 1 2 3; do
    local use="$port"
    if [ -z "$use" ]; then
      if [ "$attempt" -eq 1 ] && [ -n "$stored" ] && ! port_open "$stored"; then use="$stored"; else use="$(free_port)"; fi
    fi
    write_settings "$use"
    if as_user "$bindir/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 60 -s >/dev/null 2>&1 9>&-; then
      print_url "$use"
      return 0
    fi
    # Another process took the port between the pick and the bind: pick again, unless the caller chose the port.
    if ! tail -n 5 "$dir/postgres.log" 2>/dev/null | grep -q 'could not bind'; then
      die "postgres did not start in $dir: $(log_reason)"
    fi
    [ -z "$port" ] || die "port $port on 127.0.0.1 is in use"
  done
  die "postgres did not start in $dir: no free port found after 3 tries"
}

cmd_stop() {
  [ -f "$data/postmaster.pid" ] || return 0
  run_user="$(stat -c %U "$data")"
  if ! bindir="$(find_bindir "$(cat "$data/PG_VERSION" 2>/dev/null)")"; then
    # No binaries to run pg_ctl with: SIGINT is PostgreSQL's fast shutdown.
    kill -INT "$(head -n 1 "$data/postmaster.pid")" 2>/dev/null || true
    return 0
  fi
  running || return 0
  as_user "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 -s >/dev/null 2>&1 ||
    die "could not stop the server in $dir: $(log_reason)"
}

[ $# -ge 2 ] || usage
command="$1"
dir="$(abs_path "$2")"
data="$dir/data"
shift 2
case "$command" in
  start)
    [ $# -le 1 ] || usage
    cmd_start "$@"
    ;;
  stop)
    [ $# -eq 0 ] || usage
    cmd_stop
    ;;
  *) usage ;;
esac
