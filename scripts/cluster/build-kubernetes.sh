#!/usr/bin/env bash
# Builds the Kubernetes binaries the test cluster runs (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, kubectl) from the k8s.io/kubernetes module into the cluster cache's bin folder:
#   scripts/cluster/build-kubernetes.sh
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, …) at v0.0.0 and replaces them with
# ./staging/…, which only works inside its own repository. A throwaway module requires k8s.io/kubernetes and
# replaces each of those with the published v0.<minor>.<patch> of the same release. Skipped when built already.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

commands=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
stamp="kubernetes@$KUBERNETES_VERSION $(go version 2>/dev/null)"
all_built=true
for command in "${commands[@]}"; do built_from "$command" "$stamp" || all_built=false; done
if $all_built; then
  log "Kubernetes $KUBERNETES_VERSION is built"
  exit 0
fi
require_go
mkdir -p "$cluster_bin"
work="$(mktemp -d "${TMPDIR:-/tmp}/lattice-kubernetes.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

staging_version="v0.${KUBERNETES_VERSION#v1.}"
gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || die "the Go module proxy did not serve k8s.io/kubernetes@$KUBERNETES_VERSION"
mapfile -t staging < <(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u)
[ "${#staging[@]}" -gt 20 ] || die "found only ${#staging[@]} staging modules in k8s.io/kubernetes' go.mod"
go_directive="$(awk '$1 == "go" { print $2; exit }' "$gomod")"
{
  echo "module lattice.local/kubernetes-build"
  echo
  echo "go $go_directive"
  echo
  echo "godebug default=go1.24"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  for module in "${staging[@]}"; do echo "replace $module => $module $staging_version"; done
} >"$work/go.mod"
log "building Kubernetes $KUBERNETES_VERSION (${#staging[@]} staging modules at $staging_version)"
packages=()
for command in "${commands[@]}"; do packages+=("k8s.io/kubernetes/cmd/$command"); done
(
  cd "$work"
  go get "${packages[@]/%/@$KUBERNETES_VERSION}" >/dev/null 2>"$work/get.log" || { cat "$work/get.log" >&2; exit 1; }
  minor="${KUBERNETES_VERSION#v1.}"
  minor="${minor%%.*}"
  flags="-s -w"
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $package.gitVersion=$KUBERNETES_VERSION -X $package.gitMajor=1 -X $package.gitMinor=$minor"
    flags+=" -X $package.gitTreeState=clean -X $package.buildDate=1970-01-01T00:00:00Z"
  done
  CGO_ENABLED=0 go_nice build -trimpath -ldflags "$flags" -o "$work/bin/" "${packages[@]}"
)
for command in "${commands[@]}"; do
  mv "$work/bin/$command" "$cluster_bin/$command"
  mark_built "$command" "$stamp"
done
log "Kubernetes $KUBERNETES_VERSION built in $((SECONDS - started)) s"
