#!/usr/bin/env bash
# The development loop: `skaffold dev` with the dev profile on the kind cluster made by scripts/dev/kind-up.sh.
# Builds every service image from services/Dockerfile, loads them into kind, installs the chart with
# charts/lattice/values/dev.yaml, streams logs and redeploys on every change. Ctrl-C removes the release.
# Extra arguments go to skaffold (e.g. --port-forward=off).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

context=kind-lattice
helm_version=v3.22.0

# Tools installed by the repository's scripts live in .cache/bin.
[ -d "$root/.cache/bin" ] && export PATH="$root/.cache/bin:$PATH"

need() {
  command -v "$1" >/dev/null && return 0
  echo "$1 is needed but not on PATH. Install it with:" >&2
  echo "  $2" >&2
  exit 1
}
need skaffold "https://skaffold.dev/docs/install/ (skaffold v2.16 or newer: skaffold.yaml uses skaffold/v4beta13)"
need helm "GOBIN=$root/.cache/bin go install helm.sh/helm/v3/cmd/helm@$helm_version"
need kubectl "https://kubernetes.io/docs/tasks/tools/#kubectl"
need docker "https://docs.docker.com/engine/install/ (skaffold builds with the local Docker engine and loads the images into kind)"

kubectl config get-contexts -o name | grep -x "$context" >/dev/null || {
  echo "no $context context: create the cluster first with scripts/dev/kind-up.sh" >&2
  exit 1
}

exec skaffold dev --profile dev --kube-context "$context" "$@"
