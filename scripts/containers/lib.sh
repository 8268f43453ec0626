# Shared by scripts/containers/*.sh: where things are, the image names, and the podman configuration every script
# must use (env.sh), and helpers. Sourcing it exports CONTAINERS_CONF, so podman and buildah read the same file.
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
containers_name="$(basename "$0")"

source "$(dirname "${BASH_SOURCE[0]}")/../lib/services.sh"

# The services that ship as images, one a line: every declared service (a "lattice" block in
# services/<name>/package.json).
lattice_services() {
  declared_services "$containers_root"
}

die() {
  echo "$containers_name: $*" >&2
  exit 1
}

source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

# Fails unless podman is present and runs as root: the other scripts run after tools.sh.
require_podman() {
  # Rootful podman is what these scripts set up (rootless needs subordinate ids and its own storage).
  [ "$(id -u)" -eq 0 ] || die "run as root (rootful podman), e.g. with sudo -E"
  command -v podman >/dev/null || die "podman is not installed: run scripts/containers/tools.sh first"
  [ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF is missing: run scripts/containers/tools.sh first"
}

# Succeeds when the image exists locally.
image_exists() {
  podman image exists "$1"
}
