import { BlockList, isIP } from "node:net";
import { ofKind, type Manifest } from "./manifests.js";

/**
 * A model of how Linkerd (2.19) decides whether a gRPC request may reach a meshed pod, read from the rendered policy
 * objects, so the chart's authorization can be checked method by method without a cluster:
 *
 * 1. The request's route: of the GRPCRoutes attached to the port's Server, the one whose match is most specific
 *    (Gateway API precedence: the longest matching service name, then method name); a rule without matches matches
 *    every request. A Server with no GRPCRoute has one default route for everything. No matching route: refused.
 * 2. The route's authorizations: the AuthorizationPolicies that target the route, plus those that target the Server
 *    or the namespace: Linkerd's proxy adds a Server's authorizations to every route of it.
 * 3. Allowed when one of them has every required authentication matching the client: a MeshTLSAuthentication
 *    (ServiceAccounts, or identity names, `*` for any meshed client) and a NetworkAuthentication (CIDRs).
 *
 * Only gRPC Servers (proxyProtocol gRPC) are modelled, and HTTPRoutes are ignored, as Linkerd ignores them on such
 * Servers. This is a model of Linkerd's behaviour, written from its documentation and source, not Linkerd: whether
 * a cluster enforces the same is not checked here.
 */

/** Who calls: a meshed workload (its ServiceAccount and namespace), an address (meshed or not), or both. */
export interface MeshClient {
  readonly serviceAccount?: string;
  readonly namespace?: string;
  readonly address?: string;
}

interface Ref {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

interface GrpcMethodMatch {
  readonly type?: string;
  readonly service?: string;
  readonly method?: string;
}

interface GrpcRouteSpec {
  readonly parentRefs?: readonly Ref[];
  readonly rules?: readonly { readonly matches?: readonly { readonly method?: GrpcMethodMatch }[] }[];
}

/** Linkerd's identity of a ServiceAccount under the default trust domain. */
const identityOf = (serviceAccount: string, namespace: string) =>
  `${serviceAccount}.${namespace}.serviceaccount.identity.linkerd.cluster.local`;

/**
 * The GRPCRoute (by name) that a request for `path` ("/pkg.Service/Method") on Server `server` takes; "default"
 * when no GRPCRoute is attached to it; undefined when routes are attached and none matches.
 */
export function routeOf(manifests: readonly Manifest[], server: string, path: string): string | undefined {
  const [, service = "", method = ""] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  const attached = ofKind(manifests, "GRPCRoute").filter((route) =>
    ((route.spec as GrpcRouteSpec).parentRefs ?? []).some(
      (parent) => parent.kind === "Server" && parent.group === "policy.linkerd.io" && parent.name === server,
    ),
  );
  if (attached.length === 0) return "default";
  let best: { name: string; score: [number, number] } | undefined;
  for (const route of attached) {
    for (const rule of (route.spec as GrpcRouteSpec).rules ?? []) {
      const matches = rule.matches?.length ? rule.matches : [{}];
      for (const match of matches) {
        const wanted = match.method ?? {};
        if (wanted.type !== undefined && wanted.type !== "Exact") continue; // RegularExpression: not used here
        if (wanted.service !== undefined && wanted.service !== service) continue;
        if (wanted.method !== undefined && wanted.method !== method) continue;
        const score: [number, number] = [wanted.service?.length ?? 0, wanted.method?.length ?? 0];
        const better = !best || score[0] > best.score[0] || (score[0] === best.score[0] && score[1] > best.score[1]);
        if (better) best = { name: route.metadata.name, score };
      }
    }
  }
  return best?.name;
}

/** Whether Linkerd lets `client` call `path` on the pods of Server `server` (see the module's description). */
export function meshAllows(
  manifests: readonly Manifest[],
  server: string,
  path: string,
  client: MeshClient,
  namespace: string,
): boolean {
  const route = routeOf(manifests, server, path);
  if (route === undefined) return false;
  const applies = (target: Ref) =>
    (target.kind === "Server" && target.group === "policy.linkerd.io" && target.name === server) ||
    (target.kind === "Namespace" && target.name === namespace) ||
    (target.kind === "GRPCRoute" && target.group === "gateway.networking.k8s.io" && target.name === route);
  return ofKind(manifests, "AuthorizationPolicy").some((policy) => {
    const spec = policy.spec as { targetRef: Ref; requiredAuthenticationRefs?: readonly Ref[] };
    if (!applies(spec.targetRef)) return false;
    const required = spec.requiredAuthenticationRefs ?? [];
    return required.length > 0 && required.every((ref) => authenticates(manifests, ref, client, namespace));
  });
}

function authenticates(manifests: readonly Manifest[], ref: Ref, client: MeshClient, namespace: string): boolean {
  const authentication = ofKind(manifests, ref.kind).find((m) => m.metadata.name === ref.name);
  if (!authentication) return false;
  if (ref.kind === "MeshTLSAuthentication") {
    if (client.serviceAccount === undefined) return false;
    const clientNamespace = client.namespace ?? namespace;
    const spec = authentication.spec as { identities?: readonly string[]; identityRefs?: readonly Ref[] };
    const identity = identityOf(client.serviceAccount, clientNamespace);
    const byName = (spec.identities ?? []).some(
      (name) => name === "*" || name === identity || (name.startsWith("*.") && identity.endsWith(name.slice(1))),
    );
    const byRef = (spec.identityRefs ?? []).some(
      (id) =>
        (id.kind === "ServiceAccount" &&
          id.name === client.serviceAccount &&
          (id.namespace ?? namespace) === clientNamespace) ||
        (id.kind === "Namespace" && id.name === clientNamespace),
    );
    return byName || byRef;
  }
  if (ref.kind === "NetworkAuthentication") {
    const family = client.address === undefined ? 0 : isIP(client.address);
    if (family === 0) return false;
    const networks = (authentication.spec as { networks?: readonly { cidr: string }[] }).networks ?? [];
    return networks.some(({ cidr }) => {
      const [base = "", prefix = ""] = cidr.split("/");
      if (isIP(base) !== family) return false;
      const list = new BlockList();
      list.addSubnet(base, Number(prefix), family === 4 ? "ipv4" : "ipv6");
      return list.check(client.address!, family === 4 ? "ipv4" : "ipv6");
    });
  }
  return false;
}
