# Shared by the deploy-tools scripts: pinned versions and where everything lands. Everything goes under the
# repository's git-ignored .cache/deploy-tools, so a run is reproducible from these pins alone.
# shellcheck shell=bash

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="$root/.cache/deploy-tools"
bin_dir="$tools_dir/bin"
schemas_dir="$tools_dir/schemas"

# One pin per tool or source. The Kubernetes version is not pinned here: it is the one of kind's default node
# image, read from the pinned kind module, so the schemas always match the cluster `kind create cluster` makes.
HELM_VERSION="v3.22.0"
KUBECONFORM_VERSION="v0.8.0"
KIND_VERSION="v0.33.0"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"
CERT_MANAGER_VERSION="v1.21.2"
# The Gateway API release k8s/linkerd/README.md installs (its GRPCRoute carries the chart's Linkerd route policy).
GATEWAY_API_VERSION="v1.4.0"
SKAFFOLD_VERSION="v2.16.1"
PYYAML_VERSION="6.0.3"
# promtool, from Debian bookworm's prometheus package (see promtool.sh for why not the Go module).
PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"

log() { printf '  %s\n' "$*" >&2; }
die() { printf 'deploy-tools: %s\n' "$*" >&2; exit 1; }

require_go() {
  command -v go >/dev/null || die "Go is needed to install the deploy tools (go is not on PATH)"
}

# Prints the source folder of a Go module version, downloading it into the module cache when needed.
module_dir() {
  local dir
  dir="$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "the Go module proxy did not serve $1"
  printf '%s\n' "$dir"
}

# Runs a generator only when its stamp (the inputs it was made from) differs, so reruns are cheap and a changed pin
# regenerates. The generator writes into a fresh temporary folder that replaces the target at once.
generate_once() {
  local target="$1" stamp="$2"
  shift 2
  if [ -f "$target/.stamp" ] && [ "$(cat "$target/.stamp")" = "$stamp" ]; then
    return 0
  fi
  local work="$target.tmp"
  rm -rf "$work"
  mkdir -p "$work"
  "$@" "$work"
  printf '%s\n' "$stamp" >"$work/.stamp"
  rm -rf "$target"
  mv "$work" "$target"
}

# `go install` of one pinned command into bin_dir, skipped when that version is already there.
go_install_pinned() {
  local package="$1" version="$2" name="$3"
  local stamp="$bin_dir/.$name.version"
  if [ -x "$bin_dir/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$package@$version" ]; then
    return 0
  fi
  require_go
  mkdir -p "$bin_dir"
  log "go install $package@$version"
  GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install "$package@$version"
  printf '%s\n' "$package@$version" >"$stamp"
}
