#!/usr/bin/env bash
# Benchmarks (not part of `npm test`): Greet on the kit's full chain against a bare grpc-js server, with h2load
# (Debian's nghttp2-client, installed on demand). Options through BENCH_ROUNDS, BENCH_REQUESTS, BENCH_WARMUP.
# `npm run bench -- --auth` compares the greeter with and without bearer-token verification instead, and
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

step "build"
npx tsc -b

case "${1:-}" in
  "") step "Greet: bare grpc-js vs the kit's full chain" ;;
  --auth)
    step "Greet: the kit's chain vs the same with bearer-token verification (JWT, ES256)"
    export BENCH_COMPARE=auth
    ;;
  --tracing)
    step "Greet: the kit's chain with tracing off vs on (every call sampled, exported over OTLP/HTTP)"
    export BENCH_COMPARE=tracing
    ;;
  *)
    echo "usage: npm run bench [-- --auth | --tracing]" >&2
    exit 2
    ;;
esac
node services/greeter/dist/bench/run-bench.js

step "clients: what retries and circuit breakers cost per call, and what an open breaker saves"
taskset -c 1 node services/greeter/dist/bench/client-bench.js
