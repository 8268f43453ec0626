#!/usr/bin/env bash
# podman's Docker-compatible API on a unix socket, for the tests that drive containers through testcontainers:
#
#   scripts/containers/api.sh start DIR   prints unix://DIR/podman.sock (the value DOCKER_HOST takes)
#   scripts/containers/api.sh stop DIR
#
# start runs `podman system service --time=0` (no idle timeout) with this machine's CONTAINERS_CONF (env.sh), so
# containers made through the API get the same runtime and ulimits as those made by the podman CLI; it waits until
# the socket answers and prints its URL as the only line on stdout. Running start again while the service runs
# prints the URL again. DIR holds the socket, the pid file (api.pid) and the log (api.log); keep DIR short: a unix
# socket's path has at most 107 bytes. stop ends the service; containers it started are not touched.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() {
  echo "usage: $containers_name start DIR | stop DIR" >&2
  exit 2
}

# Prints the pid of the service started in $dir, when it still runs.
service_pid() {
  local pid
  [ -f "$dir/api.pid" ] || return 1
  pid="$(tr -dc 0-9 <"$dir/api.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A pid left from an earlier boot can belong to another program by now.
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = podman ] || return 1
  echo "$pid"
}

answers() {
  podman --remote --url "$url" version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

cmd_start() {
  local pid _
  require_podman
  mkdir -p "$dir"
  [ -w "$dir" ] || die "cannot write to $dir"
  exec 9>>"$dir/.lock"
  flock 9
  if service_pid >/dev/null && answers; then
    echo "$url"
    return 0
  fi
  rm -f "$dir/podman.sock" "$dir/api.pid"
  # setsid and closed descriptors: the service outlives this script and holds no pipe of a caller's $(...) open.
  setsid podman system service --time=0 "$url" </dev/null >"$dir/api.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$dir/api.pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || die "podman system service exited: $(tail -n 3 "$dir/api.log")"
    if [ -S "$dir/podman.sock" ] && answers; then
      echo "$url"
      return 0
    fi
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  die "podman system service did not answer on $url within 10 s: $(tail -n 3 "$dir/api.log")"
}

cmd_stop() {
  local pid _
  pid="$(service_pid)" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/api.pid" "$dir/podman.sock"
}

[ $# -eq 2 ] || usage
command="$1"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
url="unix://$dir/podman.sock"
case "$command" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) usage ;;
esac
