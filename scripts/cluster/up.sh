#!/usr/bin/env bash
# Brings up a single-node Kubernetes cluster for the tests, everything in DIR (root only):
#   scripts/cluster/up.sh DIR [IMAGE...]   prints the path of DIR/env.sh (KUBECONFIG, PATH, …) on success
# IMAGEs (e.g. localhost/lattice/order:dev) are copied from podman's storage into the cluster's containerd.
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd (runc, CNI bridge), kubelet, kube-proxy
# (iptables), kube-router's network policy controller, and CoreDNS and metrics-server as Deployments. Every daemon runs in a session of its own, its PID in DIR/pids; every
# link, sysctl and iptables chain made is written to DIR/made so that scripts/cluster/down.sh DIR removes exactly
# that, also after a failure half way (run it on EXIT).
# The cluster talks only to this machine: the node address sits on an empty bridge made here, pods on a CNI
# bridge made here, nothing is masqueraded off the host, a filter chain rejects anything forwarded from the pods
# or sent to a service address that kube-proxy did not translate, node ports listen on the node address only, and
# CoreDNS answers cluster names only (no `forward`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || die "usage: up.sh DIR [IMAGE...]"
[ "$(id -u)" -eq 0 ] || die "run as root: the kubelet, containerd and kube-proxy need it"
mkdir -p "$1"
dir="$(cd "$1" && pwd)"
shift
images=("$@")
started=$SECONDS

for command in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl coredns metrics-server \
  kube-router; do
  [ -x "$cluster_bin/$command" ] || die "$cluster_bin/$command is missing: run scripts/cluster/build.sh first"
done
for command in containerd ctr runc etcd iptables ip curl; do
  command -v "$command" >/dev/null || die "$command is missing: run scripts/cluster/tools.sh first"
done
ip link show "$node_bridge" >/dev/null 2>&1 && die "$node_bridge exists: another test cluster is running (or was not torn down)"
[ -d /sys/fs/cgroup/memory/kubepods ] && die "the cgroup kubepods exists: another kubelet runs on this machine"

mkdir -p "$dir/logs" "$dir/etcd" "$dir/containerd" "$dir/cni/net.d" "$dir/cni/ipam" "$dir/kubelet" "$dir/pod-logs"
: >"$(pids_file "$dir")"
made="$dir/made"
: >"$made"
note() { printf '%s\n' "$*" >>"$made"; }

# start NAME COMMAND...: a daemon in a session of its own (so an interrupt of the caller does not kill it
# before the orderly teardown), its output in DIR/logs/NAME.log.
start() {
  local name="$1"
  shift
  setsid "$@" </dev/null >"$dir/logs/$name.log" 2>&1 &
  printf '%s %s\n' "$name" "$!" >>"$(pids_file "$dir")"
}
running() { kill -0 "$(awk -v n="$1" '$1 == n { print $2 }' "$(pids_file "$dir")")" 2>/dev/null; }
fail() {
  local name="$1"
  shift
  echo "---- last lines of $dir/logs/$name.log" >&2
  tail -n 25 "$dir/logs/$name.log" >&2 || true
  die "$*"
}

# What was there before, so the teardown removes only what the cluster added.
ip netns list 2>/dev/null | awk '{ print $1 }' >"$dir/netns.before"
for family in iptables ip6tables; do
  "$family-save" 2>/dev/null | awk -v f="$family" '/^:KUBE-/ { print f " " $1 }'
done | sort -u >"$dir/chains.before"
ipset list -n 2>/dev/null | sort -u >"$dir/ipsets.before"
[ -d /run/containerd ] || note "dir /run/containerd"
[ -d /var/lib/cni ] || note "dir /var/lib/cni"
[ -d /var/log/containers ] || note "dir /var/log/containers"

# Sysctls the cluster needs or the kubelet sets (it sets the kernel's panic and overcommit defaults when
# protectKernelDefaults is off): the old values are restored by the teardown.
for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory kernel.panic \
  kernel.panic_on_oops vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes; do
  note "sysctl $key $(sysctl -n "$key")"
done
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1

# The node address, on an empty bridge.
ip link add "$node_bridge" type bridge
note "link $node_bridge"
ip addr add "$node_ip/32" dev "$node_bridge"
ip link set "$node_bridge" up

# The guard: pods may reach pods and this machine's own addresses only; a service address that kube-proxy did not
# translate goes nowhere. In FORWARD and OUTPUT ahead of everything else.
iptables -N "$guard_chain"
note "chain $guard_chain"
iptables -A "$guard_chain" -s "$pod_cidr" -d "$pod_cidr" -j RETURN
iptables -A "$guard_chain" -s "$pod_cidr" -j REJECT --reject-with icmp-net-prohibited
iptables -A "$guard_chain" -d "$service_cidr" -j REJECT --reject-with icmp-net-prohibited
iptables -A "$guard_chain" -s "$node_ip" -d "$pod_cidr" -j RETURN
iptables -A "$guard_chain" -s "$node_ip" -m addrtype --dst-type LOCAL -j RETURN
iptables -A "$guard_chain" -s "$node_ip" -j REJECT --reject-with icmp-net-prohibited
iptables -I FORWARD 1 -j "$guard_chain"
iptables -I OUTPUT 1 -j "$guard_chain"

bash "$(dirname "$0")/pki.sh" "$dir"
pki="$dir/pki"
kc="$dir/kubeconfig"

# etcd, on the cluster's own loopback address.
start etcd etcd --name lattice --data-dir "$dir/etcd" \
  --listen-client-urls "http://$local_ip:2379" --advertise-client-urls "http://$local_ip:2379" \
  --listen-peer-urls "http://$local_ip:2380" --initial-advertise-peer-urls "http://$local_ip:2380" \
  --initial-cluster "lattice=http://$local_ip:2380" --listen-metrics-urls "http://$local_ip:2381"
wait_for etcd 60 curl -fsS "http://$local_ip:2379/health" || fail etcd "etcd did not start"

start kube-apiserver "$cluster_bin/kube-apiserver" \
  --etcd-servers "http://$local_ip:2379" \
  --advertise-address "$node_ip" --bind-address "$node_ip" --secure-port 6443 \
  --service-cluster-ip-range "$service_cidr" --service-node-port-range 30000-32767 \
  --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$pki/apiserver-kubelet-client.key" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer "https://kubernetes.default.svc.$cluster_domain" \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --authorization-mode Node,RBAC --allow-privileged=true --profiling=false \
  --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
  --enable-aggregator-routing=true
# The controller manager needs the RBAC bootstrap done: wait for /readyz, not just the port.
wait_for kube-apiserver 120 curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
  "https://$node_ip:6443/readyz" || fail kube-apiserver "kube-apiserver did not become ready"

start kube-controller-manager "$cluster_bin/kube-controller-manager" \
  --kubeconfig "$kc/controller-manager" --authentication-kubeconfig "$kc/controller-manager" \
  --authorization-kubeconfig "$kc/controller-manager" --bind-address "$local_ip" --leader-elect=false \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" --root-ca-file "$pki/ca.crt" \
  --service-account-private-key-file "$pki/sa.key" --use-service-account-credentials=true \
  --allocate-node-cidrs=false --profiling=false
start kube-scheduler "$cluster_bin/kube-scheduler" \
  --kubeconfig "$kc/scheduler" --authentication-kubeconfig "$kc/scheduler" --authorization-kubeconfig "$kc/scheduler" \
  --bind-address "$local_ip" --leader-elect=false --profiling=false

# containerd: its own socket, root and state; CRI with runc, cgroupfs, the CNI bridge, the sandbox image imported
# below (never pulled). Root cannot lower its OOM score here, hence restrict_oom_score_adj.
cat >"$dir/cni/net.d/10-lattice.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$pod_bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$pod_cidr", "gateway": "$pod_gateway" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$dir/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
note "link $pod_bridge"
cat >"$dir/containerd/config.toml" <<TOML
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$dir/containerd/containerd.sock"
[ttrpc]
  address = "$dir/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox_image"
  restrict_oom_score_adj = true
  stream_server_address = "$local_ip"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
    max_conf_num = 1
TOML
start containerd containerd --config "$dir/containerd/config.toml"
ctr_() { ctr --address "$dir/containerd/containerd.sock" "$@"; }
wait_for containerd 60 ctr_ version || fail containerd "containerd did not start"

# The xDS control plane (xds/, built by scripts/xds/build.sh) as an image, when LATTICE_XDS_SERVER names its binary:
# the tests run it in the cluster for the chart's xds mode. Tagged by the binary's content.
xds_image=""
if [ -n "${LATTICE_XDS_SERVER:-}" ]; then
  [ -x "$LATTICE_XDS_SERVER" ] || die "LATTICE_XDS_SERVER=$LATTICE_XDS_SERVER is not a program"
  xds_image="localhost/lattice-cluster/lattice-xds:$(sha256sum "$LATTICE_XDS_SERVER" | cut -c1-12)"
  images+=("$xds_image")
fi
# The sandbox (pause) image, CoreDNS and the images the caller named, from podman's storage into containerd's.
bash "$(dirname "$0")/images.sh" "$dir" "$sandbox_image" "$coredns_image" "$metrics_server_image" "${images[@]}"

cat >"$dir/resolv.conf" <<RESOLV
# The node's resolver for pods with dnsPolicy Default: nothing answers here, so no name leaves the cluster.
nameserver 127.0.0.1
RESOLV
cat >"$dir/kubelet/config.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: $local_ip
healthzPort: 10248
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$dir/containerd/containerd.sock
cgroupDriver: cgroupfs
# This host runs cgroup v1; Kubernetes 1.33 still supports it when told so.
failCgroupV1: false
failSwapOn: false
clusterDomain: $cluster_domain
clusterDNS: [$dns_service_ip]
resolvConf: $dir/resolv.conf
# Root cannot lower OOM scores here; the hard limit of open files is what there is.
oomScoreAdj: 0
maxOpenFiles: $(ulimit -Hn)
volumePluginDir: $dir/kubelet/volume-plugins
podLogsDir: $dir/pod-logs
makeIPTablesUtilChains: false
# Pod syncs every 10 s (1 min by default): a renewed certificate Secret reaches the pods' mounts within seconds.
syncFrequency: 10s
serializeImagePulls: false
# Images are imported, never pulled: garbage collection must not remove them, and a shared disk must not evict.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
KUBELET
start kubelet "$cluster_bin/kubelet" --config "$dir/kubelet/config.yaml" --kubeconfig "$kc/kubelet" \
  --root-dir "$dir/kubelet" --cert-dir "$dir/kubelet/pki" --hostname-override "$node_name" --node-ip "$node_ip" --v 1
note "cgroup kubepods"

export KUBECONFIG="$kc/admin"
kubectl_() { "$cluster_bin/kubectl" "$@"; }
wait_for "node $node_name" 120 kubectl_ get node "$node_name" || fail kubelet "the kubelet did not register the node"
kubectl_ wait --for condition=Ready "node/$node_name" --timeout 120s >/dev/null || fail kubelet "the node is not Ready"

cat >"$dir/kube-proxy.yaml" <<PROXY
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $kc/kube-proxy
hostnameOverride: $node_name
bindAddress: $node_ip
healthzBindAddress: $local_ip:10256
metricsBindAddress: $local_ip:10249
mode: iptables
clusterCIDR: $pod_cidr
# Node ports on the node address only, never on the machine's other interfaces.
nodePortAddresses: [$node_ip/32]
# Leave the machine's conntrack limits as they are.
conntrack:
  maxPerCore: 0
PROXY
start kube-proxy "$cluster_bin/kube-proxy" --config "$dir/kube-proxy.yaml"
wait_for kube-proxy 60 curl -fsS "http://$local_ip:10256/healthz" || fail kube-proxy "kube-proxy did not become healthy"

# NetworkPolicy: the bridge CNI enforces none, so kube-router runs as the node's policy controller alone (no routing,
# no service proxy, no CNI of its own): iptables chains and ipsets that admit exactly what the policies allow.
start kube-router "$cluster_bin/kube-router" --kubeconfig "$kc/admin" --hostname-override "$node_name" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false --enable-ipv6=false \
  --health-port 0 --metrics-port 0 --v 1
policy_chain() { iptables -S KUBE-ROUTER-FORWARD >/dev/null 2>&1 && running kube-router; }
wait_for "kube-router's policy controller" 60 policy_chain || fail kube-router "kube-router did not set up its chains"

# CoreDNS: cluster names only.
sed -e "s|@IMAGE@|$coredns_image|g" -e "s|@DNS_IP@|$dns_service_ip|g" -e "s|@DOMAIN@|$cluster_domain|g" \
  "$(dirname "$0")/manifests/coredns.yaml" | kubectl_ apply -f - >/dev/null
kubectl_ -n kube-system rollout status deploy/coredns --timeout 120s >/dev/null ||
  { kubectl_ -n kube-system describe pods -l k8s-app=kube-dns >&2; die "CoreDNS did not become ready"; }

# metrics-server: resource metrics for HorizontalPodAutoscalers (the chart's autoscaled value sets need it).
sed -e "s|@IMAGE@|$metrics_server_image|g" "$(dirname "$0")/manifests/metrics-server.yaml" | kubectl_ apply -f - >/dev/null
kubectl_ -n kube-system rollout status deploy/metrics-server --timeout 120s >/dev/null ||
  { kubectl_ -n kube-system describe pods -l k8s-app=metrics-server >&2; die "metrics-server did not become ready"; }
kubectl_ wait --for condition=Available apiservice/v1beta1.metrics.k8s.io --timeout 60s >/dev/null ||
  die "the metrics.k8s.io API is not available"

cat >"$dir/env.sh" <<ENV
export KUBECONFIG='$kc/admin'
export PATH='$cluster_bin':"\$PATH"
export LATTICE_CLUSTER_DIR='$dir'
export LATTICE_KUBECTL='$cluster_bin/kubectl'
export LATTICE_SKAFFOLD='$cluster_bin/skaffold'
export LATTICE_CLUSTER_NODE_IP='$node_ip'
export LATTICE_CLUSTER_CONTAINERD='$dir/containerd/containerd.sock'
export LATTICE_XDS_IMAGE='$xds_image'
export LATTICE_CLUSTER_NETWORK_POLICY='kube-router'
ENV
log "cluster up in $((SECONDS - started)) s (Kubernetes $KUBERNETES_VERSION, node $node_name at $node_ip)"
echo "$dir/env.sh"
