#!/usr/bin/env bash
# The unit tests alone: what needs only Node and the npm packages (no root, containers, database, NATS, Go or
# Python), for a quick answer while working. `npm test` runs these and the integration tests; see scripts/lib/tests.sh.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/tests.sh"
cd "$root"
use_pinned_node
ensure_node_modules

step "build"
npx tsc -b

step "unit tests"
tests=()
while IFS= read -r file; do tests+=("$file"); done < <(test_files unit)
# A run that finds nothing must not pass.
if [ "${#tests[@]}" -eq 0 ]; then
  echo "no unit tests found (services/*/test/*.test.ts, examples/*/test/*.test.ts)" >&2
  exit 1
fi
echo "${#tests[@]} test files"
# Without the integration servers' addresses, a unit test that needs one fails here instead of passing only on a
# machine where they happen to be set.
env -u TEST_DATABASE_URL -u TEST_EMBEDDED_DATABASE_URL -u TEST_NATS_URL \
  node --test --test-reporter=spec "${tests[@]}"
