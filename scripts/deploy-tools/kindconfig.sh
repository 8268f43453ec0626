#!/usr/bin/env bash
# Builds tests/deploy/go/kindconfig (decodes a kind config with kind's own types and loader settings; its go.mod
# pins sigs.k8s.io/kind) into .cache/deploy-tools/bin.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_go
mkdir -p "$bin_dir"
# go build is incremental and cached by Go, so a rerun costs well under a second.
GOFLAGS=-buildvcs=false go build -C "$root/tests/deploy/go" -o "$bin_dir/kindconfig" ./kindconfig
echo "$bin_dir/kindconfig"
