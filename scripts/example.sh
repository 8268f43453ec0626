#!/usr/bin/env bash
# Runs one of the examples in examples/: builds what changed, then runs examples/dist/<name>/main.js with the
# arguments and environment given (the event example reads NATS_URL).
#
#   npm run example -- <name>
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$root"

list() {
  for dir in examples/*/; do
    [ -f "$dir/main.ts" ] && echo "  $(basename "$dir")"
  done
}

name="${1:-}"
if [ -z "$name" ] || [ ! -f "examples/$name/main.ts" ]; then
  [ -z "$name" ] || echo "no example named '$name'" >&2
  echo "usage: npm run example -- <name>, one of:" >&2
  list >&2
  exit 2
fi
shift

use_node_24_or_newer >&2
ensure_node_modules >&2
npx tsc -b examples
exec node "examples/dist/$name/main.js" "$@"
