#!/usr/bin/env bash
# Brings the platform up on this machine: installs, builds, starts every service on loopback with embedded
# defaults (no Docker, no cluster), prints where they are and a call to paste, and stops them all gracefully on
# Ctrl-C.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$root"
use_node_24_or_newer
ensure_node_modules

step "build"
npx tsc -b

# Fixed local ports, one set per service, so addresses stay the same from run to run.
declare -A grpc_ports=([greeter]=50051 [user]=50052 [payment]=50053 [order]=50054)
declare -A admin_ports=([greeter]=8081 [user]=8082 [payment]=8083 [order]=8084)
declare -A health_ports=([greeter]=8091 [user]=8092 [payment]=8093 [order]=8094)

pids=()
stop_all() {
  trap - INT TERM
  echo
  step "stopping (graceful: each service drains, then exits)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  # The database goes last, once no service needs it.
  [ -n "${postgres_pid:-}" ] && kill -TERM "$postgres_pid" 2>/dev/null || true
  wait
  exit 0
}
trap stop_all INT TERM

step "starting PostgreSQL (embedded, in .lattice/postgres; each service uses its own schema)"
mkdir -p "$root/.lattice"
node scripts/deps/embedded-postgres.mjs "$root/.lattice/postgres" >"$root/.lattice/postgres.out" 2>&1 &
postgres_pid=$!
for _ in $(seq 300); do
  DATABASE_URL="$(head -n 1 "$root/.lattice/postgres.out" 2>/dev/null | grep '^postgres://' || true)"
  [ -n "$DATABASE_URL" ] && break
  kill -0 "$postgres_pid" 2>/dev/null || { cat "$root/.lattice/postgres.out" >&2; exit 1; }
  sleep 0.1
done
[ -n "$DATABASE_URL" ] || { echo "PostgreSQL did not start" >&2; exit 1; }
export DATABASE_URL
echo "$DATABASE_URL"

# How services find each other locally (in Kubernetes: their Service DNS names).
export USER_SERVICE_ADDRESS="127.0.0.1:${grpc_ports[user]}" PAYMENT_SERVICE_ADDRESS="127.0.0.1:${grpc_ports[payment]}"

step "starting services"
export LOG_FORMAT="${LOG_FORMAT:-auto}" SHUTDOWN_DRAIN_MS="${SHUTDOWN_DRAIN_MS:-0}"
for main in services/*/dist/src/main.js; do
  name="$(basename "$(dirname "$(dirname "$(dirname "$main")")")")"
  [ -n "${grpc_ports[$name]:-}" ] || { echo "no local port for service '$name': add it to scripts/up.sh" >&2; exit 1; }
  GRPC_HOST=127.0.0.1 GRPC_PORT="${grpc_ports[$name]}" ADMIN_HOST=127.0.0.1 ADMIN_PORT="${admin_ports[$name]}" \
    HEALTH_PORT="${health_ports[$name]}" \
    node "$main" &
  pids+=("$!")
done

for name in "${!grpc_ports[@]}"; do
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:${admin_ports[$name]}/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:${admin_ports[$name]}/readyz" >/dev/null || { echo "$name did not become ready" >&2; stop_all; }
done

cat <<EOT

Lattice is up.

  service   gRPC              admin (/livez /readyz /metrics)   gRPC health (plaintext)
$(for name in "${!grpc_ports[@]}"; do printf '  %-9s 127.0.0.1:%-7s http://127.0.0.1:%-17s 127.0.0.1:%s\n' "$name" "${grpc_ports[$name]}" "${admin_ports[$name]}" "${health_ports[$name]}"; done)

Try (from this folder):
  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"name":"Ada"}' http://127.0.0.1:50051/lattice.greeter.v1.GreeterService/Greet
  npx buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:50051
  npx buf curl --protocol grpc --http2-prior-knowledge -d '{"user":{"email":"ada@example.com","displayName":"Ada"}}' http://127.0.0.1:50052/lattice.user.v1.UserService/CreateUser
  curl http://127.0.0.1:8081/readyz
  node services/kit/dist/src/bin/health-probe.js --addr=127.0.0.1:8091 --service=readiness

Ctrl-C stops everything.
EOT
wait
