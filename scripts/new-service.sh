#!/usr/bin/env bash
# Creates a new, working service from a declaration (npm run new-service -- <name>): makes Node and the npm
# packages ready, builds the platform package, then runs its scaffold. Steps after it: docs/adding-a-service.md.
#
#   scripts/new-service.sh <name>     (<name>: a DNS label no service uses yet, e.g. inventory or shipping-quote)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$root"
use_node_24_or_newer >&2
ensure_node_modules >&2

npx tsc -b scripts/platform
exec node scripts/platform/dist/src/bin/new-service.js "$@"
