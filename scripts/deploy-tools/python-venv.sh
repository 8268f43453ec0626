#!/usr/bin/env bash
# A Python venv under .cache/deploy-tools with the pinned PyYAML that kubeconform's CRD converter needs.
# Prints the venv's python.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../lib/apt.sh"
venv="$tools_dir/venv"
if ! "$venv/bin/python" -c "import yaml, sys; sys.exit(yaml.__version__ != '$PYYAML_VERSION')" 2>/dev/null; then
  command -v python3 >/dev/null || die "python3 is needed for kubeconform's CRD converter"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 keeps venv (ensurepip) in a package of its own.
    log "apt-get install python3-venv"
    apt_install python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "PyYAML==$PYYAML_VERSION"
fi
echo "$venv/bin/python"
