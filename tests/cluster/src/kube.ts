import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { clusterEnv, nodeIp } from "./env.js";
import { run, runOk, type RunOptions, type RunResult } from "./run.js";

/** kubectl of the cluster's own release, against the test cluster. */
export const kubectl = (args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
  run(clusterEnv("LATTICE_KUBECTL"), ["--kubeconfig", clusterEnv("KUBECONFIG"), ...args], {
    timeoutMs: 120_000,
    ...options,
  });

export const kubectlOk = (args: readonly string[], options: RunOptions = {}): Promise<string> =>
  runOk(clusterEnv("LATTICE_KUBECTL"), ["--kubeconfig", clusterEnv("KUBECONFIG"), ...args], {
    timeoutMs: 120_000,
    ...options,
  });

/** `kubectl get -o json` of one object or a list. */
export async function getJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectlOk(["get", ...args, "-o", "json"])) as T;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface ContainerStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly started?: boolean;
  readonly state?: {
    readonly waiting?: { readonly reason?: string };
    readonly running?: { readonly startedAt: string };
    readonly terminated?: { readonly reason?: string; readonly exitCode: number; readonly finishedAt?: string };
  };
  readonly lastState?: ContainerStatus["state"];
}

export interface Probe {
  readonly grpc?: { readonly port: number; readonly service?: string };
  readonly httpGet?: unknown;
  readonly exec?: unknown;
  readonly tcpSocket?: unknown;
  readonly periodSeconds?: number;
  readonly failureThreshold?: number;
}

export interface Pod {
  readonly metadata: {
    readonly name: string;
    readonly uid: string;
    readonly labels?: Record<string, string>;
    readonly deletionTimestamp?: string;
  };
  readonly spec: {
    readonly nodeName?: string;
    readonly containers: {
      readonly name: string;
      readonly image: string;
      readonly imagePullPolicy?: string;
      readonly startupProbe?: Probe;
      readonly readinessProbe?: Probe;
      readonly livenessProbe?: Probe;
    }[];
  };
  readonly status: {
    readonly phase: string;
    readonly podIP?: string;
    readonly conditions?: Condition[];
    readonly containerStatuses?: ContainerStatus[];
  };
}

export interface List<T> {
  readonly items: T[];
}

export const pods = async (namespace: string, selector?: string): Promise<Pod[]> =>
  (await getJson<List<Pod>>(["pods", "-n", namespace, ...(selector ? ["-l", selector] : [])])).items;

export const isReady = (pod: Pod): boolean =>
  pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

export interface Event {
  readonly reason: string;
  readonly message: string;
  readonly type: string;
  readonly involvedObject: { readonly kind: string; readonly name: string };
}

export const events = async (namespace: string, object?: string): Promise<Event[]> =>
  (
    await getJson<List<Event>>([
      "events",
      "-n",
      namespace,
      ...(object ? ["--field-selector", `involvedObject.name=${object}`] : []),
    ])
  ).items;

export interface EndpointSlice {
  readonly endpoints?: {
    readonly addresses: string[];
    readonly conditions: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
    readonly targetRef?: { readonly name: string };
  }[];
}

/** The endpoints of a Service's EndpointSlices: pod name → ready. */
export async function serviceEndpoints(namespace: string, service: string): Promise<Map<string, boolean>> {
  const slices = await getJson<List<EndpointSlice>>([
    "endpointslices",
    "-n",
    namespace,
    "-l",
    `kubernetes.io/service-name=${service}`,
  ]);
  const endpoints = new Map<string, boolean>();
  for (const slice of slices.items)
    for (const endpoint of slice.endpoints ?? [])
      endpoints.set(endpoint.targetRef?.name ?? endpoint.addresses.join(","), endpoint.conditions.ready === true);
  return endpoints;
}

/** Polls `check` until it returns a value other than undefined, or fails after timeoutMs saying what it waited for. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const cause = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(everyMs);
  }
}

/** Whether a TCP connection to host:port is accepted within 2 s. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Waits until every node port of the namespace's Services accepts connections on the node address. Pods being Ready
 * (what `helm install --wait` and skaffold's status check wait for) is not enough: kube-proxy writes a Service's
 * rules a moment later, and until then a node port whose number a deleted Service held just before refuses.
 */
export async function nodePortsOpen(namespace: string, timeoutMs = 60_000): Promise<void> {
  const services = await getJson<List<{ spec: { type?: string; ports?: { nodePort?: number }[] } }>>([
    "services",
    "-n",
    namespace,
  ]);
  const ports = services.items
    .filter((s) => s.spec.type === "NodePort")
    .flatMap((s) => (s.spec.ports ?? []).map((p) => p.nodePort))
    .filter((port): port is number => port !== undefined);
  for (const port of ports)
    await until(
      `node port ${port} to accept connections`,
      async () => ((await accepts(nodeIp(), port)) ? true : undefined),
      timeoutMs,
    );
}
