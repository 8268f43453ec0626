import type { Container, Deployment, GrpcProbe, Manifest } from "./manifests.js";

/** The services the chart deploys and the fully-qualified gRPC service each one answers health for. */
export const services = {
  greeter: "lattice.greeter.v1.GreeterService",
  user: "lattice.user.v1.UserService",
  payment: "lattice.payment.v1.PaymentService",
  order: "lattice.order.v1.OrderService",
} as const;
export type ServiceName = keyof typeof services;
export const serviceNames = Object.keys(services) as ServiceName[];

/**
 * Secrets the chart may expect to exist already (a service's existingSecret): the keys the contract says they hold.
 * Their values are cluster-only and replaced in local runs anyway.
 */
export const externalSecretKeys: Readonly<Record<ServiceName, readonly string[]>> = {
  greeter: [],
  user: ["DATABASE_URL"],
  payment: ["DATABASE_URL", "NATS_URL"],
  order: ["DATABASE_URL", "NATS_URL"],
};

/** order calls these peers; the env variable holding each peer's gRPC target. */
export const peerAddressVariables = { USER_SERVICE_ADDRESS: "user", PAYMENT_SERVICE_ADDRESS: "payment" } as const;

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
