#!/usr/bin/env bash
# Builds the xDS control plane (xds/, a Go program on envoyproxy/go-control-plane) into .cache/xds/lattice-xds,
# with the module versions pinned in xds/go.mod and xds/go.sum. Skipped when nothing that goes into it changed since
# the last build (hash in .cache/xds/stamp). Prints the binary's path.
#
#   scripts/xds/build.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/.cache/xds"
command -v go >/dev/null 2>&1 || { echo "xds build: go is not on PATH (the control plane is a Go program)" >&2; exit 1; }
mkdir -p "$out"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.lock"
  flock 9
fi
hash="$( (cd "$root/xds" && sha256sum go.mod go.sum ./*.go && go version) | sha256sum | cut -d' ' -f1)"
if [ -x "$out/lattice-xds" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$hash" ]; then
  echo "$out/lattice-xds"
  exit 0
fi
# readonly: go.mod and go.sum are complete as committed.
(cd "$root/xds" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$out/lattice-xds.tmp" .)
mv "$out/lattice-xds.tmp" "$out/lattice-xds"
echo "$hash" >"$out/stamp"
echo "$out/lattice-xds"
