import type { ServiceDeclaration } from "@lattice/kit";

/** What `npm start -- --help` prints. */
export const START_USAGE = `usage: npm start [-- [--only <service>...] [--xds] [--tls]]

Starts every declared service (services/*/package.json with a "lattice" block) on 127.0.0.1, with the embedded
PostgreSQL when one of them declares a database and nats-server (JetStream) when one declares events.

  --only <service>...  start only these services (and the servers they need). The services they call are not
                       started: their <PEER>_SERVICE_ADDRESS still points at 127.0.0.1:<peer's gRPC port>, so calls
                       reach a peer started by another run, or fail with UNAVAILABLE.
  --xds                services find each other through xDS: the repository's control plane (xds/, built with Go
                       once) serves every declared service at its local port, and callers use xds:///<service>
                       targets; change what it serves while they run by editing .lattice/xds/services.json or
                       through its HTTP API (printed at start)
  --tls                mutual TLS between the services: makes a development CA and a certificate per service in
                       .lattice/certs (scripts/dev-certs.sh, needs openssl) and starts every service with TLS_MODE=mtls
  --help               this text

Environment: NATS_URL uses that NATS server instead of starting one; NATS_SERVER names the nats-server binary
to run; LOG_FORMAT, LOG_LEVEL, SHUTDOWN_DRAIN_MS (default 0 here) and the services' other settings pass through.`;

/** A command line that cannot be understood; the message says what is wrong. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What `npm start -- <args>` asks for. */
export interface StartArguments {
  /** Services to start; empty means all. */
  readonly only: readonly string[];
  /** Discovery through the local xDS control plane instead of fixed addresses. */
  readonly xds: boolean;
  readonly help: boolean;
  /** Mutual TLS with development certificates. */
  readonly tls: boolean;
}

/**
 * Parses `--only a b`, `--only a,b`, `--only=a` (repeatable), `--xds`, `--tls` and `--help`; throws UsageError for
 * anything else.
 */
export function parseStartArguments(argv: readonly string[]): StartArguments {
  const only: string[] = [];
  let help = false;
  let xds = false;
  let tls = false;
  let collecting = false;
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      help = true;
      collecting = false;
    } else if (arg === "--xds") {
      xds = true;
      collecting = false;
    } else if (arg === "--tls") {
      tls = true;
      collecting = false;
    } else if (arg === "--only") {
      collecting = true;
    } else if (arg.startsWith("--only=")) {
      only.push(...splitNames(arg.slice("--only=".length)));
      collecting = false;
    } else if (collecting && !arg.startsWith("-")) {
      only.push(...splitNames(arg));
    } else {
      throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  if (collecting && only.length === 0) throw new UsageError("--only needs at least one service name");
  return { only, xds, help, tls };
}

function splitNames(list: string): string[] {
  return list.split(",").filter((name) => name !== "");
}

/** The declarations to start: all of them, or those `only` names, in declaration order. Throws UsageError for a name not declared. */
export function selectServices(
  declarations: readonly ServiceDeclaration[],
  only: readonly string[],
): ServiceDeclaration[] {
  if (only.length === 0) return [...declarations];
  const unknown = only.filter((name) => !declarations.some((declaration) => declaration.name === name));
  if (unknown.length > 0) {
    const known = declarations.map((declaration) => declaration.name).join(", ");
    throw new UsageError(`no declared service named ${unknown.join(", ")} (declared: ${known})`);
  }
  return declarations.filter((declaration) => only.includes(declaration.name));
}
