#!/usr/bin/env bash
# Builds the grpc-go reference server of `npm run bench` (bench/go/main.go) into .cache/bench/greeter-go: installs
# protoc-gen-go and protoc-gen-go-grpc at the versions go.mod pins, generates the Go types of the greeter's contract
# (and of what it imports) from proto/ with buf (node_modules/.bin/buf), and builds with the module versions pinned
# in go.mod and go.sum. Nothing is written to the source tree. Skipped when nothing that goes into it changed since
# the last build (hash in .cache/bench/go-stamp). Prints the binary's path.
#
#   bench/go/build.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/go"
out="$root/.cache/bench"
buf="$root/node_modules/.bin/buf"
command -v go >/dev/null 2>&1 || { echo "bench go build: go is not on PATH" >&2; exit 1; }
[ -x "$buf" ] || { echo "bench go build: $buf is missing (npm ci)" >&2; exit 1; }
mkdir -p "$out"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.go-lock"
  flock 9
fi
hash="$( (
  cd "$root"
  { printf '%s\0' bench/go/go.mod bench/go/go.sum bench/go/*.go bench/go/buf.gen.yaml
    find proto -name '*.proto' -not -path 'proto/gen/*' -print0; } | LC_ALL=C sort -z | xargs -0 sha256sum
  go version
  "$buf" --version
) | sha256sum | cut -d' ' -f1)"
if [ -x "$out/greeter-go" ] && [ "$(cat "$out/go-stamp" 2>/dev/null)" = "$hash" ]; then
  echo "$out/greeter-go"
  exit 0
fi
src="$out/go-src"
rm -rf "$src"
mkdir -p "$src/bin"
cp "$here/go.mod" "$here/go.sum" "$here"/*.go "$here/buf.gen.yaml" "$src/"
# readonly: go.mod and go.sum are complete as committed.
export GOFLAGS="-mod=readonly -buildvcs=false"
(cd "$src" && GOBIN="$src/bin" go install tool) >&2
(cd "$root/proto" && PATH="$src/bin:$PATH" "$buf" generate --template "$src/buf.gen.yaml" --output "$src" \
  --path lattice/greeter/v1/greeter.proto --include-imports) >&2
(cd "$src" && go build -trimpath -o "$out/greeter-go.tmp" .) >&2
mv "$out/greeter-go.tmp" "$out/greeter-go"
echo "$hash" >"$out/go-stamp"
echo "$out/greeter-go"
