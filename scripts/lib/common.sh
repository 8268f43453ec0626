# Shared by the scripts in scripts/: where the repository is, and how to make its npm packages present.
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

step() { printf '\n== %s\n' "$*"; }

source "$root/scripts/lib/node.sh"

# Installs the locked npm packages when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  local marker="$root/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$root/package-lock.json" -nt "$marker" ]; then
    step "installing npm packages (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund)
  fi
}
