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

/**
 * The header Linkerd's inbound proxy sets on every request that reached it over the mesh's mutual TLS: the client
 * workload's identity, "<service account>.<namespace>.serviceaccount.identity.<control plane namespace>.<trust
 * domain>". The proxy removes the header from every other request (linkerd2-proxy's inbound stack), so a workload
 * reached only through its proxy, over plaintext, can rely on it; anywhere else anyone can send it.
 */
export const LINKERD_CLIENT_ID_HEADER = "l5d-client-id";

const LINKERD_IDENTITY =
  /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.serviceaccount\.identity\.[-a-z0-9.]+$/;

/**
 * The caller's identity as Linkerd's proxy gives it in `l5d-client-id`: `service` is the ServiceAccount, and
 * dnsNames holds the whole identity (it names the namespace too); no URIs, no SPIFFE ID. undefined without the
 * header or when it does not have Linkerd's form. Trust it only as LINKERD_CLIENT_ID_HEADER says.
 */
export function linkerdClientIdentity(metadata: { get(key: string): unknown[] }): PeerIdentity | undefined {
  const [value] = metadata.get(LINKERD_CLIENT_ID_HEADER);
  if (typeof value !== "string") return undefined;
  const match = LINKERD_IDENTITY.exec(value);
  if (!match) return undefined;
  return { dnsNames: [value], uris: [], spiffeId: undefined, service: match[1] };
}

/** The part of grpc-js's (unexported) AuthContext the kit reads. */
export interface AuthContextLike {
  readonly sslPeerCertificate?: { readonly subjectaltname?: string } | undefined;
}

/** The verified identity of a server call's peer; undefined over plaintext or without a client certificate. */
export function identityOfAuthContext(auth: AuthContextLike | null | undefined): PeerIdentity | undefined {
  return parseSubjectAltName(auth?.sslPeerCertificate?.subjectaltname);
}
