import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";
import { loadServiceDeclarations, type ServiceDeclaration } from "@lattice/kit";
import { startEmbeddedPostgres, type LocalPostgres } from "./local-postgres.js";
import { buildNatsServer, startNats, type LocalNats } from "./local-nats.js";
import { startXds, type LocalXds } from "./local-xds.js";
import { describeExit, ManagedProcess, type ExitStatus } from "./managed-process.js";
import { latticeCacheDir, locateNatsServer, natsUnavailableMessage, NATS_SERVER_VERSION } from "./nats-server.js";
import { waitFor } from "./ports.js";
import { processEnv, serviceEnv, type LocalServers } from "./service-env.js";
import { selectServices } from "./start-arguments.js";
import { startedSummary } from "./summary.js";

/** How long a service may take to answer /readyz 200 (migrations run at start). */
const READY_TIMEOUT_MS = 60_000;
/** How long a service may take to drain and exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 30_000;

export interface LaunchOptions {
  /** The checkout's root folder. */
  readonly root: string;
  /** Services to start; empty: every declared service. */
  readonly only: readonly string[];
  /** Services find each other through the local xDS control plane (xds/) instead of fixed addresses. */
  readonly xds?: boolean;
  /** Mutual TLS with development certificates (scripts/dev-certs.sh). */
  readonly tls?: boolean;
  /** The launcher's environment, the base of every service's. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether the launcher writes to a terminal (services then log in pretty form). */
  readonly terminal: boolean;
  /** Where the launcher's lines and the services' output go. */
  readonly print: (line: string) => void;
  /** Where failures go. */
  readonly printError: (line: string) => void;
}

/** A service process with its declaration. */
interface RunningService {
  readonly declaration: ServiceDeclaration;
  readonly process: ManagedProcess;
}

/** Thrown to end a start that cannot go on; the message is the launcher's last word. */
class StartFailure extends Error {}

/**
 * `npm start`: starts the servers the selected services need (the embedded PostgreSQL when one declares a
 * database, nats-server with JetStream when one declares events), then every selected service with the settings
 * its declaration implies, waits until each answers /readyz, prints where they are, and serves until SIGINT or
 * SIGTERM. Then it stops the services (each drains and exits), then NATS, then PostgreSQL. Resolves with the exit
 * code: 0 after a clean stop, 1 when something failed to start or a service ended on its own.
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const { print, printError } = options;
  const declarations = loadServiceDeclarations(options.root);
  const selected = selectServices(declarations, options.only);
  const step = (text: string) => print(`\n== ${text}`);

  let postgres: LocalPostgres | undefined;
  let nats: LocalNats | undefined;
  let xds: LocalXds | undefined;
  const services: RunningService[] = [];

  // One signal starts the orderly stop; a second one is passed on, and the kit exits at once on it.
  let signalled = 0;
  let onStopRequest: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (onStopRequest = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    signalled += 1;
    if (signalled === 1) onStopRequest(signal);
    else for (const service of services) service.process.signal("SIGTERM");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A parent that goes away without passing a signal on (npm or its shell killed, a closed IDE terminal) leaves the
  // launcher re-parented: stop everything then, as on Ctrl-C, rather than leave the platform running unowned.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphanWatch);
    printError("npm start's parent process went away: stopping");
    onSignal("SIGHUP");
  }, 1_000);
  orphanWatch.unref();
  // If the launcher itself dies, its children (in their own process groups) must not outlive it.
  const onExit = () => {
    for (const child of [...services.map((service) => service.process), xds?.process, nats?.process, postgres?.process])
      child?.signal("SIGTERM");
  };
  process.on("exit", onExit);

  const stopAll = async (): Promise<boolean> => {
    // Those that already ended were reported when they did.
    const running = services.filter((service) => service.process.running);
    if (running.length > 0 || nats || postgres || xds) step("stopping (graceful: each service drains, then exits)");
    const stopped = await Promise.all(
      running.map(async (service) => ({ service, status: await service.process.stop(STOP_TIMEOUT_MS) })),
    );
    let clean = true;
    for (const { service, status } of stopped) {
      if (status.code === 0) continue;
      clean = false;
      printError(`${service.declaration.name} did not stop cleanly (${describeExit(status)})`);
    }
    // The shared servers go last, once no service needs them.
    if (xds) await xds.process.stop(5_000);
    if (nats) await nats.process.stop(10_000);
    if (postgres) await postgres.process.stop(30_000);
    return clean;
  };

  try {
    if (selected.some((service) => service.database)) {
      const dataDir = join(options.root, ".lattice", "postgres");
      step(`starting PostgreSQL (embedded, in ${relative(options.root, dataDir)}; each service uses its own schema)`);
      postgres = await startEmbeddedPostgres(options.root, dataDir);
      print(postgres.url);
    }
    const natsUrl = selected.some((service) => service.events) ? await startNatsIfPossible() : undefined;
    if (options.xds) {
      const dataDir = join(options.root, ".lattice", "xds");
      step(`starting the xDS control plane (xds/, serving every declared service; ${relative(options.root, dataDir)})`);
      xds = await startXds(options.root, declarations, dataDir);
      print(`xDS ${xds.xdsAddress}, API http://${xds.apiAddress}`);
    }
    const certsDir = options.tls ? makeDevCertificates() : undefined;
    const servers: LocalServers = {
      databaseUrl: postgres?.url,
      natsUrl,
      xdsBootstrap: xds?.bootstrap,
      xdsApi: xds ? `http://${xds.apiAddress}` : undefined,
      certsDir,
    };

    if (signalled === 0) {
      step(`starting ${selected.map((service) => service.name).join(", ")}`);
      for (const declaration of selected) services.push(startService(declaration, servers));
      const failed = await Promise.race([waitUntilAllReady(services), stopRequested.then(() => undefined)]);
      if (failed) throw new StartFailure(failureReport(failed.service, failed.why));
    }
    if (signalled === 0) {
      print(startedSummary(selected, servers));
      const ended = await Promise.race([
        stopRequested.then(() => undefined),
        ...services.map((service) => service.process.exited.then((status) => ({ service, status }))),
      ]);
      if (ended) {
        throw new StartFailure(
          failureReport(
            ended.service,
            `${ended.service.declaration.name} ended on its own (${describeExit(ended.status)})`,
          ),
        );
      }
    }
    return (await stopAll()) ? 0 : 1;
  } catch (error) {
    printError(error instanceof StartFailure ? error.message : `npm start failed: ${errorMessage(error)}`);
    await stopAll();
    return 1;
  } finally {
    clearInterval(orphanWatch);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", onExit);
  }

  /** Runs scripts/dev-certs.sh (a certificate per service, renewed on every start); returns their folder. */
  function makeDevCertificates(): string {
    const dir = join(options.root, ".lattice", "certs");
    step(`mutual TLS: development certificates in ${relative(options.root, dir)} (scripts/dev-certs.sh)`);
    const made = spawnSync("bash", [join(options.root, "scripts", "dev-certs.sh"), "--out", dir], {
      encoding: "utf8",
    });
    if (made.status !== 0)
      throw new StartFailure(`scripts/dev-certs.sh failed: ${(made.stderr || made.error?.message || "").trim()}`);
    return dir;
  }

  /** NATS_URL from the environment, or a local nats-server started (built first when needed), or undefined. */
  async function startNatsIfPossible(): Promise<string | undefined> {
    if (options.env.NATS_URL) {
      step(`NATS: using NATS_URL from the environment (${options.env.NATS_URL})`);
      return options.env.NATS_URL;
    }
    const source = locateNatsServer({
      env: options.env,
      cacheDir: latticeCacheDir(options.env, homedir()),
      isExecutable,
    });
    let binary: string;
    switch (source.kind) {
      case "unavailable":
        print(natsUnavailableMessage(source.reason));
        return undefined;
      case "build":
        step(`building nats-server ${NATS_SERVER_VERSION} from its Go module (once, into ${source.installDir})`);
        try {
          binary = await buildNatsServer(source.go, source.installDir);
        } catch (error) {
          print(natsUnavailableMessage(errorMessage(error)));
          return undefined;
        }
        break;
      default:
        binary = source.binary;
    }
    const dataDir = join(options.root, ".lattice", "nats");
    step(`starting NATS (${binary}, JetStream in ${relative(options.root, dataDir)})`);
    nats = await startNats(binary, dataDir);
    print(nats.url);
    return nats.url;
  }

  function startService(declaration: ServiceDeclaration, servers: LocalServers): RunningService {
    const main = join(declaration.directory, "dist", "src", "main.js");
    if (!existsSync(main)) {
      throw new StartFailure(
        `${declaration.name} is not built (${relative(options.root, main)} is missing): run npx tsc -b`,
      );
    }
    const env = processEnv(options.env, declaration, serviceEnv(declaration, declarations, servers), {
      terminal: options.terminal,
    });
    const child = new ManagedProcess(declaration.name, {
      command: process.execPath,
      args: [main],
      env,
      cwd: options.root,
      onLine: print,
    });
    return { declaration, process: child };
  }
}

/** The first service that fails to become ready, with why, as soon as one does; undefined once all are ready. */
function waitUntilAllReady(
  services: readonly RunningService[],
): Promise<{ service: RunningService; why: string } | undefined> {
  return new Promise((resolve) => {
    let pending = services.length;
    if (pending === 0) resolve(undefined);
    for (const service of services) {
      void readiness(service).then((failure) => {
        if (failure) resolve(failure);
        else if (--pending === 0) resolve(undefined);
      });
    }
  });
}

async function readiness(service: RunningService): Promise<{ service: RunningService; why: string } | undefined> {
  const { name, ports } = service.declaration;
  const ready = await waitFor(
    async () => (await fetch(`http://127.0.0.1:${ports.admin}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok,
    { timeoutMs: READY_TIMEOUT_MS, until: service.process.exited },
  );
  if (ready) return undefined;
  // Whichever ended the wait: the process exited, or it never answered.
  const status: ExitStatus | undefined = service.process.running ? undefined : await service.process.exited;
  const why = status
    ? `${name} did not start (${describeExit(status)})`
    : `${name} did not become ready within ${READY_TIMEOUT_MS / 1000} s (http://127.0.0.1:${ports.admin}/readyz)`;
  return { service, why };
}

function failureReport(service: RunningService, why: string): string {
  const lines = service.process.lastLines(15);
  if (lines.length === 0) return `${why}; it wrote nothing`;
  return [`${why}. Its last lines:`, ...lines.map((line) => `  ${line}`)].join("\n");
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
