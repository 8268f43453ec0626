#!/usr/bin/env bash
# Installs what building and running the images needs (rootful podman, buildah and runc from Debian) when missing,
# and writes the podman configuration this machine needs to .cache/containers/containers.conf.
#
# Why the configuration: crun cannot create containers under this kind of host's hybrid cgroup setup, so runc is
# the runtime; and podman's default ulimits ask for more open files than the hard limit allows without
# CAP_SYS_RESOURCE, so the defaults are set to the hard limit (nproc above 32768 fails the same way).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

packages=(podman buildah runc netavark aardvark-dns debootstrap fuse-overlayfs catatonit iptables)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt_install "${missing[@]}"
fi

nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
mkdir -p "$containers_cache"
conf="$(
  cat <<CONF
# Written by scripts/containers/tools.sh; podman and buildah read it through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
CONF
)"
# Rewritten only when it changes, so a running podman never sees a half-written file.
if [ "$(cat "$CONTAINERS_CONF" 2>/dev/null)" != "$conf" ]; then
  printf '%s\n' "$conf" >"$CONTAINERS_CONF.tmp"
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
fi
echo "podman $(podman version --format '{{.Client.Version}}'), runtime runc, CONTAINERS_CONF=$CONTAINERS_CONF"
