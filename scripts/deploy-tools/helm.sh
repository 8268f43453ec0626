#!/usr/bin/env bash
# Installs the pinned helm into .cache/deploy-tools/bin.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
go_install_pinned helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm
echo "$bin_dir/helm"
