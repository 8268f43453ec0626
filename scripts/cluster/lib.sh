# Shared by scripts/cluster/*.sh: the pinned versions, where the binaries and Go caches live, and small helpers.
# The binaries and Go's caches go under a fixed folder outside the clone ($XDG_CACHE_HOME or ~/.cache), so a machine
# that built once starts a fresh clone's cluster in about a minute.
# shellcheck shell=bash disable=SC2034

cluster_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster_name="$(basename "$0" .sh)"

# Kubernetes 1.33 is the last minor that runs on a cgroup v1 host without more than `failCgroupV1: false`.
KUBERNETES_VERSION="v1.33.13"
COREDNS_VERSION="v1.15.0"
METRICS_SERVER_VERSION="v0.8.0"
KUBE_ROUTER_VERSION="v2.1.0"
SKAFFOLD_VERSION="v2.16.1"

cluster_cache="${LATTICE_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice/cluster}"
cluster_bin="$cluster_cache/bin"

# Go's build and module caches in the same fixed folder (unless the caller chose others), the toolchain on the
# machine (no download of another), and low priority: the builds share the machine.
export GOCACHE="${GOCACHE:-$cluster_cache/go-build}"
export GOMODCACHE="${GOMODCACHE:-$cluster_cache/go-mod}"
export GOTOOLCHAIN=local
export GOFLAGS=-buildvcs=false

log() { printf '%s: %s\n' "$cluster_name" "$*" >&2; }
die() {
  printf '%s: %s\n' "$cluster_name" "$*" >&2
  exit 1
}

source "$cluster_root/scripts/lib/apt.sh"

require_go() {
  command -v go >/dev/null || die "Go is needed to build the cluster's components (go is not on PATH)"
}

# Succeeds when $cluster_bin/NAME exists and was built from STAMP.
built_from() {
  local name="$1" stamp="$2"
  [ -x "$cluster_bin/$name" ] && [ "$(cat "$cluster_bin/.$name.stamp" 2>/dev/null)" = "$stamp" ]
}

mark_built() {
  printf '%s\n' "$2" >"$cluster_bin/.$1.stamp"
}

# Runs a Go build at the lowest CPU priority.
go_nice() {
  nice -n 19 go "$@"
}

# The cluster's addresses. The node address lives on an empty bridge this script creates (no dummy links without
# kernel modules); pods get a CNI bridge of their own. The components' local ports listen on a loopback address of
# their own (127.0.201.1), so they collide with nothing else on the machine.
node_name="lattice-node"
node_bridge="lt-node0"
node_ip="10.201.0.1"
pod_bridge="lt-cni0"
pod_cidr="10.244.0.0/24"
pod_gateway="10.244.0.1"
service_cidr="10.96.0.0/16"
kubernetes_service_ip="10.96.0.1"
dns_service_ip="10.96.0.10"
local_ip="127.0.201.1"
cni_network="lattice-cluster"
cluster_domain="cluster.local"
# The iptables chain (filter table) that keeps the cluster's traffic on this machine.
guard_chain="LATTICE-CLUSTER"

# Reads the PIDs file of a run folder: one "name pid" a line.
pids_file() { printf '%s/pids\n' "$1"; }

# Waits up to $2 seconds for the command after it to succeed.
wait_for() {
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
  log "$what is up, ${SECONDS} s in"
}

# Images the cluster itself runs, built on the node base image (scripts/containers/base.sh) and imported into
# containerd; never pulled.
sandbox_image="localhost/lattice-cluster/pause:1"
coredns_image="localhost/lattice-cluster/coredns:$COREDNS_VERSION"
metrics_server_image="localhost/lattice-cluster/metrics-server:$METRICS_SERVER_VERSION"
# Stand-ins for the official postgres and nats images of the chart's in-release servers (values/dev.yaml).
postgres_image="localhost/lattice-cluster/postgres:15-standin"
nats_image="localhost/lattice-cluster/nats:standin"
