# Shared by scripts/containers/*.sh: where things are, the image names, and the podman configuration every script
# (and the image tests) must use. Sourcing it exports CONTAINERS_CONF, so podman and buildah read the same file.
# shellcheck shell=bash

containers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
containers_cache="$containers_root/.cache/containers"
containers_name="$(basename "$0")"

# The services that ship as images, and how their images are named.
lattice_services=(greeter user payment order)
: "${LATTICE_IMAGE_PREFIX:=localhost/lattice/}"
: "${LATTICE_IMAGE_TAG:=dev}"
# The base the Dockerfile defaults to; here a local stand-in carries this exact name (no registry to pull from).
: "${NODE_IMAGE:=docker.io/library/node:20.20.2-bookworm-slim}"
export LATTICE_IMAGE_PREFIX LATTICE_IMAGE_TAG NODE_IMAGE

export CONTAINERS_CONF="$containers_cache/containers.conf"

die() {
  echo "$containers_name: $*" >&2
  exit 1
}

# Runs a command as root, or through passwordless sudo when not root.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    die "needs root (or passwordless sudo) to run: $*"
  fi
}

# Fails unless podman is present: the other scripts run after tools.sh.
require_podman() {
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers/tools.sh first"
  [ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF is missing: run scripts/containers/tools.sh first"
}

# Succeeds when the image exists locally.
image_exists() {
  podman image exists "$1"
}
