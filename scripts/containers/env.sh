# The settings the container scripts and the image tests share; scripts/test.sh sources this file so the tests
# see exactly what the build used. Exports only, no side effects.
# shellcheck shell=bash

containers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
containers_cache="$containers_root/.cache/containers"

# podman and buildah read this machine's settings (runtime, ulimits) from here; tools.sh writes the file.
export CONTAINERS_CONF="$containers_cache/containers.conf"
# Images are named $LATTICE_IMAGE_PREFIX<service>:$LATTICE_IMAGE_TAG.
export LATTICE_IMAGE_PREFIX="${LATTICE_IMAGE_PREFIX:-localhost/lattice/}"
export LATTICE_IMAGE_TAG="${LATTICE_IMAGE_TAG:-dev}"
# The base the Dockerfile defaults to; here a local stand-in carries this exact name (no registry to pull from).
source "$containers_root/scripts/lib/node.sh"
export NODE_IMAGE="${NODE_IMAGE:-docker.io/library/node:$LATTICE_NODE_VERSION-bookworm-slim}"
# The system CA bundle, handed to npm in the build as a secret (the tests check it is in no layer).
if [ -z "${NPM_CA_BUNDLE:-}" ]; then
  for candidate in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
    if [ -f "$candidate" ]; then
      NPM_CA_BUNDLE="$candidate"
      break
    fi
  done
fi
export NPM_CA_BUNDLE="${NPM_CA_BUNDLE:-}"
