#!/usr/bin/env bash
# Builds the greeter interop clients into <repo>/.cache/interop/ (git-ignored; nothing is written to the source tree):
#
#   .cache/interop/venv/               Python virtual environment with python/requirements.txt installed
#   .cache/interop/python-gen/         Python stubs of the greeter's proto (grpc_tools.protoc)
#   .cache/interop/bin/                protoc-gen-go and protoc-gen-go-grpc, at the versions pinned in go/go.mod
#   .cache/interop/go-src/             go/ copied, plus the Go stubs of the greeter's proto in gen/greeterv1
#   .cache/interop/go/greeter-interop  the Go client
#
# The greeter's proto is found from its declaration: the file under proto/ that defines the first gRPC service of
# "grpcServices" in services/greeter/package.json (its package line and its service line).
#
# Both languages' stubs come from the protoc bundled with grpcio-tools (pinned in python/requirements.txt), so the
# build needs only go and python3, not the repo's node_modules. The run is skipped when nothing that goes into it
# changed since the last successful one (hash in .cache/interop/stamp).
#
# Run the clients with:
#   .cache/interop/go/greeter-interop --target 127.0.0.1:PORT
#   .cache/interop/venv/bin/python services/greeter/test/interop/python/client.py --target 127.0.0.1:PORT
#
# Environment: PYTHON (default python3) picks the interpreter of the virtual environment; go must be on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# <repo>/services/greeter/test/interop -> <repo>; works outside a git checkout too.
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../../../.." && pwd))"
out="$root/.cache/interop"
python="${PYTHON:-python3}"
started=$SECONDS

step="starting"
say() { echo "interop build: $*"; }
fail() {
  echo "interop build: error: $*" >&2
  exit 1
}
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then echo "interop build: FAILED while $step (exit $rc)" >&2; fi
}
trap on_exit EXIT

command -v go >/dev/null 2>&1 || fail "go is not on PATH (the Go client needs Go >= 1.26)"
command -v "$python" >/dev/null 2>&1 || fail "$python is not on PATH (set PYTHON to a Python 3.11+ interpreter)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
  fail "$("$python" --version 2>&1) is too old: Python >= 3.9 is needed"

mkdir -p "$out"
# Two test runs starting at once must not build over each other.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out/.lock"
  flock 9
fi

# The .proto file (relative to proto/) that defines the greeter's first declared gRPC service, e.g.
# lattice.greeter.v1.GreeterService: the one file with "package lattice.greeter.v1;" and "service GreeterService".
declared_proto() {
  local manifest="$root/services/greeter/package.json" full package service files
  full="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["lattice"]["grpcServices"][0])' \
    "$manifest" 2>/dev/null)" || fail "no lattice.grpcServices in $manifest"
  package="${full%.*}"
  service="${full##*.}"
  mapfile -t files < <(
    cd "$root/proto" &&
      grep -rlE --include='*.proto' --exclude-dir=gen --exclude-dir=node_modules \
        "^package[[:space:]]+${package//./\\.}[[:space:]]*;" . |
      xargs -r grep -lE "^service[[:space:]]+${service}([[:space:]]|\{|$)" |
        sed 's|^\./||' | LC_ALL=C sort
  )
  [ "${#files[@]}" -eq 1 ] ||
    fail "$full (services/greeter/package.json) is defined by ${#files[@]} .proto files under proto/, not one: ${files[*]}"
  echo "${files[0]}"
}

step="finding the greeter's proto from its declaration"
greeter_proto="$(declared_proto)"
say "greeter proto: proto/$greeter_proto"

# Everything the outputs depend on: this folder's sources, the declaration, the protos and the toolchains' versions.
inputs_hash() {
  (
    cd "$root"
    {
      printf '%s\0' services/greeter/package.json
      find services/greeter/test/interop -type f \
        \( -name '*.sh' -o -name '*.go' -o -name go.mod -o -name go.sum -o -name '*.py' -o -name '*.txt' \) \
        -not -path '*/__pycache__/*' -print0
      find proto -type f -name '*.proto' -not -path 'proto/gen/*' -not -path '*/node_modules/*' -print0
    } | LC_ALL=C sort -z | xargs -0 sha256sum
    go version
    "$python" --version 2>&1
  ) | sha256sum | cut -d' ' -f1
}

step="hashing the inputs"
hash="$(inputs_hash)"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$hash" ] &&
  [ -x "$out/go/greeter-interop" ] && [ -x "$out/venv/bin/python" ] &&
  [ -f "$out/python-gen/${greeter_proto%.proto}_pb2_grpc.py" ]; then
  say "up to date (.cache/interop)"
  exit 0
fi
rm -f "$out/stamp"

# --- Python: virtual environment -------------------------------------------------------------------------------
step="creating the Python virtual environment"
venv="$out/venv"
requirements="$here/python/requirements.txt"
venv_hash="$({
  sha256sum <"$requirements"
  "$python" --version 2>&1
} | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements-hash" 2>/dev/null)" != "$venv_hash" ]; then
  say "python: creating .cache/interop/venv ($("$python" --version 2>&1))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  step="installing python/requirements.txt into the virtual environment"
  say "python: installing python/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$requirements"
  echo "$venv_hash" >"$venv/.requirements-hash"
else
  say "python: virtual environment up to date"
fi

# The protos the greeter's proto imports (transitively) that only proto/ has: the vendored protovalidate rules and Lattice's
# own option protos (lattice/auth/v1/...). Their stubs are generated along with the greeter's; google/* and grpc/*
# come with the Python packages and the Go modules in go.mod.
own_imports_of() {
  local queue=("$1") seen=" $1 " file import
  while [ "${#queue[@]}" -gt 0 ]; do
    file="${queue[0]}"
    queue=("${queue[@]:1}")
    while read -r import; do
      case "$import" in google/* | grpc/*) continue ;; esac
      [ -f "$root/proto/$import" ] || continue
      case "$seen" in *" $import "*) continue ;; esac
      seen+="$import "
      queue+=("$import")
      echo "$import"
    done < <(sed -n 's/^import[[:space:]]\{1,\}\(public[[:space:]]\{1,\}\)\{0,1\}"\([^"]*\)";.*/\2/p' "$root/proto/$file")
  done | LC_ALL=C sort
}
mapfile -t own_imports < <(own_imports_of "$greeter_proto")
say "own imports: ${own_imports[*]:-none}"

protoc=("$venv/bin/python" -m grpc_tools.protoc)
wkt_include="$("$venv/bin/python" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"

# --- Python: stubs ---------------------------------------------------------------------------------------------
# The greeter and the protovalidate rules it imports (buf/validate, vendored under proto/): google.api, google.rpc
# and grpc.health come from googleapis-common-protos and grpcio-health-checking.
step="generating the Python stubs"
say "python: generating stubs into .cache/interop/python-gen"
rm -rf "$out/python-gen.tmp"
mkdir -p "$out/python-gen.tmp"
"${protoc[@]}" -I "$root/proto" -I "$wkt_include" \
  --python_out="$out/python-gen.tmp" --grpc_python_out="$out/python-gen.tmp" \
  "$greeter_proto" "${own_imports[@]}"
rm -rf "$out/python-gen"
mv "$out/python-gen.tmp" "$out/python-gen"

# --- Go: plugins, stubs, client --------------------------------------------------------------------------------
step="copying the Go sources"
gosrc="$out/go-src"
gomodule="$(sed -n 's/^module[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$here/go/go.mod")"
[ -n "$gomodule" ] || fail "no module line in go/go.mod"
rm -rf "$gosrc"
mkdir -p "$gosrc"
cp "$here/go/go.mod" "$here/go/go.sum" "$here"/go/*.go "$gosrc/"

export GOBIN="$out/bin"
# readonly: go.mod and go.sum are complete as committed; a missing entry is an error, never an edit.
export GOFLAGS="-mod=readonly -buildvcs=false"

step="installing protoc-gen-go and protoc-gen-go-grpc (go install tool)"
say "go: installing protoc-gen-go and protoc-gen-go-grpc into .cache/interop/bin"
(cd "$gosrc" && go install tool)

step="generating the Go stubs"
say "go: generating stubs into .cache/interop/go-src/gen/greeterv1"
gopkg="$gomodule/gen/greeterv1"
# The greeter's own imports (buf/validate for its field rules, Lattice's option protos) get their Go stubs here too,
# each into a package of this module named after its folder (gen/validate, gen/lattice_auth_v1), so no Go module of
# theirs is needed.
mappings=("M$greeter_proto=$gopkg")
for import in "${own_imports[@]}"; do
  dir="$(dirname "$import")"
  case "$dir" in buf/validate) name=validate ;; *) name="${dir//\//_}" ;; esac
  mappings+=("M$import=$gomodule/gen/$name")
done
go_opts=()
for mapping in "${mappings[@]}"; do go_opts+=(--go_opt="$mapping" --go-grpc_opt="$mapping"); done
"${protoc[@]}" -I "$root/proto" -I "$wkt_include" \
  --plugin=protoc-gen-go="$GOBIN/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$GOBIN/protoc-gen-go-grpc" \
  --go_out="$gosrc" --go_opt="module=$gomodule" \
  --go-grpc_out="$gosrc" --go-grpc_opt="module=$gomodule" \
  "${go_opts[@]}" \
  "$greeter_proto" "${own_imports[@]}"

step="building the Go client"
say "go: building .cache/interop/go/greeter-interop"
mkdir -p "$out/go"
(cd "$gosrc" && go build -trimpath -o "$out/go/greeter-interop.tmp" .)
mv "$out/go/greeter-interop.tmp" "$out/go/greeter-interop"

step="writing the stamp"
echo "$hash" >"$out/stamp"
say "done in $((SECONDS - started)) s"
