import { join } from "node:path";
import { peerAddressVariable, type ServiceDeclaration } from "@lattice/kit";

/** The only address `npm start` listens on and calls: nothing is reachable from outside the machine. */
export const LOCAL_HOST = "127.0.0.1";

/** The shared servers a local run started; absent when none was needed or none could be started. */
export interface LocalServers {
  /** postgres:// URL of the embedded PostgreSQL server. */
  readonly databaseUrl?: string;
  /** nats:// URL of the local nats-server (JetStream on). */
  readonly natsUrl?: string;
  /** The bootstrap of the local xDS control plane, when services find each other through it (`--xds`). */
  readonly xdsBootstrap?: string;
  /** Its HTTP API, e.g. "http://127.0.0.1:18001". */
  readonly xdsApi?: string;
  /** With --tls: the folder of scripts/dev-certs.sh (<dir>/<service>/tls.crt, tls.key, ca.crt). */
  readonly certsDir?: string;
}

/**
 * The settings `npm start` gives one service, derived from its declaration alone: listen addresses on 127.0.0.1
 * with its declared ports; DATABASE_URL when it declares a database; NATS_URL when it declares events and NATS
 * runs (without it, events wait in the outbox); and `<PEER>_SERVICE_ADDRESS=127.0.0.1:<peer's gRPC port>` for each
 * service it calls, whether that peer was started or not — or, with a local xDS control plane, `xds:///<peer>` and
 * the bootstrap in GRPC_XDS_BOOTSTRAP_CONFIG; with `certsDir` (--tls), TLS_MODE=mtls and the service's own
 * certificate files. Throws when a call names an undeclared service or a
 * database is declared but `servers` has none.
 */
export function serviceEnv(
  service: ServiceDeclaration,
  declarations: readonly ServiceDeclaration[],
  servers: LocalServers,
): Record<string, string> {
  const env: Record<string, string> = {
    GRPC_HOST: LOCAL_HOST,
    GRPC_PORT: String(service.ports.grpc),
    ADMIN_HOST: LOCAL_HOST,
    ADMIN_PORT: String(service.ports.admin),
    HEALTH_PORT: String(service.ports.health),
  };
  if (service.ports.http !== undefined) {
    // A service that serves plain HTTP (the gateway): on loopback too.
    env.HTTP_HOST = LOCAL_HOST;
    env.HTTP_PORT = String(service.ports.http);
  }
  if (service.database) {
    if (!servers.databaseUrl) throw new Error(`${service.name} declares a database, but no PostgreSQL is running`);
    env.DATABASE_URL = servers.databaseUrl;
  }
  if (service.events && servers.natsUrl) env.NATS_URL = servers.natsUrl;
  if (servers.certsDir) {
    env.TLS_MODE = "mtls";
    env.TLS_CERT_FILE = join(servers.certsDir, service.name, "tls.crt");
    env.TLS_KEY_FILE = join(servers.certsDir, service.name, "tls.key");
    env.TLS_CA_FILE = join(servers.certsDir, service.name, "ca.crt");
  }
  for (const peer of service.calls) {
    const declared = declarations.find((candidate) => candidate.name === peer);
    if (!declared) throw new Error(`${service.name} calls "${peer}", which is not a declared service`);
    env[peerAddressVariable(peer)] = servers.xdsBootstrap ? `xds:///${peer}` : `${LOCAL_HOST}:${declared.ports.grpc}`;
  }
  if (servers.xdsBootstrap && service.calls.length > 0) env.GRPC_XDS_BOOTSTRAP_CONFIG = servers.xdsBootstrap;
  return env;
}

/**
 * The settings the launcher decides for a service, so they are taken out of the inherited environment before its
 * own values go in: a DATABASE_URL or NATS_URL exported in the developer's shell must not reach a service the
 * declaration gives none.
 */
export function launcherOwnedKeys(service: ServiceDeclaration): string[] {
  return [
    "GRPC_HOST",
    "GRPC_PORT",
    "ADMIN_HOST",
    "ADMIN_PORT",
    "HEALTH_PORT",
    "DATABASE_URL",
    "DATABASE_SCHEMA",
    "NATS_URL",
    "GRPC_XDS_BOOTSTRAP",
    "GRPC_XDS_BOOTSTRAP_CONFIG",
    // Plaintext unless --tls: one certificate exported in the shell would be every service's identity.
    "TLS_MODE",
    "TLS_CERT_FILE",
    "TLS_KEY_FILE",
    "TLS_CA_FILE",
    ...service.calls.map(peerAddressVariable),
  ];
}

/**
 * The whole environment of a service process: the launcher's own (minus what it decides), local defaults the
 * developer may override (a short drain, since no load balancer needs to notice; log format by terminal), then
 * what the declaration implies.
 */
export function processEnv(
  inherited: Readonly<Record<string, string | undefined>>,
  service: ServiceDeclaration,
  derived: Readonly<Record<string, string>>,
  options: { readonly terminal: boolean },
): Record<string, string> {
  const owned = new Set(launcherOwnedKeys(service));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(inherited)) if (value !== undefined && !owned.has(key)) env[key] = value;
  // The launcher reads the services' output through a pipe, so "auto" would mean JSON: decide by the launcher's own
  // terminal instead.
  if (!env.LOG_FORMAT || env.LOG_FORMAT === "auto") env.LOG_FORMAT = options.terminal ? "pretty" : "json";
  if (!("SHUTDOWN_DRAIN_MS" in env)) env.SHUTDOWN_DRAIN_MS = "0";
  return { ...env, ...derived };
}
