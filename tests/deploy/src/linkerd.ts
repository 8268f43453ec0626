import { ofKind, type Deployment, type Manifest } from "./manifests.js";

/**
 * Linkerd's policy resources get no schema here (their CRDs ship only in the linkerd2 repository, which no package
 * registry serves), so kubeconform skips exactly these kinds and this module checks them instead: the fields each
 * spec may have (from Linkerd's documented policy API) and that every reference points at a rendered object.
 * Weaker than schema validation, and said so in docs/notes/verify.md.
 */
export const linkerdKinds: Readonly<
  Record<string, { readonly apiVersion: string; readonly specFields: readonly string[] }>
> = {
  Server: {
    apiVersion: "policy.linkerd.io/v1beta3",
    specFields: ["podSelector", "externalWorkloadSelector", "port", "proxyProtocol", "accessPolicy"],
  },
  AuthorizationPolicy: {
    apiVersion: "policy.linkerd.io/v1alpha1",
    specFields: ["targetRef", "requiredAuthenticationRefs"],
  },
  MeshTLSAuthentication: { apiVersion: "policy.linkerd.io/v1alpha1", specFields: ["identities", "identityRefs"] },
  NetworkAuthentication: { apiVersion: "policy.linkerd.io/v1alpha1", specFields: ["networks"] },
};

/** kubeconform -skip entries (group/version/Kind) for the kinds above. */
export const linkerdSkipList = Object.entries(linkerdKinds).map(([kind, { apiVersion }]) => `${apiVersion}/${kind}`);

const proxyProtocols = ["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"];

interface Ref {
  readonly group?: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

const podLabels = (deployment: Deployment) => deployment.spec.template.metadata?.labels ?? {};

/** The workloads (Deployments, StatefulSets, DaemonSets) whose pods a label selector (matchLabels only) picks. */
export function selectedDeployments(manifests: readonly Manifest[], selector: unknown): Deployment[] {
  const matchLabels = (selector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels ?? {};
  const workloads = manifests.filter((m) => ["Deployment", "StatefulSet", "DaemonSet"].includes(m.kind));
  return (workloads as Deployment[]).filter((deployment) =>
    Object.entries(matchLabels).every(([key, value]) => podLabels(deployment)[key] === value),
  );
}

/** What an AuthorizationPolicy may target in Linkerd 2.19, by kind: the group it must name. */
const policyTargets: Readonly<Record<string, string | undefined>> = {
  Server: "policy.linkerd.io",
  HTTPRoute: "policy.linkerd.io",
  GRPCRoute: "gateway.networking.k8s.io",
  Namespace: undefined,
};

/**
 * Problems with the rendered Linkerd policy objects, and with the Gateway API GRPCRoutes attached to Linkerd
 * Servers (their schema is checked by kubeconform; what it cannot see is checked here); empty when all is well.
 */
export function linkerdProblems(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const exists = (ref: Ref) =>
    manifests.some((m) => m.kind === ref.kind && m.metadata.name === ref.name && ref.namespace === undefined);
  for (const route of manifests.filter((m) => m.kind === "GRPCRoute")) {
    const where = `GRPCRoute/${route.metadata.name}`;
    const parents = (route.spec as { parentRefs?: Ref[] } | undefined)?.parentRefs ?? [];
    if (parents.length === 0) problems.push(`${where}: no parentRefs`);
    for (const parent of parents) {
      if (parent.kind !== "Server" || parent.group !== "policy.linkerd.io") continue; // a Service: outbound policy
      const server = manifests.find((m) => m.kind === "Server" && m.metadata.name === parent.name);
      if (!server) problems.push(`${where}: parent Server/${parent.name} is not rendered`);
      // Linkerd serves a Server's GRPCRoutes only when the Server speaks gRPC; on any other it ignores them.
      else if ((server.spec as { proxyProtocol?: string }).proxyProtocol !== "gRPC")
        problems.push(`${where}: parent Server/${parent.name} is not proxyProtocol gRPC, so the route is ignored`);
    }
  }
  for (const manifest of manifests) {
    const known = linkerdKinds[manifest.kind];
    if (!manifest.apiVersion.startsWith("policy.linkerd.io/")) continue;
    const where = `${manifest.kind}/${manifest.metadata.name}`;
    if (!known || known.apiVersion !== manifest.apiVersion) {
      problems.push(`${where}: unexpected ${manifest.apiVersion} ${manifest.kind}`);
      continue;
    }
    const extra = Object.keys(manifest).filter((key) => !["apiVersion", "kind", "metadata", "spec"].includes(key));
    const spec = (manifest.spec ?? {}) as Record<string, unknown>;
    extra.push(...Object.keys(spec).filter((key) => !known.specFields.includes(key)));
    if (extra.length > 0) problems.push(`${where}: unknown fields ${extra.join(", ")}`);

    if (manifest.kind === "Server") {
      const pods = selectedDeployments(manifests, spec.podSelector);
      if (pods.length === 0) problems.push(`${where}: podSelector selects no rendered Deployment`);
      const port = spec.port;
      for (const deployment of pods) {
        const ports = deployment.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
        const found = ports.some((p) => (typeof port === "number" ? p.containerPort === port : p.name === port));
        if (!found) problems.push(`${where}: port ${String(port)} is not a port of ${deployment.metadata.name}`);
      }
      const protocol = spec.proxyProtocol;
      if (protocol !== undefined && !(typeof protocol === "string" && proxyProtocols.includes(protocol))) {
        problems.push(`${where}: proxyProtocol ${JSON.stringify(protocol)}`);
      }
    }
    if (manifest.kind === "AuthorizationPolicy") {
      const target = spec.targetRef as Ref | undefined;
      if (!target) problems.push(`${where}: no targetRef`);
      else if (!(target.kind in policyTargets) || policyTargets[target.kind] !== target.group) {
        problems.push(`${where}: Linkerd cannot authorize a ${target.kind} of group ${String(target.group)}`);
      } else if (target.kind !== "Namespace" && !exists(target)) {
        problems.push(`${where}: targetRef ${target.kind}/${target.name} is not rendered`);
      }
      const refs = (spec.requiredAuthenticationRefs ?? []) as Ref[];
      for (const ref of refs) {
        if (!exists(ref)) problems.push(`${where}: requiredAuthenticationRef ${ref.kind}/${ref.name} is not rendered`);
      }
    }
    if (manifest.kind === "MeshTLSAuthentication") {
      for (const id of (spec.identityRefs ?? []) as Ref[]) {
        const extra = Object.keys(id).filter((key) => !["group", "kind", "name", "namespace"].includes(key));
        if (!["ServiceAccount", "Namespace"].includes(id.kind) || extra.length > 0 || !id.name)
          problems.push(`${where}: identityRef ${JSON.stringify(id)}`);
      }
    }
  }
  return problems;
}

/**
 * Under a default-deny inbound policy the kubelet's probes (plain connections from the node, no mesh identity) are
 * refused unless the probe port is authorized for a network: the Servers on `port` of this service's pods that an
 * AuthorizationPolicy opens to a NetworkAuthentication.
 */
export function unauthenticatedAccessTo(
  manifests: readonly Manifest[],
  deployment: Deployment,
  port: number,
): string[] {
  const portNames = deployment.spec.template.spec.containers
    .flatMap((c) => c.ports ?? [])
    .filter((p) => p.containerPort === port)
    .map((p) => p.name);
  const servers = ofKind(manifests, "Server").filter((server) => {
    const spec = server.spec as { podSelector?: unknown; port?: unknown };
    const selects = selectedDeployments(manifests, spec.podSelector).includes(deployment);
    return selects && (spec.port === port || portNames.includes(spec.port as string));
  });
  return servers
    .filter((server) =>
      ofKind(manifests, "AuthorizationPolicy").some((policy) => {
        const spec = policy.spec as { targetRef?: Ref; requiredAuthenticationRefs?: Ref[] };
        return (
          spec.targetRef?.kind === "Server" &&
          spec.targetRef.name === server.metadata.name &&
          (spec.requiredAuthenticationRefs ?? []).some((ref) => ref.kind === "NetworkAuthentication")
        );
      }),
    )
    .map((server) => server.metadata.name);
}
