#!/usr/bin/env bash
# Builds everything the test cluster runs from Go modules (Kubernetes, CoreDNS, metrics-server, kube-router's
# policy controller, skaffold), each skipped when already built at its pinned version:
#   scripts/cluster/build.sh
# Cold: about 15 minutes of CPU on two cores; warm: seconds. Go's caches stay in the cluster cache folder.
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
started=$SECONDS
bash "$here/build-kubernetes.sh"
for addon in coredns metrics-server kube-router skaffold; do
  bash "$here/build-addon.sh" "$addon"
done
log "cluster components ready in $((SECONDS - started)) s ($cluster_bin)"
