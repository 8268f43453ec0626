# The Node.js runtime every script runs on: Node 24 LTS, pinned. Node 20 reached end of life in April 2026, and
# the libraries Lattice uses need Node 22 or newer.
#
# The pinned build comes from the npm registry (the official binaries, published as node-<os>-<arch> packages), so
# a machine that reaches only package registries can get it. It is checked against the integrity recorded here and
# cached per version and platform in $LATTICE_CACHE_DIR/node (default ~/.cache/lattice/node), so a machine fetches
# it once.
#
#   use_pinned_node      always run on the pinned version (the test suite and CI: results must not depend on the
#                        machine's Node)
#   use_node_24_or_newer the machine's Node if it is 24 or newer, else the pinned version (npm start)
#
# Both put the chosen node first on PATH for everything the script runs after them (npm, npx, tsc, the services,
# the tests), and say in one line which Node runs when it is not the machine's.
# shellcheck shell=bash

LATTICE_NODE_VERSION="24.22.3"
LATTICE_NODE_MAJOR="${LATTICE_NODE_VERSION%%.*}"

# sha512 integrity (as the npm registry records it) of node-<platform>@$LATTICE_NODE_VERSION. Platforms not listed
# here have no Node 24 build on the npm registry: there the machine's own Node 24 or newer is needed.
lattice_node_integrity() {
  case "$1" in
    linux-x64) echo "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==" ;;
    linux-arm64) echo "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==" ;;
    *) return 1 ;;
  esac
}

# This machine as Node names platforms: linux-x64, linux-arm64, darwin-arm64, ...
lattice_node_platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) os="$(uname -s | tr '[:upper:]' '[:lower:]')" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  echo "$os-$arch"
}

# The major version of the node on PATH, or 0 when there is none.
machine_node_major() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

node_fail() {
  echo "node: $*" >&2
  exit 1
}

# Prints the bin folder of the pinned Node for this platform, fetching and checking it first when it is not cached.
pinned_node_bin() {
  local platform integrity cache dir
  platform="$(lattice_node_platform)"
  integrity="$(lattice_node_integrity "$platform")" ||
    node_fail "no pinned Node $LATTICE_NODE_VERSION build for $platform on the npm registry: install Node $LATTICE_NODE_MAJOR or newer and run again"
  cache="${LATTICE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lattice}/node"
  dir="$cache/v$LATTICE_NODE_VERSION-$platform"
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || node_fail "npm is needed once to fetch Node $LATTICE_NODE_VERSION from the npm registry"
    mkdir -p "$cache"
    # Two runs starting at once must not unpack over each other.
    if command -v flock >/dev/null 2>&1; then
      exec 8>"$cache/.lock"
      flock 8
    fi
    if [ ! -x "$dir/bin/node" ]; then
      fetch_pinned_node "$platform" "$integrity" "$dir"
    fi
  fi
  echo "$dir/bin"
}

# Downloads node-$1@$LATTICE_NODE_VERSION with npm (its registry, proxy and CA settings), checks the tarball against
# the integrity $2, and unpacks the binary into $3.
fetch_pinned_node() {
  local platform="$1" integrity="$2" dir="$3" work tarball actual
  work="$(mktemp -d "${TMPDIR:-/tmp}/lattice-node.XXXXXX")"
  echo "node: fetching Node $LATTICE_NODE_VERSION ($platform, about 50 MB) from the npm registry" >&2
  if ! (cd "$work" && npm pack --silent "node-$platform@$LATTICE_NODE_VERSION" >pack.out 2>pack.err); then
    cat "$work/pack.err" >&2
    rm -rf "$work"
    node_fail "could not download node-$platform@$LATTICE_NODE_VERSION"
  fi
  tarball="$work/$(tail -n 1 "$work/pack.out")"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    rm -rf "$work"
    node_fail "node-$platform@$LATTICE_NODE_VERSION does not match its pinned integrity (got $actual)"
  fi
  mkdir -p "$work/unpacked"
  tar -xzf "$tarball" -C "$work/unpacked" package/bin/node package/LICENSE
  mkdir -p "$dir.tmp/bin"
  mv "$work/unpacked/package/bin/node" "$dir.tmp/bin/node"
  mv "$work/unpacked/package/LICENSE" "$dir.tmp/LICENSE"
  rm -rf "$dir" "$work"
  mv "$dir.tmp" "$dir"
}

use_pinned_node() {
  local bin
  bin="$(pinned_node_bin)"
  export PATH="$bin:$PATH"
  hash -r
  echo "node: running on the pinned Node $LATTICE_NODE_VERSION ($bin/node)"
}

use_node_24_or_newer() {
  local major
  major="$(machine_node_major)"
  if [ "$major" -ge "$LATTICE_NODE_MAJOR" ]; then return 0; fi
  local found="no node on PATH"
  [ "$major" -gt 0 ] && found="this machine has Node $(node --version)"
  local bin
  bin="$(pinned_node_bin)"
  export PATH="$bin:$PATH"
  hash -r
  echo "node: $found; Lattice needs Node $LATTICE_NODE_MAJOR, so it runs on the pinned Node $LATTICE_NODE_VERSION (cached in ${bin%/bin})"
}
