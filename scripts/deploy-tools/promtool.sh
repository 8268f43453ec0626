#!/usr/bin/env bash
# Installs the pinned promtool into .cache/deploy-tools/bin: it checks the chart's alerting and recording rules
# (`promtool check rules`) and runs their unit tests (`promtool test rules`).
#
# promtool is taken from Debian's prometheus package, downloaded and unpacked without installing it (so no
# Prometheus server is set up or started): building it from the Prometheus Go module takes about 25 minutes on a
# cold two-core machine, the package a second. The rules use nothing newer than that release's PromQL.
set -euo pipefail
here="$(dirname "$0")"
source "$here/lib.sh"
source "$here/../lib/apt.sh"

stamp="$bin_dir/.promtool.version"
if [ -x "$bin_dir/promtool" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "prometheus=$PROMETHEUS_DEB_VERSION" ]; then
  echo "$bin_dir/promtool"
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  die "promtool comes from Debian's prometheus package, and this machine has no apt-get/dpkg-deb"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt downloads as its unprivileged _apt user when it can write the folder.
chmod 0777 "$work"
log "promtool from Debian's prometheus $PROMETHEUS_DEB_VERSION"
download() { (cd "$work" && as_root apt-get download -qq "prometheus=$PROMETHEUS_DEB_VERSION") >/dev/null 2>&1; }
download || { as_root apt-get update -qq >/dev/null 2>&1 && download; } ||
  die "apt-get could not download prometheus=$PROMETHEUS_DEB_VERSION (see apt-cache policy prometheus)"
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p "$bin_dir"
install -m 0755 "$work/root/usr/bin/promtool" "$bin_dir/promtool"
printf 'prometheus=%s\n' "$PROMETHEUS_DEB_VERSION" >"$stamp"
echo "$bin_dir/promtool"
