#!/usr/bin/env bash
# Makes a development CA and a certificate per declared service with openssl, laid out as cert-manager lays out a
# Certificate's Secret (tls.crt, tls.key, ca.crt), in the git-ignored .lattice/certs/:
#
#   .lattice/certs/ca.crt, ca.key            the development CA (kept between runs: certificates stay trusted)
#   .lattice/certs/<service>/tls.crt, tls.key, ca.crt
#
# Each certificate is for servers and clients alike (mTLS), with the SANs the kit expects: DNS:<service> first (the
# name clients verify and `callers` rules match), DNS:localhost, IP:127.0.0.1 and
# URI:spiffe://lattice.dev/ns/dev/sa/<service>. Valid for 30 days; run again to renew (a running service picks the
# new files up within TLS_REFRESH_MS). --new-ca makes a new CA first. Never commit anything from this folder.
#
#   scripts/dev-certs.sh [--new-ca] [--out <dir>]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/services.sh"

out="$root/.lattice/certs"
new_ca=false
while [ $# -gt 0 ]; do
  case "$1" in
    --new-ca) new_ca=true ;;
    --out)
      [ $# -ge 2 ] || { echo "--out needs a folder" >&2; exit 2; }
      out="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1 (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done
command -v openssl >/dev/null || { echo "openssl is needed (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$out"
chmod 700 "$out"
trust_domain="lattice.dev"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ "$new_ca" = true ] || [ ! -f "$out/ca.crt" ] || [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days 365 -subj "/CN=Lattice development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$out/ca.key"
  echo "made a new development CA: $out/ca.crt"
fi

services=()
while IFS= read -r name; do services+=("$name"); done < <(declared_services "$root")
[ "${#services[@]}" -gt 0 ] || { echo "no declared services found under $root/services" >&2; exit 1; }

for service in "${services[@]}"; do
  dir="$out/$service"
  mkdir -p "$dir"
  cat >"$work/$service.ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:$service,DNS:localhost,IP:127.0.0.1,URI:spiffe://$trust_domain/ns/dev/sa/$service
EOF
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$work/$service.key" -out "$work/$service.csr" -subj "/CN=$service" 2>/dev/null
  openssl x509 -req -in "$work/$service.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -CAserial "$work/ca.srl" -days 30 -sha256 -extfile "$work/$service.ext" -out "$work/$service.crt" 2>/dev/null
  # Replaced by rename, as the kubelet swaps a mounted Secret: a running service never reads half a file.
  install -m 600 "$work/$service.key" "$dir/tls.key.new" && mv "$dir/tls.key.new" "$dir/tls.key"
  install -m 644 "$work/$service.crt" "$dir/tls.crt.new" && mv "$dir/tls.crt.new" "$dir/tls.crt"
  install -m 644 "$out/ca.crt" "$dir/ca.crt.new" && mv "$dir/ca.crt.new" "$dir/ca.crt"
  echo "  $service: $dir/tls.crt (DNS:$service, spiffe://$trust_domain/ns/dev/sa/$service)"
done

cat <<EOF

Turn mTLS on for a service with (its own folder; every service the same CA):
  TLS_MODE=mtls TLS_CERT_FILE=$out/<service>/tls.crt TLS_KEY_FILE=$out/<service>/tls.key \\
    TLS_CA_FILE=$out/<service>/ca.crt
or start everything with it: npm start -- --tls   (docs/security.md)
EOF
