#!/usr/bin/env bash
# Installs the pinned kubeconform into .cache/deploy-tools/bin.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
go_install_pinned github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" kubeconform
echo "$bin_dir/kubeconform"
