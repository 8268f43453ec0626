#!/usr/bin/env bash
# Installs the Debian packages the test cluster runs on, when missing (root or passwordless sudo):
#   scripts/cluster/tools.sh
# containerd (the container runtime the kubelet talks CRI to) with runc, etcd (kube-apiserver's store), the CNI
# reference plugins (bridge, host-local, loopback, portmap in /usr/lib/cni), iptables and conntrack (kube-proxy),
# ipset (the network policy controller), iproute2 (bridges and network namespaces), curl (health checks).
# The packages' own services are not started: up.sh runs each daemon with its own configuration and stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

needed=()
for pair in containerd:containerd runc:runc etcd:etcd-server /usr/lib/cni/bridge:containernetworking-plugins \
  iptables:iptables conntrack:conntrack ipset:ipset ip:iproute2 curl:curl; do
  command="${pair%%:*}"
  package="${pair#*:}"
  if [ "${command#/}" != "$command" ]; then
    [ -e "$command" ] || needed+=("$package")
  else
    command -v "$command" >/dev/null || needed+=("$package")
  fi
done
if [ "${#needed[@]}" -gt 0 ]; then
  log "installing ${needed[*]}"
  # Without systemd the packages' services are not started; a policy-rc.d makes sure of it where there is one.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    trap 'as_root rm -f "$policy"' EXIT
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' >$policy && chmod 0755 $policy"
  fi
  apt_install "${needed[@]}"
fi
for command in containerd ctr runc etcd iptables conntrack ipset ip curl; do
  command -v "$command" >/dev/null || die "$command is missing after installing the packages"
done
for plugin in bridge host-local loopback portmap; do
  [ -x "/usr/lib/cni/$plugin" ] || die "the CNI plugin /usr/lib/cni/$plugin is missing"
done
log "containerd $(containerd --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }'), etcd $(etcd --version | awk '/etcd Version/ { print $3 }')"
