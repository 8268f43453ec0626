#!/usr/bin/env bash
# The whole test suite, as CI runs it: install, lint and format checks, contract checks (buf lint, generated code
# up to date, buf breaking against the previous commit), build, interop clients, then every test.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/tests.sh"
source "$(dirname "$0")/lib/services.sh"
cd "$root"
use_pinned_node
ensure_node_modules

step "lint and format"
npx eslint .
npx prettier --check .

step "contracts: buf lint, generated code up to date"
bash scripts/generate.sh
if git rev-parse --git-dir >/dev/null 2>&1; then
  generated=(proto charts/lattice/files)
  if [ -n "$(git status --porcelain -- "${generated[@]}")" ]; then
    git status --short -- "${generated[@]}"
    git diff --stat -- "${generated[@]}"
    echo "proto/gen or charts/lattice/files differ from what the protos produce: run 'npm run generate' and commit the result" >&2
    exit 1
  fi
  if git rev-parse --verify --quiet 'HEAD~1:proto/buf.yaml' >/dev/null; then
    step "contracts: buf breaking against the previous commit"
    (cd proto && ../node_modules/.bin/buf breaking --against '../.git#ref=HEAD~1,subdir=proto')
  else
    echo "buf breaking: the previous commit has no proto module, nothing to compare against"
  fi
fi

step "build"
npx tsc -b

step "container images (podman: tools, base image stand-in, service images)"
bash scripts/containers/tools.sh
bash scripts/containers/base.sh
bash scripts/containers/build.sh
# The image tests (tests/deploy) use the same podman configuration, image names and CA bundle path as the build.
source scripts/containers/env.sh

step "container API (podman system service, for the tests that run containers through testcontainers)"
# Docker's API on a socket of this run's own; testcontainers finds it through DOCKER_HOST. Ryuk, its reaper, is an
# image from a registry these machines cannot reach: the tests label what they make and remove it themselves, and
# what a crashed test process left is removed here by the session label (tests/deploy/src/testcontainers.ts).
api_dir="$(mktemp -d -t lattice-podman-api.XXXXXX)"
LATTICE_TEST_SESSION="$(basename "$api_dir")"
LATTICE_TEST_SESSION="${LATTICE_TEST_SESSION##*.}"
stop_container_api() {
  local label="label=io.lattice.test-session=$LATTICE_TEST_SESSION"
  podman ps --all --quiet --filter "$label" | xargs -r podman rm --force --time 0 >/dev/null 2>&1 || true
  podman network ls --quiet --filter "$label" | xargs -r podman network rm --force >/dev/null 2>&1 || true
  bash scripts/containers/api.sh stop "$api_dir" >/dev/null 2>&1 || true
  rm -rf "$api_dir"
}
trap stop_container_api EXIT
DOCKER_HOST="$(bash scripts/containers/api.sh start "$api_dir")"
TESTCONTAINERS_RYUK_DISABLED=true
export DOCKER_HOST TESTCONTAINERS_RYUK_DISABLED LATTICE_TEST_SESSION
echo "container API: $DOCKER_HOST"

step "deploy tools (helm, kubeconform, offline Kubernetes/CRD/skaffold schemas, kind config decoder)"
# Pinned, installed into .cache/deploy-tools; a rerun only checks stamps. The tests in tests/deploy read these paths.
bash scripts/deploy-tools/install.sh >/dev/null
source .cache/deploy-tools/env.sh

step "interop clients (Go, Python)"
bash services/greeter/test/interop/build.sh

step "xDS control plane (Go): format, vet, unit tests, build"
unformatted="$(cd xds && gofmt -l .)"
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }
(cd xds && GOFLAGS=-mod=readonly go vet ./... && GOFLAGS=-mod=readonly go test ./...)
# The xDS tests run it (services/kit/test/xds.integration.test.ts).
LATTICE_XDS_SERVER="$(bash scripts/xds/build.sh)"
export LATTICE_XDS_SERVER

step "openssl (the TLS tests make their certificates with it at run time)"
if ! command -v openssl >/dev/null; then
  die() { echo "$*" >&2; exit 1; }
  source scripts/lib/apt.sh
  apt_install openssl
fi
openssl version

step "test servers (PostgreSQL server, embedded PostgreSQL, NATS JetStream)"
# One throwaway server of each for the whole run; tests use schemas and streams of their own.
# In the system's temporary folder: the server runs as the postgres user, who may not be able to enter the checkout.
pg_dir="$(mktemp -d -t lattice-test-postgres.XXXXXX)"
chmod 755 "$pg_dir"
nats_dir="$root/.cache/test-nats"
embedded_dir="$root/.cache/test-embedded-postgres"
embedded_pid=""
stop_servers() {
  stop_container_api
  bash scripts/deps/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
  bash scripts/deps/nats.sh stop "$nats_dir" >/dev/null 2>&1 || true
  if [ -n "$embedded_pid" ]; then kill -TERM "$embedded_pid" 2>/dev/null && wait "$embedded_pid" 2>/dev/null || true; fi
}
trap stop_servers EXIT
TEST_DATABASE_URL="$(bash scripts/deps/postgres.sh start "$pg_dir")"
TEST_NATS_URL="$(bash scripts/deps/nats.sh start "$nats_dir")"
# The embedded default of `npm start`, so repository tests run on it as well.
rm -rf "$embedded_dir"
mkdir -p "$embedded_dir"
node scripts/deps/embedded-postgres.mjs "$embedded_dir/pg" >"$embedded_dir/out" 2>&1 &
embedded_pid=$!
TEST_EMBEDDED_DATABASE_URL=""
for _ in $(seq 300); do
  TEST_EMBEDDED_DATABASE_URL="$(head -n 1 "$embedded_dir/out" | grep '^postgres://' || true)"
  [ -n "$TEST_EMBEDDED_DATABASE_URL" ] && break
  kill -0 "$embedded_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$TEST_EMBEDDED_DATABASE_URL" ] || { cat "$embedded_dir/out" >&2; echo "embedded PostgreSQL did not start" >&2; exit 1; }
export TEST_DATABASE_URL TEST_NATS_URL TEST_EMBEDDED_DATABASE_URL
echo "PostgreSQL server: $TEST_DATABASE_URL"
echo "embedded PostgreSQL: $TEST_EMBEDDED_DATABASE_URL"
echo "NATS: $TEST_NATS_URL"

step "tests: unit and integration"
# Both sets in one run (scripts/lib/tests.sh), compiled tests only where their source exists. The cluster tests
# follow on a cluster of their own; a failure here is reported at the end, after them.
unit=()
while IFS= read -r file; do unit+=("$file"); done < <(test_files unit)
integration=()
while IFS= read -r file; do integration+=("$file"); done < <(test_files integration)
cluster_tests=()
while IFS= read -r file; do cluster_tests+=("$file"); done < <(test_files cluster)
if [ "${#unit[@]}" -eq 0 ] || [ "${#integration[@]}" -eq 0 ] || [ "${#cluster_tests[@]}" -eq 0 ]; then
  echo "found ${#unit[@]} unit, ${#integration[@]} integration and ${#cluster_tests[@]} cluster test files: a set is missing" >&2
  exit 1
fi
echo "${#unit[@]} unit, ${#integration[@]} integration and ${#cluster_tests[@]} cluster test files"
tests_status=0
# Beside the spec report on the terminal, a TAP copy of each run, whose "# pass N" / "# fail N" lines make the
# command's last line: the counts of both runs, so a run that executed nothing (or stopped early) shows.
counts_dir="$(mktemp -d -t lattice-test-counts.XXXXXX)"
summary_printed=""
print_summary() {
  [ -z "$summary_printed" ] || return 0
  summary_printed=1
  local file passed=0 failed=0 n
  for file in "$counts_dir"/*.tap; do
    [ -f "$file" ] || continue
    n="$(awk '$1 == "#" && $2 == "pass" { v = $3 } END { print v + 0 }' "$file")"
    passed=$((passed + n))
    n="$(awk '$1 == "#" && ($2 == "fail" || $2 == "cancelled") { v += $3 } END { print v + 0 }' "$file")"
    failed=$((failed + n))
  done
  echo "$passed passed, $failed failed (unit, integration and cluster tests)"
  rm -rf "$counts_dir"
}
tap_report() { printf '%s\n' --test-reporter=spec --test-reporter-destination=stdout --test-reporter=tap "--test-reporter-destination=$counts_dir/$1.tap"; }
mapfile -t reporters < <(tap_report main)
node --test "${reporters[@]}" "${unit[@]}" "${integration[@]}" || tests_status=$?
trap 'stop_servers; print_summary' EXIT

step "test cluster (single-node Kubernetes built from Go modules: scripts/cluster)"
# Debian's containerd, runc, etcd and CNI plugins; Kubernetes, CoreDNS, metrics-server, kube-router and skaffold
# built once into a cache outside the clone. The cluster lives in a folder of this run and is torn down after its
# tests, and on any exit before; the tests in tests/cluster install the chart into it. The service images go in under the chart's default names
# (localhost/lattice/<service>:<appVersion>) as well, as a `kind load` or `ctr images import` of the README's
# build would name them.
cluster_started=$SECONDS
bash scripts/cluster/tools.sh
bash scripts/cluster/build.sh
cluster_dir="$(mktemp -d -t lattice-cluster.XXXXXX)"
stop_cluster() {
  [ -n "$cluster_dir" ] || return 0
  bash scripts/cluster/down.sh "$cluster_dir" || echo "the test cluster's teardown failed: see $cluster_dir" >&2
  cluster_dir=""
}
trap 'stop_cluster; stop_servers; print_summary' EXIT
app_version="$(awk -F'"' '/^appVersion:/ { print $2 }' charts/lattice/Chart.yaml)"
cluster_images=()
for service in $(declared_services "$root"); do
  image="$LATTICE_IMAGE_PREFIX$service:$LATTICE_IMAGE_TAG"
  cluster_images+=("$image=${LATTICE_IMAGE_PREFIX}$service:$app_version")
done
# values/dev.yaml's in-release PostgreSQL and NATS (what skaffold's dev profile deploys) run stand-ins answering to
# the chart's pinned image names (scripts/cluster/standins/).
for component in postgresql nats; do
  pinned="$(awk -v c="$component:" '$0 == c { inside = 1; next } inside && $1 == "image:" { print $2; exit }' charts/lattice/values.yaml)"
  case "$component" in
    postgresql) cluster_images+=("localhost/lattice-cluster/postgres:15-standin=$pinned") ;;
    nats) cluster_images+=("localhost/lattice-cluster/nats:standin=$pinned") ;;
  esac
done
LATTICE_XDS_SERVER="$LATTICE_XDS_SERVER" bash scripts/cluster/up.sh "$cluster_dir" "${cluster_images[@]}" >/dev/null
# shellcheck source=/dev/null
source "$cluster_dir/env.sh"
echo "test cluster up in $((SECONDS - cluster_started)) s"

step "tests: cluster"
# One file at a time: every file installs releases into the one node, and some share its node ports.
mapfile -t reporters < <(tap_report cluster)
node --test --test-concurrency=1 "${reporters[@]}" "${cluster_tests[@]}" || tests_status=$?
stop_cluster
echo "cluster phase (build check, up, tests, teardown): $((SECONDS - cluster_started)) s"
print_summary
exit "$tests_status"
