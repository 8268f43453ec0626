#!/usr/bin/env bash
# Builds one of the test cluster's add-ons from its Go module into the cluster cache's bin folder (skipped when
# built already):
#   scripts/cluster/build-addon.sh coredns|metrics-server|kube-router|skaffold
# coredns (cluster DNS), metrics-server (resource metrics for the HPA), kube-router (its network policy controller
# enforces NetworkPolicy on the bridge CNI), skaffold (the dev loop, run against the cluster).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || die "usage: build-addon.sh coredns|metrics-server|kube-router|skaffold"
name="$1"
version_flags=""
case "$name" in
  coredns) module=github.com/coredns/coredns version="$COREDNS_VERSION" package=github.com/coredns/coredns ;;
  metrics-server)
    module=sigs.k8s.io/metrics-server version="$METRICS_SERVER_VERSION"
    package=sigs.k8s.io/metrics-server/cmd/metrics-server
    ;;
  kube-router)
    module=github.com/cloudnativelabs/kube-router/v2 version="$KUBE_ROUTER_VERSION"
    package=github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
    ;;
  skaffold)
    module=github.com/GoogleContainerTools/skaffold/v2 version="$SKAFFOLD_VERSION"
    package=github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold
    # What `skaffold version` prints (its release builds set it the same way).
    version_flags="-X github.com/GoogleContainerTools/skaffold/v2/pkg/skaffold/version.version=$version"
    ;;
  *) die "unknown add-on $name" ;;
esac
stamp="$module@$version${version_flags:+ $version_flags} $(go version 2>/dev/null)"
if built_from "$name" "$stamp"; then
  log "$name $version is built"
  exit 0
fi
require_go
mkdir -p "$cluster_bin"
started=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/lattice-$name.XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "building $name $version"
gomod="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[ -f "$gomod" ] || die "the Go module proxy did not serve $module@$version"
if grep -qE '^replace|^\s+\S+ => ' "$gomod"; then
  # `go install pkg@version` refuses a module with replace directives: build it from a throwaway module that
  # requires it and carries the same replacements (those of other modules; a local path cannot be followed).
  {
    echo "module lattice.local/$name-build"
    echo
    awk '$1 == "go" { print; exit }' "$gomod"
    echo
    echo "require $module $version"
    echo
    awk '
      /^replace \(/ { block = 1; next }
      block && /^\)/ { block = 0; next }
      block && / => / { print "replace " $0; next }
      /^replace [^(]/ { print }
    ' "$gomod" | grep -v '=> \.'
  } >"$work/go.mod"
  (
    cd "$work"
    go get "$package@$version" >"$work/get.log" 2>&1 || { cat "$work/get.log" >&2; exit 1; }
    CGO_ENABLED=0 go_nice build -trimpath -ldflags "-s -w $version_flags" -o "$work/$name" "$package"
  )
else
  (cd "$work" && CGO_ENABLED=0 GOBIN="$work" go_nice install -trimpath -ldflags "-s -w $version_flags" "$package@$version")
  [ -x "$work/$name" ] || mv "$work/$(basename "$package")" "$work/$name"
fi
mv "$work/$name" "$cluster_bin/$name"
mark_built "$name" "$stamp"
log "$name $version built in $((SECONDS - started)) s"
