#!/usr/bin/env bash
# Brings the platform up on this machine (npm start): makes Node and the npm packages ready, builds, then runs the
# launcher, which reads every service's declaration (the "lattice" block of services/*/package.json), starts the
# embedded PostgreSQL and nats-server when they are needed and every service on 127.0.0.1, prints where they are and
# calls to paste, and stops them all gracefully on Ctrl-C. No Docker, no cluster, no root.
#
#   scripts/up.sh [--only <service>...]     (npm start -- --only <service>...; --help for the details)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$root"
use_node_24_or_newer
ensure_node_modules

step "build"
npx tsc -b

exec node scripts/platform/dist/src/bin/start.js "$@"
