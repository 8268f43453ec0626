# Installing Debian packages on demand, shared by scripts/deps, scripts/containers and scripts/deploy-tools.
# The caller defines die (one clear line, then exit).
# shellcheck shell=bash

# Runs a command as root, or through passwordless sudo when not root.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "needs root (or passwordless sudo) to run: $*"
  fi
}

# Installs Debian packages quietly; refreshes the package lists (stale or absent on a fresh machine) only when the
# first attempt fails.
apt_install() {
  command -v apt-get >/dev/null || die "$* is not installed and this machine has no apt-get: install it by hand"
  # Checked first: apt-get's output goes to a log, and so would as_root's message.
  [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; } ||
    die "$* is not installed, and installing it needs root (or passwordless sudo)"
  local log
  log="$(mktemp)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
    if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "$@"; } >>"$log" 2>&1; then
      local last
      last="$(grep -E '^(E|W):' "$log" | tail -n 1)"
      rm -f "$log"
      die "could not install $*: ${last:-apt-get failed}"
    fi
  fi
  rm -f "$log"
}
