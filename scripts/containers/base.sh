#!/usr/bin/env bash
# Builds the local stand-in for the Dockerfile's base image and tags it with NODE_IMAGE's exact name, because there
# is no registry to pull from here: Debian bookworm (debootstrap --variant=minbase, from the mirror apt already
# uses) plus the pinned Node binary (scripts/lib/node.sh, the version the image name carries) and the machine's npm,
# laid out as the official node image lays them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm). Does
# nothing when the image already exists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_podman

if image_exists "$NODE_IMAGE"; then
  echo "base image $NODE_IMAGE is present"
  exit 0
fi

wanted="${NODE_IMAGE##*:}"
wanted="${wanted%%-*}"
[ "$wanted" = "$LATTICE_NODE_VERSION" ] ||
  die "$NODE_IMAGE names Node $wanted, but the pinned Node is $LATTICE_NODE_VERSION (scripts/lib/node.sh): the stand-in would lie"
node_bin="$(pinned_node_bin)/node"
npm_dir="$(dirname "$(readlink -f "$(command -v npm)")")/.." || die "npm is not on PATH"
npm_dir="$(cd "$npm_dir" && pwd)"
[ -f "$npm_dir/package.json" ] || die "could not find npm's package folder (looked in $npm_dir)"
node_version="$("$node_bin" --version)"

# The Debian mirror apt is configured with (the one serving bookworm's main component). The $(...) are apt's fields.
# shellcheck disable=SC2016
mirror="$(apt-get indextargets --format '$(RELEASE) $(COMPONENT) $(REPO_URI)' 2>/dev/null |
  awk '$1 == "bookworm" && $2 == "main" { print $3; exit }')"
[ -n "$mirror" ] || die "found no Debian bookworm mirror in apt's sources"

as_root true
work="$(mktemp -d "${TMPDIR:-/tmp}/lattice-base.XXXXXX")"
trap 'as_root rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "debootstrap bookworm (minbase) from $mirror"
as_root debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  die "debootstrap failed: $(tail -n 3 "$work/debootstrap.log")"

# What an image does not need: package lists and caches (apt-get update refreshes them), logs, docs but their
# licenses, manuals, and files the container engine provides at run time.
as_root find "$rootfs/var/lib/apt/lists" "$rootfs/var/cache/apt" "$rootfs/var/log" -mindepth 1 -delete
as_root find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
as_root find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
as_root rm -rf "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"

as_root install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
as_root mkdir -p "$rootfs/usr/local/lib/node_modules"
as_root cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
as_root ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
as_root ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

echo "importing as $NODE_IMAGE"
as_root tar --numeric-owner -C "$rootfs" -c . |
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change 'CMD ["node"]' \
    --message "stand-in for $NODE_IMAGE: debootstrap bookworm minbase + node $node_version" \
    - "$NODE_IMAGE" >/dev/null
echo "base image $NODE_IMAGE: $(podman image inspect --format '{{.Size}}' "$NODE_IMAGE" | numfmt --to=iec) (node $node_version)"
