# Shared by scripts/deps/*.sh: failing with one clear line, free loopback ports, Debian package installs.
# shellcheck shell=bash

# The calling script's name, for messages ("postgres.sh: ...").
deps_name="$(basename "$0")"

die() {
  echo "$deps_name: $*" >&2
  exit 1
}

source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

# Succeeds when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a TCP port that nothing on this machine listens on. Picks from 20000-32767, below Linux's ephemeral range
# (32768-60999), so outgoing connections do not take it between the pick and the bind.
free_port() {
  local used="" port _
  if command -v ss >/dev/null; then used=" $(ss -Htanl 2>/dev/null | awk '{n = split($4, a, ":"); printf "%s ", a[n]}')"; fi
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 12768))
    case "$used" in *" $port "*) continue ;; esac
    port_open "$port" && continue
    echo "$port"
    return 0
  done
  die "found no free port on 127.0.0.1"
}

# Checks that $1 is a TCP port number.
check_port() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt 65535 ]; then die "not a port number: '$1'"; fi
}

# Prints $1 as an absolute path (the directory itself may not exist yet).
abs_path() {
  [ -n "$1" ] || die "no directory given"
  realpath -m -- "$1"
}
