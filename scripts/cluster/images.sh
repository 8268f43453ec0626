#!/usr/bin/env bash
# Makes the cluster's own images when missing and copies images from podman's storage into the test cluster's
# containerd (namespace k8s.io), where the kubelet finds them without pulling:
#   scripts/cluster/images.sh DIR IMAGE[=ALIAS]...
# With =ALIAS the image is also tagged ALIAS in containerd (e.g. a build tagged :dev under the chart's default tag).
# The cluster's own images (the pause sandbox, CoreDNS, the xDS server, metrics-server) are the node base image
# (scripts/containers/base.sh) plus one binary; so is the NATS stand-in, and the PostgreSQL stand-in is Debian's
# PostgreSQL with the official image's entrypoint contract (standins/). A service image (localhost/lattice/<svc>:<tag>)
# must have been built by scripts/containers/build.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || die "usage: images.sh DIR IMAGE..."
dir="$1"
shift
source "$cluster_root/scripts/containers/env.sh"
command -v podman >/dev/null || die "podman is missing: run scripts/containers/tools.sh first"
podman image exists "$NODE_IMAGE" || die "the base image $NODE_IMAGE is missing: run scripts/containers/base.sh"

# own IMAGE BINARY ENTRYPOINT...: the base image with one binary (or none) and an entrypoint.
own() {
  local image="$1" binary="$2"
  shift 2
  podman image exists "$image" && return 0
  local context
  context="$(mktemp -d "${TMPDIR:-/tmp}/lattice-image.XXXXXX")"
  {
    echo "FROM $NODE_IMAGE"
    if [ -n "$binary" ]; then
      cp "$binary" "$context/$(basename "$binary")"
      echo "COPY $(basename "$binary") /usr/local/bin/$(basename "$binary")"
    fi
    local entrypoint
    entrypoint="$(printf '"%s", ' "$@")"
    echo "ENTRYPOINT [${entrypoint%, }]"
    echo 'CMD []'
  } >"$context/Containerfile"
  podman build --quiet --pull=never --tag "$image" "$context" >/dev/null || { rm -rf "$context"; die "could not build $image"; }
  rm -rf "$context"
  log "built $image"
}

socket="$dir/containerd/containerd.sock"
images=()
aliases=()
for argument in "$@"; do
  image="${argument%%=*}"
  [ "$image" = "$argument" ] || aliases+=("$image=${argument#*=}")
  case "$image" in
    "$sandbox_image") own "$image" "" /bin/sleep infinity ;;
    "$coredns_image") own "$image" "$cluster_bin/coredns" /usr/local/bin/coredns ;;
    localhost/lattice-cluster/metrics-server:*) own "$image" "$cluster_bin/metrics-server" /usr/local/bin/metrics-server ;;
    localhost/lattice-cluster/lattice-xds:*) own "$image" "$LATTICE_XDS_SERVER" /usr/local/bin/lattice-xds ;;
    "$nats_image")
      # A stand-in for the official nats image: the machine's nats-server (Debian's package) on the node base.
      nats="$(command -v nats-server || echo /usr/sbin/nats-server)"
      [ -x "$nats" ] || apt_install nats-server
      own "$image" "$nats" /usr/local/bin/nats-server
      ;;
    "$postgres_image")
      if ! podman image exists "$image"; then
        podman build --quiet --pull=never --build-arg "BASE=$NODE_IMAGE" --tag "$image" \
          --file "$(dirname "$0")/standins/postgres.Containerfile" "$(dirname "$0")/standins" >/dev/null ||
          die "could not build $image"
        log "built $image"
      fi
      ;;
    *) podman image exists "$image" || die "image $image is missing: build it with scripts/containers/build.sh" ;;
  esac
  case " ${images[*]} " in *" $image "*) ;; *) images+=("$image") ;; esac
done
# One archive for all: the layers they share (the node base) are written and imported once.
podman save --quiet --multi-image-archive --format docker-archive "${images[@]}" |
  ctr --address "$socket" -n k8s.io images import - >/dev/null ||
  die "could not import ${images[*]} into containerd"
for pair in ${aliases[@]+"${aliases[@]}"}; do
  image="${pair%%=*}"
  alias="${pair#*=}"
  ctr --address "$socket" -n k8s.io images rm "$alias" >/dev/null 2>&1 || true
  ctr --address "$socket" -n k8s.io images tag "$image" "$alias" >/dev/null || die "could not tag $image as $alias"
done
log "imported ${#images[@]} images into containerd in ${SECONDS} s"
