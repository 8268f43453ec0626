#!/usr/bin/env bash
# Makes the test cluster's certificates and kubeconfigs with openssl, in DIR/pki and DIR/kubeconfig:
#   scripts/cluster/pki.sh DIR
# One CA signs every serving and client certificate (a test cluster that lives for one run); a separate key pair
# signs service account tokens. The aggregation layer's front proxy uses the same CA with its own allowed name.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || die "usage: pki.sh DIR"
dir="$1"
pki="$dir/pki"
mkdir -p "$pki" "$dir/kubeconfig"
command -v openssl >/dev/null || apt_install openssl

openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=lattice-cluster-ca" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null

# cert NAME SUBJECT [SANS]: a key and a certificate signed by the CA, for clients and (with SANs) servers.
cert() {
  local name="$1" subject="$2" sans="${3:-}"
  local ext="$pki/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 7 \
    -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}

apiserver_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
apiserver_sans+=",DNS:kubernetes.default.svc.$cluster_domain,DNS:localhost"
apiserver_sans+=",IP:$node_ip,IP:$kubernetes_service_ip,IP:127.0.0.1,IP:$local_ip"
cert apiserver "/CN=kube-apiserver" "$apiserver_sans"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
cert front-proxy-client "/CN=front-proxy-client"
cert kubelet "/CN=$node_name" "DNS:$node_name,IP:$node_ip"
cert admin "/O=system:masters/CN=lattice-admin"
cert controller-manager "/CN=system:kube-controller-manager"
cert scheduler "/CN=system:kube-scheduler"
cert node "/O=system:nodes/CN=system:node:$node_name"
cert proxy "/CN=system:kube-proxy"

# kubeconfig NAME CERT: a kubeconfig for the API server at the node address with that client certificate.
kubeconfig() {
  cat >"$dir/kubeconfig/$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: lattice
    cluster:
      server: https://$node_ip:6443
      certificate-authority: $pki/ca.crt
users:
  - name: $1
    user:
      client-certificate: $pki/$2.crt
      client-key: $pki/$2.key
contexts:
  - name: lattice
    context:
      cluster: lattice
      user: $1
current-context: lattice
KUBECONFIG
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kubelet node
kubeconfig kube-proxy proxy
chmod -R go-rwx "$pki"
