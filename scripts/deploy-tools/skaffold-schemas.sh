#!/usr/bin/env bash
# Copies skaffold's published JSON schemas (one per skaffold.yaml apiVersion, e.g. v4beta13.json) from the pinned
# skaffold module source into .cache/deploy-tools/schemas/skaffold. Prints that folder.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_go
target="$schemas_dir/skaffold"
copy() {
  local dir
  dir="$(module_dir "github.com/GoogleContainerTools/skaffold/v2@$SKAFFOLD_VERSION")"
  cp "$dir"/docs-v2/content/en/schemas/*.json "$1/"
  chmod u+w "$1"/*.json
}
generate_once "$target" "skaffold@$SKAFFOLD_VERSION" copy
echo "$target"
