/**
 * Memory, as the kernel counts it (VmRSS):
 *
 * 1. Every real service idle, started as `npm start` starts it — the launcher's own settings for each (scripts/
 *    platform: serviceEnv, processEnv), an embedded PostgreSQL and a nats-server when the services declare them —
 *    but on free ports and with the benchmark's own data folders (.cache/bench), so it runs beside an `npm start`.
 *    RSS is the median of three readings a second apart, taken once every service has been ready for a few seconds.
 * 2. The greeter as production runs it (the Greet suite's full chain) before, while and after holding 1,000 open
 *    ListGreetings server streams from one client connection, each having received its first message.
 */
import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createClient, DEFAULT_BREAKER_SETTINGS, loadServiceDeclarations, type ServiceDeclaration } from "@lattice/kit";
import { freePort } from "@lattice/kit/testing";
import { startEmbeddedPostgres, type LocalPostgres } from "@lattice/platform/dist/src/local-postgres.js";
import { buildNatsServer, startNats, type LocalNats } from "@lattice/platform/dist/src/local-nats.js";
import { latticeCacheDir, locateNatsServer } from "@lattice/platform/dist/src/nats-server.js";
import { processEnv, serviceEnv } from "@lattice/platform/dist/src/service-env.js";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { PATHS, ROOT } from "./paths.js";
import { rssBytes } from "./proc.js";
import { ServerProcess } from "./server-process.js";
import { median } from "./stats.js";
import type { BenchToken } from "./token.js";

export interface MemoryOptions {
  readonly work: string;
  readonly token: BenchToken;
  /** How many server streams to hold open. */
  readonly streams: number;
  readonly print: (line: string) => void;
}

export interface ServiceMemory {
  readonly service: string;
  readonly rssBytes: number;
}

export interface StreamMemory {
  readonly streams: number;
  /** RSS of the server before the streams were opened, while all were open, and a few seconds after they ended. */
  readonly idleBytes: number;
  readonly openBytes: number;
  readonly afterBytes: number;
}

export interface MemoryResults {
  readonly services: readonly ServiceMemory[];
  readonly streams: StreamMemory;
  /** What ran differently from `npm start`, e.g. no NATS. */
  readonly notes: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Median of three RSS readings a second apart, in bytes. */
async function steadyRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1000);
    readings.push(rssBytes(pid));
  }
  return median(readings);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A nats-server as npm start finds one (the machine's, the cached build, or built now), or why there is none. */
async function natsBinary(): Promise<string | { unavailable: string }> {
  const source = locateNatsServer({
    env: process.env,
    cacheDir: latticeCacheDir(process.env, homedir()),
    isExecutable,
  });
  if (source.kind === "unavailable") return { unavailable: source.reason };
  if (source.kind === "build") return buildNatsServer(source.go, source.installDir);
  return source.binary;
}

/** The declarations with every port replaced by a free one (the launcher's env is derived from them). */
async function onFreePorts(declarations: readonly ServiceDeclaration[]): Promise<ServiceDeclaration[]> {
  const moved: ServiceDeclaration[] = [];
  for (const declaration of declarations) {
    const { http } = declaration.ports;
    const ports = { grpc: await freePort(), admin: await freePort(), health: await freePort() };
    moved.push({ ...declaration, ports: http === undefined ? ports : { ...ports, http: await freePort() } });
  }
  return moved;
}

async function idleServices(options: MemoryOptions, notes: string[]): Promise<ServiceMemory[]> {
  const declarations = await onFreePorts(loadServiceDeclarations(ROOT));
  let postgres: LocalPostgres | undefined;
  let nats: LocalNats | undefined;
  const running: { declaration: ServiceDeclaration; server: ServerProcess }[] = [];
  try {
    if (declarations.some((d) => d.database))
      postgres = await startEmbeddedPostgres(ROOT, join(ROOT, ".cache", "bench", "postgres"));
    if (declarations.some((d) => d.events)) {
      const binary = await natsBinary();
      if (typeof binary === "string") nats = await startNats(binary, join(ROOT, ".cache", "bench", "nats"));
      else notes.push(`no NATS (${binary.unavailable}): events wait in the outboxes, as with npm start`);
    }
    const servers = { databaseUrl: postgres?.url, natsUrl: nats?.url };
    for (const declaration of declarations) {
      const env = processEnv(process.env, declaration, serviceEnv(declaration, declarations, servers), {
        terminal: false,
      });
      const server = ServerProcess.start({
        name: declaration.name,
        command: process.execPath,
        args: [join(declaration.directory, "dist", "src", "main.js")],
        env,
        pinned: false,
        stderrFile: join(options.work, `service-${declaration.name}.stderr`),
      });
      running.push({ declaration, server });
    }
    await Promise.all(
      running.map(({ declaration, server }) =>
        server.waitUntil(async () => (await fetch(`http://127.0.0.1:${declaration.ports.admin}/readyz`)).ok, 120_000),
      ),
    );
    options.print(`${running.map((r) => r.declaration.name).join(", ")} ready; settling`);
    await sleep(5000);
    const rss = await Promise.all(running.map(({ server }) => steadyRss(server.pid)));
    return running.map(({ declaration }, i) => ({ service: declaration.name, rssBytes: rss[i]! }));
  } finally {
    await Promise.all(running.map(({ server }) => server.stop()));
    await nats?.process.stop(10_000);
    await postgres?.process.stop(30_000);
  }
}

async function openStreams(options: MemoryOptions): Promise<StreamMemory> {
  const port = await freePort();
  const server = ServerProcess.start({
    name: "greeter (full chain)",
    command: process.execPath,
    args: [PATHS.greeterProduction],
    env: {
      ...options.token.env,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(port),
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: String(await freePort()),
      HEALTH_PORT: String(await freePort()),
      LOG_FORMAT: "json",
      SHUTDOWN_DRAIN_MS: "0",
      SHUTDOWN_TIMEOUT_MS: "1000",
    },
    pinned: true,
    stderrFile: join(options.work, "streams-greeter.stderr"),
  });
  const metadata = { authorization: `Bearer ${options.token.token}` };
  const client = createClient(GreeterServiceService, `127.0.0.1:${port}`, { breaker: DEFAULT_BREAKER_SETTINGS });
  const abort = new AbortController();
  try {
    await server.waitUntil(async () => {
      const reply = await client.greet(
        { name: "Ada", language: Language.LANGUAGE_ENGLISH },
        { timeoutMs: 1000, metadata },
      );
      return reply.message === "Hello, Ada!";
    });
    await sleep(2000);
    const idleBytes = await steadyRss(server.pid);
    // Each stream would send a greeting every 10 s (the longest interval the contract allows) for hours.
    const request = { name: "Ada", count: 1_000_000, interval: { seconds: 10, nanos: 0 } };
    let opened = 0;
    const ended: Promise<void>[] = [];
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < options.streams; i++) {
        const stream = client.listGreetings(request, { signal: abort.signal, metadata });
        ended.push(
          (async () => {
            let first = true;
            try {
              for await (const _greeting of stream) {
                if (first && ++opened === options.streams) resolve();
                first = false;
              }
            } catch (error) {
              if (!abort.signal.aborted) reject(error instanceof Error ? error : new Error(String(error)));
            }
          })(),
        );
      }
    });
    options.print(`${options.streams} ListGreetings streams open`);
    await sleep(2000);
    const openBytes = await steadyRss(server.pid);
    abort.abort();
    await Promise.all(ended);
    await sleep(3000);
    const afterBytes = await steadyRss(server.pid);
    return { streams: options.streams, idleBytes, openBytes, afterBytes };
  } finally {
    abort.abort();
    client.close();
    await server.stop();
  }
}

/** Runs both measurements; every process it started is stopped when it returns or throws. */
export async function runMemorySuite(options: MemoryOptions): Promise<MemoryResults> {
  const notes: string[] = [];
  const services = await idleServices(options, notes);
  const streams = await openStreams(options);
  return { services, streams, notes };
}
