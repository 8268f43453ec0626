#!/usr/bin/env bash
# Installs the pinned promtool (built from the Prometheus Go module) into .cache/deploy-tools/bin: it checks the
# chart's alerting and recording rules (`promtool check rules`) and runs their unit tests (`promtool test rules`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
go_install_pinned github.com/prometheus/prometheus/cmd/promtool "$PROMETHEUS_VERSION" promtool
echo "$bin_dir/promtool"
