# Shared by the scripts in scripts/: where the repository is, and how to make its npm packages present.
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

step() { printf '\n== %s\n' "$*"; }

require_node() {
  command -v node >/dev/null || { echo "Node.js 20 or newer is needed (node is not on PATH)" >&2; exit 1; }
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || { echo "Node.js 20 or newer is needed (found $(node --version))" >&2; exit 1; }
}

# Installs the locked npm packages when node_modules is missing or older than the lockfile.
ensure_node_modules() {
  local marker="$root/node_modules/.package-lock.json"
  if [ ! -f "$marker" ] || [ "$root/package-lock.json" -nt "$marker" ]; then
    step "installing npm packages (npm ci)"
    (cd "$root" && npm ci --no-audit --no-fund)
  fi
}
