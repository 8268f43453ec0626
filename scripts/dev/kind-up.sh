#!/usr/bin/env bash
# Brings up the local Kubernetes cluster for `skaffold dev`: the kind cluster of kind-config.yaml (created only if
# absent), Linkerd installed as k8s/linkerd/README.md pins it, and the namespaces of k8s/namespaces.yaml.
#   scripts/dev/kind-up.sh          cluster + Linkerd + namespaces
#   scripts/dev/kind-up.sh --viz    also Linkerd viz (dashboard, stat/top/tap)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

cluster=lattice
context="kind-$cluster"
kind_version=v0.33.0
linkerd_version=edge-25.10.7
gateway_api_version=v1.4.0
with_viz=false
for arg in "$@"; do
  case "$arg" in
    --viz) with_viz=true ;;
    *) echo "usage: $0 [--viz]" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
need() {
  command -v "$1" >/dev/null && return 0
  echo "$1 is needed but not on PATH. Install it with:" >&2
  echo "  $2" >&2
  exit 1
}

need kind "go install sigs.k8s.io/kind@$kind_version   (or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
need kubectl "https://kubernetes.io/docs/tasks/tools/#kubectl"
need linkerd "curl --proto '=https' --tlsv1.2 -sSfL https://run.linkerd.io/install-edge | LINKERD2_VERSION=$linkerd_version sh && export PATH=\"\$HOME/.linkerd2/bin:\$PATH\""
if ! command -v docker >/dev/null && ! command -v podman >/dev/null; then
  echo "kind needs a container engine: Docker (https://docs.docker.com/engine/install/) or Podman" >&2
  echo "(with Podman: export KIND_EXPERIMENTAL_PROVIDER=podman)" >&2
  exit 1
fi

# The node image in kind-config.yaml is the default of this kind release; other releases may not run it.
found_kind="$(kind version | awk '{print $2}')"
[ "$found_kind" = "$kind_version" ] || echo "warning: kind $found_kind found, kind-config.yaml is pinned for $kind_version" >&2
found_linkerd="$(linkerd version --client --short)"
[ "$found_linkerd" = "$linkerd_version" ] || {
  echo "linkerd CLI $found_linkerd found, $linkerd_version needed (the chart's annotations match it); install with:" >&2
  echo "  curl --proto '=https' --tlsv1.2 -sSfL https://run.linkerd.io/install-edge | LINKERD2_VERSION=$linkerd_version sh" >&2
  exit 1
}

step "kind cluster $cluster"
if kind get clusters 2>/dev/null | grep -x "$cluster" >/dev/null; then
  echo "exists"
else
  kind create cluster --config "$root/kind-config.yaml" --wait 120s
fi
kubectl config use-context "$context" >/dev/null
kc() { kubectl --context "$context" "$@"; }

step "Linkerd $linkerd_version"
if kc get namespace linkerd >/dev/null 2>&1; then
  echo "control plane present"
else
  linkerd --context "$context" check --pre
  kc apply --server-side -f "https://github.com/kubernetes-sigs/gateway-api/releases/download/$gateway_api_version/standard-install.yaml"
  linkerd --context "$context" install --crds | kc apply -f -
  linkerd --context "$context" install | kc apply -f -
fi
linkerd --context "$context" check

if [ "$with_viz" = true ]; then
  step "Linkerd viz"
  linkerd --context "$context" viz install | kc apply -f -
  linkerd --context "$context" viz check
fi

step "namespaces"
kc apply -f "$root/k8s/namespaces.yaml"

step "ready"
echo "Next: scripts/dev/dev.sh (skaffold dev). Entry services: greeter on 127.0.0.1:50051, order on 127.0.0.1:50054."
