#!/usr/bin/env bash
# Installs every tool and generates every schema the deploy tests need (idempotent: a second run only checks
# stamps), then writes .cache/deploy-tools/env.sh with the variables the tests read. Source that file, or:
#   eval "$(bash scripts/deploy-tools/install.sh)"
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
start=$SECONDS
helm="$(bash "$here/helm.sh")"
kubeconform="$(bash "$here/kubeconform.sh")"
promtool="$(bash "$here/promtool.sh")"
kindconfig="$(bash "$here/kindconfig.sh")"
kind_image="$(bash "$here/kind-image.sh")"
kubernetes_schemas="$(bash "$here/kubernetes-schemas.sh")"
crd_schemas="$(bash "$here/crd-schemas.sh")"
skaffold_schemas="$(bash "$here/skaffold-schemas.sh")"
kubernetes_version="${kind_image#kindest/node:}"
kubernetes_version="${kubernetes_version%@*}"
cat >"$tools_dir/env.sh" <<ENV
export HELM='$helm'
export KUBECONFORM='$kubeconform'
export PROMTOOL='$promtool'
export LATTICE_KINDCONFIG='$kindconfig'
export LATTICE_SCHEMAS_DIR='$schemas_dir'
export LATTICE_KUBERNETES_SCHEMAS='$kubernetes_schemas'
export LATTICE_CRD_SCHEMAS='$crd_schemas'
export LATTICE_SKAFFOLD_SCHEMAS='$skaffold_schemas'
export LATTICE_KUBERNETES_VERSION='$kubernetes_version'
export LATTICE_KIND_NODE_IMAGE='$kind_image'
ENV
log "deploy tools ready in $((SECONDS - start)) s (helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION, promtool $PROMETHEUS_DEB_VERSION, kind $KIND_VERSION, Kubernetes $kubernetes_version)"
cat "$tools_dir/env.sh"
