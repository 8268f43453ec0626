#!/usr/bin/env bash
# Tears down the test cluster that scripts/cluster/up.sh DIR started, and removes exactly what it made:
#   scripts/cluster/down.sh DIR
# In order: the pods are deleted while the kubelet still runs (the CNI plugin removes their veths, network
# namespaces and addresses, the kubelet unmounts their volumes); then kube-router and kube-proxy (and their iptables
# chains and ipsets), the kubelet, the control plane and etcd; containerd's leftover tasks; containerd. Then the cgroups, network
# namespaces, links, mounts, iptables chains and sysctls up.sh recorded or added, and DIR itself. Every daemon is
# stopped by the PID up.sh wrote. Safe to run after a half-done up.sh, and twice.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || die "usage: down.sh DIR"
[ -d "$1" ] || exit 0
dir="$(cd "$1" && pwd)"
pids="$(pids_file "$dir")"
made="$dir/made"
touch "$pids" "$made"
socket="$dir/containerd/containerd.sock"

pid_of() { awk -v n="$1" '$1 == n { print $2 }' "$pids"; }
alive() {
  local pid
  pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}
# stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 15).
stop() {
  local name="$1" seconds="${2:-15}" pid
  pid="$(pid_of "$name")"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
}

kubectl_() { "$cluster_bin/kubectl" --kubeconfig "$dir/kubeconfig/admin" --request-timeout 20s "$@"; }

# 1. Pods, while the kubelet can still run their CNI DEL and unmount their volumes.
if alive kubelet && alive kube-apiserver; then
  # Controllers would replace deleted pods: remove what owns them first, then every pod.
  kubectl_ delete deployments,replicasets,statefulsets,daemonsets,jobs --all --all-namespaces --wait=false >/dev/null 2>&1 || true
  kubectl_ delete pods --all --all-namespaces --grace-period 1 --timeout 60s >/dev/null 2>&1 || true
  for _ in $(seq 60); do
    [ -z "$(ctr --address "$socket" -n k8s.io tasks list -q 2>/dev/null)" ] && break
    sleep 1
  done
fi
# 2. The policy controller, kube-proxy and its rules.
stop kube-router
stop kube-proxy
if [ -x "$cluster_bin/kube-proxy" ] && grep -q '^kube-proxy ' "$pids"; then
  "$cluster_bin/kube-proxy" --cleanup --v 0 >/dev/null 2>&1 || true
fi
# 3. The kubelet, the control plane, etcd.
stop kubelet
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd
# 4. Whatever containers are left (the kubelet stopped before it could remove them), then containerd.
if alive containerd; then
  for namespace in $(ctr --address "$socket" namespaces list -q 2>/dev/null); do
    for task in $(ctr --address "$socket" -n "$namespace" tasks list -q 2>/dev/null); do
      ctr --address "$socket" -n "$namespace" tasks kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
    done
    sleep 1
    for task in $(ctr --address "$socket" -n "$namespace" tasks list -q 2>/dev/null); do
      ctr --address "$socket" -n "$namespace" tasks delete --force "$task" >/dev/null 2>&1 || true
    done
    for container in $(ctr --address "$socket" -n "$namespace" containers list -q 2>/dev/null); do
      ctr --address "$socket" -n "$namespace" containers delete "$container" >/dev/null 2>&1 || true
    done
  done
fi
stop containerd 30
# Shims outlive containerd when their task could not be deleted: only those serving this containerd.
for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $socket" 2>/dev/null || true); do
  kill -KILL "$pid" 2>/dev/null || true
done

# 5. Mounts under DIR (volumes, sandbox /dev/shm, overlay roots), deepest first.
awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mount; do
  umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true
done
# containerd 1.6 keeps each task's root filesystem, shim sockets and runc state under /run/containerd whatever
# its state setting: the ones of this cluster's k8s.io namespace.
awk 'index($2, "/run/containerd/io.containerd.runtime.v2.task/k8s.io/") == 1 { print $2 }' /proc/mounts |
  sort -r | while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount" 2>/dev/null || true; done

# 6. Cgroups the kubelet made (kubepods in every hierarchy), deepest first.
if grep -qx 'cgroup kubepods' "$made"; then
  for hierarchy in /sys/fs/cgroup/*/; do
    [ -d "${hierarchy}kubepods" ] || continue
    find "${hierarchy}kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
fi

# 7. Network namespaces the CNI plugin left (only those that did not exist before), and the links.
if [ -f "$dir/netns.before" ]; then
  for netns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    case "$netns" in cni-*) ;; *) continue ;; esac
    grep -qx "$netns" "$dir/netns.before" || ip netns delete "$netns" 2>/dev/null || true
  done
fi
rm -f /var/lib/cni/results/"$cni_network"-* 2>/dev/null || true
while read -r kind name value; do
  case "$kind" in
    link) ip link delete "$name" 2>/dev/null || true ;;
  esac
done <"$made"

# 8. iptables: the guard chain, and KUBE-* chains that were not there before (kube-proxy --cleanup removes most).
if grep -qx "chain $guard_chain" "$made"; then
  while iptables -D FORWARD -j "$guard_chain" 2>/dev/null; do :; done
  while iptables -D OUTPUT -j "$guard_chain" 2>/dev/null; do :; done
  iptables -F "$guard_chain" 2>/dev/null || true
  iptables -X "$guard_chain" 2>/dev/null || true
fi
# kube-proxy makes IPv6 chains too (canaries, a firewall chain), even on a single-stack cluster.
for family in iptables ip6tables; do
  [ -f "$dir/chains.before" ] || break
  for table in filter nat mangle; do
    for chain in $("$family-save" -t "$table" 2>/dev/null | awk '/^:KUBE-/ { print substr($1, 2) }'); do
      grep -qx "$family :$chain" "$dir/chains.before" && continue
      # Remove the rules that jump to it, then its own rules; the chain itself once nothing refers to it.
      "$family-save" -t "$table" | awk -v c="$chain" '$1 == "-A" && $0 ~ ("-j " c "( |$)") { $1 = "-D"; print }' |
        while read -r rule; do eval "$family -t $table $rule" 2>/dev/null || true; done
      "$family" -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $("$family-save" -t "$table" 2>/dev/null | awk '/^:KUBE-/ { print substr($1, 2) }'); do
      grep -qx "$family :$chain" "$dir/chains.before" || "$family" -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
done

# ipsets the policy controller made (after the rules that used them are gone).
if [ -f "$dir/ipsets.before" ]; then
  for set in $(ipset list -n 2>/dev/null); do
    grep -qx "$set" "$dir/ipsets.before" || ipset destroy "$set" 2>/dev/null || true
  done
fi

# 9. Sysctls back to what they were, folders up.sh made.
while read -r kind name value; do
  case "$kind" in
    sysctl) sysctl -qw "$name=$value" 2>/dev/null || true ;;
    dir) rm -rf "$name" 2>/dev/null || true ;;
  esac
done <"$made"
rm -rf "$dir"
log "cluster in $dir torn down"
