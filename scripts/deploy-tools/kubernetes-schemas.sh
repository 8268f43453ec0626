#!/usr/bin/env bash
# Generates strict JSON schemas (unknown fields fail) for every Kubernetes API kind, from the OpenAPI spec in the
# k8s.io/kubernetes module of the version kind's default node image runs. Prints the schema folder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_go
image="$(bash "$(dirname "$0")/kind-image.sh")"
version="${image#kindest/node:}"
version="${version%@*}"
target="$schemas_dir/kubernetes"
convert() {
  local dir
  dir="$(module_dir "k8s.io/kubernetes@$version")"
  log "converting the OpenAPI spec of Kubernetes $version"
  node "$root/scripts/deploy-tools/openapi-to-jsonschema.mjs" "$dir/api/openapi-spec/swagger.json" "$1"
}
generate_once "$target" "k8s.io/kubernetes@$version $(sha256sum "$root/scripts/deploy-tools/openapi-to-jsonschema.mjs")" convert
echo "$target"
