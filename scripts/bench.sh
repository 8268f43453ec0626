#!/usr/bin/env bash
# Benchmarks (not part of `npm test`), with h2load (Debian's nghttp2-client, installed on demand), servers pinned to
# CPU 0 and the load to CPU 1 (docs/performance.md):
#   1. Greet on Lattice beside its peers — grpc-go, grpc-js + proto-loader, NestJS, connect-node (bench/peers, a
#      pinned package installed here with npm ci, never a service dependency), Lattice bare — and the kit's chain
#      built up one interceptor at a time; a 100-user list over gRPC and as JSON; RSS of every idle service and under
#      1,000 open streams. Report, chart and results.json in bench/results/<time>/.
#   2. The gateway: Greet as REST against gRPC, the list as JSON through it, with a CPU profile.
#   3. The clients: what retries and circuit breakers cost per call.
# Settings: BENCH_ROUNDS (rounds of every section), BENCH_SECONDS and BENCH_WARMUP_SECONDS (section 1's runs),
# BENCH_STREAMS, BENCH_SECTIONS (greet,list,memory), BENCH_REQUESTS and BENCH_WARMUP (sections 2 and 3).
# `npm run bench -- --auth` compares the greeter with and without bearer-token verification instead of section 1, and
# `npm run bench -- --tracing` with and without tracing (every call a span exported over OTLP/HTTP).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$root"
use_pinned_node
ensure_node_modules

if ! command -v h2load >/dev/null; then
  step "installing h2load (nghttp2-client)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq nghttp2-client >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null; }
  else sudo apt-get install -y -qq nghttp2-client >/dev/null; fi
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed to pin processes to cores" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "the benchmark needs 2 cores: one for the server, one for the load generator" >&2; exit 1; }

case "${1:-}" in
  "" | --auth | --tracing) ;;
  *)
    echo "usage: npm run bench [-- --auth | --tracing]" >&2
    exit 2
    ;;
esac

step "build"
npx tsc -b

if [ "${1:-}" = --auth ]; then
  step "Greet: the kit's chain vs the same with bearer-token verification (JWT, ES256)"
  BENCH_COMPARE=auth node services/greeter/dist/bench/run-bench.js
elif [ "${1:-}" = --tracing ]; then
  step "Greet: the kit's chain with tracing off vs on (every call sampled, exported over OTLP/HTTP)"
  BENCH_COMPARE=tracing node services/greeter/dist/bench/run-bench.js
else
  peers="$root/bench/peers"
  if [ ! -f "$peers/node_modules/.package-lock.json" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
    step "installing the peer servers' packages (npm ci --prefix bench/peers)"
    npm ci --prefix "$peers" --no-audit --no-fund
  fi
  npx tsc -p "$peers"
  if command -v go >/dev/null; then
    step "building the grpc-go reference server (bench/go/build.sh)"
    bash bench/go/build.sh
  else
    echo "no Go on PATH: the grpc-go reference server is left out"
  fi
  step "Greet: Lattice beside its peers and the kit's chain one interceptor at a time; lists; memory"
  taskset -c 1 node bench/suite/dist/src/main.js
fi

step "gateway: Greet as REST vs gRPC; a 100-user list as JSON through the gateway vs gRPC vs a plain Node JSON server"
node services/gateway/dist/bench/run-bench.js

step "clients: what retries and circuit breakers cost per call, and what an open breaker saves"
taskset -c 1 node services/greeter/dist/bench/client-bench.js
