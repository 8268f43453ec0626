#!/usr/bin/env bash
# Prints kind's default node image (name:tag@digest) for the pinned kind version, read from kind's own source, so
# the Kubernetes schemas and the cluster config follow the version `kind create cluster` really runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_go
dir="$(module_dir "sigs.k8s.io/kind@$KIND_VERSION")"
image="$(sed -n 's/^const Image = "\(.*\)"$/\1/p' "$dir/pkg/apis/config/defaults/image.go")"
[[ "$image" =~ ^kindest/node:v[0-9]+\.[0-9]+\.[0-9]+@sha256:[0-9a-f]{64}$ ]] ||
  die "could not read kind's default node image from sigs.k8s.io/kind@$KIND_VERSION (found '$image')"
echo "$image"
