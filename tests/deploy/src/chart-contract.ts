import { declarationOf, declarations, peerAddressesOf, type ServiceName } from "./declarations.js";
import type { Container, Deployment, GrpcProbe, Manifest } from "./manifests.js";

export type { ServiceName } from "./declarations.js";

/** The services the chart deploys: every declared service. */
export const serviceNames: readonly ServiceName[] = declarations.map((declaration) => declaration.name);

/** The fully-qualified gRPC services a service serves and answers health for: its declared grpcServices. */
export const grpcServicesOf = (service: ServiceName): readonly string[] => declarationOf(service).grpcServices;

/**
 * The keys a Secret made outside the chart (a service's existingSecret) must hold: DATABASE_URL when the service
 * declares a database, NATS_URL when it declares events. Their values are cluster-only and replaced in local runs
 * anyway.
 */
export function externalSecretKeysOf(service: ServiceName): string[] {
  const declaration = declarationOf(service);
  return [...(declaration.database ? ["DATABASE_URL"] : []), ...(declaration.events ? ["NATS_URL"] : [])];
}

/** Every setting that holds a peer's gRPC target, with the service it names (from every declaration's calls). */
export const peerAddressVariables: Readonly<Record<string, ServiceName>> = Object.fromEntries(
  declarations.flatMap((declaration) =>
    peerAddressesOf(declaration.name).map(({ variable, peer }) => [variable, peer]),
  ),
);

export type ProbeKind = "startupProbe" | "readinessProbe" | "livenessProbe";
export const probeKinds: readonly ProbeKind[] = ["startupProbe", "readinessProbe", "livenessProbe"];

/** A probe with the kubelet's defaults filled in (k8s.io/api core/v1 Probe). */
export interface ProbeTiming {
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

export function probeTiming(probe: GrpcProbe): ProbeTiming {
  return {
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** The `sleep N` of a preStop exec hook, in seconds. */
export function preStopSleepSeconds(container: Container): number {
  const command = container.lifecycle?.preStop?.exec?.command;
  if (!command || command.length !== 2 || command[0] !== "sleep") {
    throw new Error(
      `container ${container.name}: preStop is not exec ["sleep", "<n>"] (got ${JSON.stringify(command)})`,
    );
  }
  const seconds = Number(command[1]);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(`container ${container.name}: preStop sleep ${command[1]}`);
  return seconds;
}

/** The kubelet's default grace period when the pod spec sets none. */
export const terminationGraceSeconds = (deployment: Deployment): number =>
  deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;

/** The Services whose selector picks this service's pods. */
export function servicesSelecting(manifests: readonly Manifest[], service: string): Manifest[] {
  return manifests.filter((manifest) => {
    if (manifest.kind !== "Service") return false;
    const selector = (manifest.spec as { selector?: Record<string, string> } | undefined)?.selector;
    return selector?.["app.kubernetes.io/name"] === service;
  });
}

export const isHeadless = (service: Manifest): boolean =>
  (service.spec as { clusterIP?: string } | undefined)?.clusterIP === "None";

/** The host a gRPC target names: `user:50051`, `dns:///user.ns.svc.cluster.local:50051` → user. */
export function targetServiceName(target: string): {
  readonly scheme: string;
  readonly name: string;
  readonly port: number;
} {
  const match = /^(?:(dns):\/\/[^/]*\/)?([a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(\d+)$/.exec(target);
  if (!match) throw new Error(`${target} is not a gRPC target of the form [dns:///]host:port`);
  return { scheme: match[1] ?? "", name: match[2]!, port: Number(match[3]) };
}
