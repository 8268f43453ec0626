/**
 * Who is at the other end of a connection, as its TLS certificate says — a certificate the TLS handshake verified
 * against the configured CAs, so nothing here comes from what the peer merely claims in a header.
 */
export interface PeerIdentity {
  /** DNS names of the certificate's subjectAltName, in order, e.g. ["order", "order.lattice.svc"]. */
  readonly dnsNames: readonly string[];
  /** URIs of the certificate's subjectAltName, e.g. ["spiffe://cluster.local/ns/lattice/sa/order"]. */
  readonly uris: readonly string[];
  /** The first spiffe:// URI, if any. */
  readonly spiffeId: string | undefined;
  /**
   * The Lattice service the certificate was issued to: the service account of a SPIFFE ID of the Kubernetes form
   * (spiffe://<trust domain>/ns/<namespace>/sa/<name>), else the first label of the first DNS name (the chart and
   * `scripts/dev-certs.sh` put the bare service name first). What method policies' `callers` are matched against.
   */
  readonly service: string | undefined;
}

const SPIFFE_SERVICE_ACCOUNT = /^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/([^/]+)$/;

/**
 * The identity in a certificate's subjectAltName as Node prints it ("DNS:order, URI:spiffe://…, IP Address:…");
 * undefined when it names neither a DNS name nor a URI. Values containing a comma are quoted by Node and
 * skipped here (no Lattice identity has one).
 */
export function parseSubjectAltName(subjectAltName: string | undefined): PeerIdentity | undefined {
  if (!subjectAltName) return undefined;
  const dnsNames: string[] = [];
  const uris: string[] = [];
  for (const entry of subjectAltName.split(", ")) {
    if (entry.startsWith("DNS:")) dnsNames.push(entry.slice(4));
    else if (entry.startsWith("URI:")) uris.push(entry.slice(4));
  }
  if (dnsNames.length === 0 && uris.length === 0) return undefined;
  const spiffeId = uris.find((uri) => uri.startsWith("spiffe://"));
  const service = SPIFFE_SERVICE_ACCOUNT.exec(spiffeId ?? "")?.[1] ?? dnsNames[0]?.split(".")[0];
  return { dnsNames, uris, spiffeId, service };
}

/**
 * True when `identity` is one of `callers`: a service name (compared with identity.service) or a full SPIFFE ID
 * (compared with identity.spiffeId).
 */
export function isCaller(identity: PeerIdentity | undefined, callers: readonly string[]): boolean {
  if (!identity) return false;
  return callers.some((caller) =>
    caller.startsWith("spiffe://") ? caller === identity.spiffeId : caller === identity.service,
  );
}

/** The part of grpc-js's (unexported) AuthContext the kit reads. */
export interface AuthContextLike {
  readonly sslPeerCertificate?: { readonly subjectaltname?: string } | undefined;
}

/** The verified identity of a server call's peer; undefined over plaintext or without a client certificate. */
export function identityOfAuthContext(auth: AuthContextLike | null | undefined): PeerIdentity | undefined {
  return parseSubjectAltName(auth?.sslPeerCertificate?.subjectaltname);
}
