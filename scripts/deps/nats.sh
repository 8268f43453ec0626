#!/usr/bin/env bash
# A throwaway NATS server with JetStream as a local process, for tests and local runs: no Docker, no system service.
#
#   scripts/deps/nats.sh start DIR [PORT]   prints nats://127.0.0.1:PORT
#   scripts/deps/nats.sh stop DIR
#
# start installs Debian's nats-server package when nats-server is missing, starts it listening only on 127.0.0.1
# with JetStream stored in DIR/jetstream and HTTP monitoring on another free port of 127.0.0.1, waits until it
# accepts connections and its /healthz says ok, and prints its URL as the only line on stdout. PORT defaults to a
# free port (the one used before, when it is still free). Running start again while the server runs prints the URL
# again. DIR holds the pid file (nats.pid), the ports (nats.ports: client, monitoring) and the log (nats.log).
# Delete DIR after stop to start afresh. NATS_SERVER overrides which nats-server binary runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  echo "usage: $deps_name start DIR [PORT] | stop DIR" >&2
  exit 2
}

find_server() {
  if [ -n "${NATS_SERVER:-}" ]; then
    [ -x "$NATS_SERVER" ] || die "NATS_SERVER=$NATS_SERVER is not an executable"
    echo "$NATS_SERVER"
  elif command -v nats-server >/dev/null; then
    command -v nats-server
  elif [ -x /usr/sbin/nats-server ]; then
    echo /usr/sbin/nats-server
  else
    return 1
  fi
}

# Prints the pid of the server started in $dir, when it still runs.
server_pid() {
  local pid
  [ -f "$dir/nats.pid" ] || return 1
  pid="$(tr -dc 0-9 <"$dir/nats.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid left from an earlier boot can belong to another program by now.
  case "$(cat "/proc/$pid/comm" 2>/dev/null)" in nats-server*) ;; *) return 1 ;; esac
  echo "$pid"
}

healthy() {
  local monitor="$1"
  command -v curl >/dev/null || return 0
  curl -fsS --max-time 2 "http://127.0.0.1:$monitor/healthz" 2>/dev/null | grep -q '"ok"'
}

log_reason() {
  local line
  line="$(grep -E '\[(FTL|ERR)\]' "$dir/nats.log" 2>/dev/null | tail -n 1 | sed -E 's/^.*\[(FTL|ERR)\] +//')"
  [ -n "$line" ] || line="$(tail -n 1 "$dir/nats.out" 2>/dev/null)"
  echo "${line:-see $dir/nats.log}"
}

# Starts the server on client port $1 and monitoring port $2; succeeds once it is healthy.
launch() {
  local port="$1" monitor="$2" pid _
  rm -f "$dir/nats.pid"
  echo "$port $monitor" >"$dir/nats.ports"
  # setsid and closed descriptors: the server outlives this script and holds no pipe of a caller's $(...) open.
  setsid "$server" -a 127.0.0.1 -p "$port" -m "$monitor" -n "lattice-local-$port" -js -sd "$dir/jetstream" \
    -P "$dir/nats.pid" -l "$dir/nats.log" </dev/null >"$dir/nats.out" 2>&1 9>&- &
  pid=$!
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || return 1
    if port_open "$port" && healthy "$monitor"; then return 0; fi
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  die "nats-server did not become healthy in 20 s: $(log_reason)"
}

cmd_start() {
  local port="${1:-}" stored="" attempt use monitor
  [ -z "$port" ] || check_port "$port"
  if ! server="$(find_server)"; then
    apt_install nats-server
    server="$(find_server)" || die "nats-server was installed but is not on PATH nor in /usr/sbin"
  fi

  mkdir -p "$dir"
  [ -w "$dir" ] || die "cannot write to $dir"
  exec 9>>"$dir/.lock"
  flock 9

  [ -f "$dir/nats.ports" ] && read -r stored _ <"$dir/nats.ports"
  if server_pid >/dev/null; then
    [ -z "$port" ] || [ "$port" = "$stored" ] || die "already running in $dir on port $stored, not $port"
    print_url "$stored"
    return 0
  fi

  for attempt in 1 2 3; do
    use="$port"
    if [ -z "$use" ]; then
      if [ "$attempt" -eq 1 ] && [ -n "$stored" ] && ! port_open "$stored"; then use="$stored"; else use="$(free_port)"; fi
    fi
    monitor="$(free_port)"
    while [ "$monitor" = "$use" ]; do monitor="$(free_port)"; done
    if launch "$use" "$monitor"; then
      print_url "$use"
      return 0
    fi
    # Another process took a port between the pick and the bind: pick again, unless the caller chose the port.
    tail -n 5 "$dir/nats.out" "$dir/nats.log" 2>/dev/null | grep -qi 'address already in use' ||
      die "nats-server did not start in $dir: $(log_reason)"
    [ -n "$port" ] && port_open "$port" && die "port $port on 127.0.0.1 is in use"
  done
  die "nats-server did not start in $dir: no free ports found after 3 tries"
}

print_url() {
  echo "nats://127.0.0.1:$1"
}

cmd_stop() {
  local pid _
  pid="$(server_pid)" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/nats.pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/nats.pid"
}

[ $# -ge 2 ] || usage
command="$1"
dir="$(abs_path "$2")"
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
