#!/usr/bin/env bash
# Builds the service images from services/Dockerfile with podman, never pulling (the base is the local stand-in):
#   scripts/containers/build.sh [SERVICE...]     (default: every declared service)
# Images are named $LATTICE_IMAGE_PREFIX<service>:$LATTICE_IMAGE_TAG (default localhost/lattice/<service>:dev).
# The system CA bundle goes in as the build secret npm_ca, for npm in the build steps; it never lands in a layer.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_podman
cd "$containers_root"

ca_bundle="$NPM_CA_BUNDLE"
if [ -z "$ca_bundle" ] || [ ! -f "$ca_bundle" ]; then die "no system CA bundle found: set NPM_CA_BUNDLE to one"; fi
image_exists "$NODE_IMAGE" || die "base image $NODE_IMAGE is missing: run scripts/containers/base.sh first"

revision="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain 2>/dev/null)" ] || revision="$revision-dirty"
source_url="$(git remote get-url origin 2>/dev/null || true)"

# The labels that change from build to build go in as --label as well: buildah (1.28) reuses a cached LABEL step
# whose build args changed, which would leave a stale revision on an otherwise unchanged image.
services=("$@")
if [ "${#services[@]}" -eq 0 ]; then
  declared="$(lattice_services)"
  [ -n "$declared" ] || die "no declared services in services/"
  mapfile -t services <<<"$declared"
fi
for service in "${services[@]}"; do
  [ -f "services/$service/package.json" ] || die "no service named $service in services/"
  image="$LATTICE_IMAGE_PREFIX$service:$LATTICE_IMAGE_TAG"
  version="$(node -p "require('./services/$service/package.json').version")"
  previous="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  started=$SECONDS
  podman build --quiet --pull=never --layers \
    --file services/Dockerfile \
    --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    --build-arg "SERVICE=$service" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" \
    --build-arg "SOURCE=$source_url" \
    --label "org.opencontainers.image.version=$version" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.source=$source_url" \
    --secret "id=npm_ca,src=$ca_bundle" \
    --tag "$image" \
    . >/dev/null
  current="$(podman image inspect --format '{{.Id}}' "$image")"
  # The image this tag named before is ours and now unnamed: remove it (it stays while a container uses it).
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then podman rmi "$previous" >/dev/null 2>&1 || true; fi
  size="$(podman image inspect --format '{{.Size}}' "$image" | numfmt --to=iec)"
  echo "$image: $size, built in $((SECONDS - started)) s"
done
