import { peerAddressVariables, targetServiceName, type ServiceName } from "./chart-contract.js";
import { freePort } from "./local-container.js";
import type { Container } from "./manifests.js";

/** The port variables a Lattice container listens on (values are container ports). */
export const portVariables = ["GRPC_PORT", "ADMIN_PORT", "HEALTH_PORT"] as const;

/** Where the test's own servers are: scripts/test.sh exports them. */
export interface LocalServers {
  readonly databaseUrl: string;
  readonly natsUrl: string;
}

/** One service's pod, as it will run here: its env after replacements and its container → loopback port map. */
export interface LocalPlan {
  readonly service: ServiceName;
  readonly container: Container;
  readonly env: Record<string, string>;
  readonly ports: ReadonlyMap<number, number>;
}

/**
 * Gives each container port a free loopback port, so every service (and any other test) can run side by side
 * on one machine; the probes' ports are translated through the same map.
 */
export async function allocatePorts(env: Readonly<Record<string, string>>): Promise<Map<number, number>> {
  const ports = new Map<number, number>();
  for (const variable of portVariables) {
    const containerPort = Number(env[variable]);
    if (!Number.isInteger(containerPort) || containerPort <= 0) throw new Error(`${variable}=${env[variable]}`);
    if (!ports.has(containerPort)) ports.set(containerPort, await freePort());
  }
  return ports;
}

/**
 * The environment for running a pod's process on this machine. Only values that exist in a cluster alone change:
 * listen addresses become loopback, ports become the allocated ones, DATABASE_URL and NATS_URL point at the test
 * servers, DATABASE_SCHEMA gets a per-run suffix (the test database is shared with other tests), and each peer
 * target keeps its scheme (dns:/// stays dns:///, so the round_robin resolver path runs) with the peer's local port.
 */
export function localEnv(
  plan: { readonly env: Readonly<Record<string, string>>; readonly ports: ReadonlyMap<number, number> },
  peers: ReadonlyMap<string, number>,
  servers: LocalServers,
  runId: string,
): Record<string, string> {
  const env = { ...plan.env };
  for (const key of ["GRPC_HOST", "ADMIN_HOST"]) env[key] = "127.0.0.1";
  for (const variable of portVariables) env[variable] = String(plan.ports.get(Number(env[variable])));
  if (env.DATABASE_URL !== undefined) env.DATABASE_URL = servers.databaseUrl;
  if (env.DATABASE_SCHEMA) env.DATABASE_SCHEMA = `${env.DATABASE_SCHEMA}_${runId}`;
  if (env.NATS_URL !== undefined) env.NATS_URL = servers.natsUrl;
  for (const [variable, peer] of Object.entries(peerAddressVariables)) {
    const target = env[variable];
    if (target === undefined) continue;
    const port = peers.get(peer);
    if (port === undefined) throw new Error(`${variable}=${target}: ${peer} is not running here`);
    const { scheme } = targetServiceName(target);
    env[variable] = `${scheme ? `${scheme}:///` : ""}127.0.0.1:${port}`;
  }
  return env;
}
