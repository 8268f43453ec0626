#!/usr/bin/env bash
# Generates strict JSON schemas for the custom resources the chart and k8s/ render: ServiceMonitor and PrometheusRule
# (prometheus-operator), cert-manager's issuers and certificates, and the Gateway API's GRPCRoute (the chart's
# Linkerd route policy), from the CRDs in those projects' pinned Go modules, converted
# by kubeconform's own openapi2jsonschema.py (run from the module cache). Files are named
# {full group}_{kind}_{version}.json. Prints the schema folder.
#
# Linkerd's policy CRDs (Server, AuthorizationPolicy, ...) have no source here: the linkerd2 module is not served
# by the Go module proxy and no registry package ships them, so they get no schema (see the chart test).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_go
python="$(bash "$(dirname "$0")/python-venv.sh")"
target="$schemas_dir/crds"
convert() {
  local out="$1" kubeconform prometheus certmanager gatewayapi
  kubeconform="$(module_dir "github.com/yannh/kubeconform@$KUBECONFORM_VERSION")"
  prometheus="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  certmanager="$(module_dir "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION")"
  gatewayapi="$(module_dir "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")"
  log "converting CRDs (prometheus-operator $PROMETHEUS_OPERATOR_VERSION, cert-manager $CERT_MANAGER_VERSION, gateway-api $GATEWAY_API_VERSION)"
  # The converter writes into its working folder; DENY_ROOT_ADDITIONAL_PROPERTIES closes the root object too.
  (cd "$out" && FILENAME_FORMAT='{fullgroup}_{kind}_{version}' DENY_ROOT_ADDITIONAL_PROPERTIES=1 \
    "$python" "$kubeconform/scripts/openapi2jsonschema.py" \
    "$prometheus/example/prometheus-operator-crd-full/monitoring.coreos.com_servicemonitors.yaml" \
    "$prometheus/example/prometheus-operator-crd-full/monitoring.coreos.com_podmonitors.yaml" \
    "$prometheus/example/prometheus-operator-crd-full/monitoring.coreos.com_prometheusrules.yaml" \
    "$certmanager/deploy/crds/cert-manager.io_clusterissuers.yaml" \
    "$certmanager/deploy/crds/cert-manager.io_issuers.yaml" \
    "$certmanager/deploy/crds/cert-manager.io_certificates.yaml" \
    "$gatewayapi/config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml" >/dev/null)
}
stamp="kubeconform@$KUBECONFORM_VERSION prometheus-operator@$PROMETHEUS_OPERATOR_VERSION+prometheusrules"
stamp="$stamp cert-manager@$CERT_MANAGER_VERSION gateway-api@$GATEWAY_API_VERSION pyyaml@$PYYAML_VERSION"
generate_once "$target" "$stamp" convert
echo "$target"
