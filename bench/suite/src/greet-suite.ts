/**
 * Greet, one interleaved run: Lattice beside its peers (grpc-go, grpc-js + proto-loader, NestJS, connect-node,
 * Lattice's own bare grpc-js server with ts-proto codecs, the greeter as production runs it) and the kit's server
 * chain built up one interceptor at a time. Every server runs for the whole run on CPU 0; h2load on CPU 1 loads
 * one at a time for a fixed time, the order rotating each round so each server meets every position. Reported per
 * server: medians over the rounds of req/s, server CPU per request (/proc utime + stime over the run), p50 and p99;
 * ratios to the fastest bare grpc-js server as the median of per-round ratios; the price of each interceptor as the
 * median of per-round differences between consecutive steps.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@lattice/kit";
import { freePort } from "@lattice/kit/testing";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { grpcFrame, h2load } from "./h2load.js";
import { PATHS } from "./paths.js";
import { cpuSeconds, rssBytes } from "./proc.js";
import { ServerProcess } from "./server-process.js";
import { median } from "./stats.js";
import type { BenchToken } from "./token.js";

export interface GreetOptions {
  readonly rounds: number;
  /** Length of one measured run, in seconds. */
  readonly seconds: number;
  /** Length of each server's warm-up run, in seconds. */
  readonly warmupSeconds: number;
  /** A scratch folder (request body, h2load logs, servers' standard error). */
  readonly work: string;
  readonly token: BenchToken;
  /** Progress lines. */
  readonly print: (line: string) => void;
}

/** Which family a server belongs to, for the report and the chart. */
export type ServerGroup = "peer" | "lattice" | "ladder";

/** One measured run of one server. */
export interface RunSample {
  readonly rps: number;
  /** Server CPU (user + system) per request, in microseconds. */
  readonly cpuUs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface GreetServerResult {
  readonly id: string;
  readonly label: string;
  readonly group: ServerGroup;
  /** One per round, in round order. */
  readonly samples: readonly RunSample[];
  /** Medians over the rounds. */
  readonly median: RunSample;
  /** Median of per-round req/s ratios to the baseline. */
  readonly ratio: number;
  /** Median of per-round ratios of the baseline's CPU per request to this server's (above 1: cheaper). */
  readonly cpuRatio: number;
  /** Resident memory once every round has run, in bytes. */
  readonly rssBytes: number;
}

/** What one layer of the chain costs: the step from `from` to `to`, which adds it. */
export interface LayerCost {
  readonly layer: string;
  readonly from: string;
  readonly to: string;
  /** Median of per-round differences in server CPU per request, in microseconds. */
  readonly cpuUs: number;
  /** Median of per-round req/s ratios to/from. */
  readonly ratio: number;
}

export interface GreetResults {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly streams: number;
  /** Id of the fastest bare grpc-js server, the baseline of every ratio. */
  readonly baseline: string;
  readonly servers: readonly GreetServerResult[];
  readonly layers: readonly LayerCost[];
  /** Servers left out, with why. */
  readonly skipped: readonly string[];
}

const CONNECTIONS = 16;
const STREAMS = 32;
/** A limit no benchmark run reaches: every call takes a token, none is refused. */
const UNREACHED_RATE_LIMIT = "*=1000000:1000000";
const REQUEST = { name: "Ada", language: Language.LANGUAGE_ENGLISH };

interface ServerSpec {
  readonly id: string;
  readonly label: string;
  readonly group: ServerGroup;
  /** A bare grpc-js server: a candidate for the baseline. */
  readonly bare?: boolean;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** The steps of the ladder: each adds one layer of the kit's chain, in chain order, to the one before. */
const LADDER: readonly { readonly layer: string; readonly chain: string; readonly label: string }[] = [
  { layer: "adapter", chain: "", label: "adapter, no interceptor" },
  { layer: "metrics", chain: "metrics", label: "+ metrics" },
  { layer: "logging", chain: "metrics,logging", label: "+ logging (LOG_CALLS=debug)" },
  { layer: "recovery", chain: "metrics,logging,recovery", label: "+ recovery" },
  { layer: "auth", chain: "metrics,logging,recovery,auth", label: "+ auth (JWT, cached)" },
  { layer: "rate limit", chain: "metrics,logging,recovery,auth,ratelimit", label: "+ rate limit" },
  { layer: "validation", chain: "metrics,logging,recovery,auth,ratelimit,validation", label: "+ validation" },
  { layer: "call scope", chain: "metrics,logging,recovery,auth,ratelimit,validation,scope", label: "+ call scope" },
];

async function serverSpecs(token: BenchToken, skipped: string[]): Promise<ServerSpec[]> {
  const node = process.execPath;
  const specs: ServerSpec[] = [];
  if (existsSync(PATHS.goGreeter))
    specs.push({
      id: "grpc-go",
      label: "grpc-go (reference)",
      group: "peer",
      command: PATHS.goGreeter,
      args: [],
      env: {},
    });
  else skipped.push("grpc-go: not built (bench/go/build.sh needs Go)");
  specs.push(
    {
      id: "grpc-js",
      label: "grpc-js + proto-loader",
      group: "peer",
      bare: true,
      command: node,
      args: [PATHS.peer("grpc-js")],
      env: {},
    },
    { id: "nest", label: "NestJS gRPC", group: "peer", command: node, args: [PATHS.peer("nest")], env: {} },
    { id: "connect", label: "connect-node", group: "peer", command: node, args: [PATHS.peer("connect")], env: {} },
    {
      id: "lattice-bare",
      label: "Lattice bare (ts-proto, no chain)",
      group: "lattice",
      bare: true,
      command: node,
      args: [PATHS.greeterBare],
      env: {},
    },
  );
  for (const step of LADDER) {
    const env: Record<string, string> = { BENCH_CHAIN: step.chain, LOG_FORMAT: "json" };
    if (step.chain.includes("auth")) Object.assign(env, token.env);
    if (step.chain.includes("ratelimit")) env["RATE_LIMITS"] = UNREACHED_RATE_LIMIT;
    specs.push({
      id: `chain:${step.chain}`,
      label: step.label,
      group: "ladder",
      command: node,
      args: [PATHS.greeterLadder],
      env,
    });
  }
  specs.push({
    id: "lattice-full",
    label: "Lattice full chain",
    group: "lattice",
    command: node,
    args: [PATHS.greeterProduction],
    env: {
      ...token.env,
      RATE_LIMITS: UNREACHED_RATE_LIMIT,
      GRPC_HOST: "127.0.0.1",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: String(await freePort()),
      HEALTH_PORT: String(await freePort()),
      LOG_FORMAT: "json",
      SHUTDOWN_DRAIN_MS: "0",
    },
  });
  return specs;
}

/** Greets through a real gRPC client until the answer is right: the server is up and answers grpc-status 0. */
async function greets(port: number, token: string): Promise<boolean> {
  const client = createClient(GreeterServiceService, `127.0.0.1:${port}`);
  try {
    const reply = await client.greet(REQUEST, { timeoutMs: 1000, metadata: { authorization: `Bearer ${token}` } });
    if (reply.message !== "Hello, Ada!") throw new Error(`answered ${JSON.stringify(reply)}`);
    return true;
  } finally {
    client.close();
  }
}

/** Runs the Greet comparison; every server it started is stopped when it returns or throws. */
export async function runGreetSuite(options: GreetOptions): Promise<GreetResults> {
  const { print, work } = options;
  const skipped: string[] = [];
  const specs = await serverSpecs(options.token, skipped);
  const bodyFile = join(work, "greet.bin");
  writeFileSync(bodyFile, grpcFrame(GreetRequest.encode(REQUEST).finish()));
  const running: { spec: ServerSpec; port: number; server: ServerProcess }[] = [];
  try {
    for (const spec of specs) {
      const port = await freePort();
      const server = ServerProcess.start({
        name: spec.label,
        command: spec.command,
        args: spec.args,
        env: { ...spec.env, GRPC_PORT: String(port) },
        pinned: true,
        stderrFile: join(work, `${spec.id.replace(/[^\w-]/g, "_")}.stderr`),
      });
      running.push({ spec, port, server });
    }
    await Promise.all(
      running.map(({ server, port }) => server.waitUntil(() => greets(port, options.token.token), 60_000)),
    );
    print(`${running.length} servers answer Greet with grpc-status 0 (checked with a grpc-js client)`);

    const load = (port: number, seconds: number) =>
      h2load({
        url: `http://127.0.0.1:${port}/lattice.greeter.v1.GreeterService/Greet`,
        headers: ["content-type: application/grpc", "te: trailers", `authorization: Bearer ${options.token.token}`],
        bodyFile,
        seconds,
        connections: CONNECTIONS,
        streams: STREAMS,
        logFile: join(work, "h2load.log"),
      });
    for (const { port } of running) load(port, options.warmupSeconds);

    const samples = new Map<string, RunSample[]>(running.map(({ spec }) => [spec.id, []]));
    for (let round = 0; round < options.rounds; round++) {
      const order = running.map((_, i) => running[(i + round) % running.length]!);
      for (const { spec, port, server } of order) {
        const before = cpuSeconds(server.pid);
        const result = load(port, options.seconds);
        const cpuUs = ((cpuSeconds(server.pid) - before) / result.requests) * 1e6;
        samples.get(spec.id)!.push({ rps: result.rps, cpuUs, p50Ms: result.p50Ms, p99Ms: result.p99Ms });
      }
      print(
        `round ${round + 1}/${options.rounds}: ` +
          running.map(({ spec }) => `${spec.id} ${(samples.get(spec.id)!.at(-1)!.rps / 1000).toFixed(1)}k`).join(", "),
      );
    }
    const rss = new Map(running.map(({ spec, server }) => [spec.id, rssBytes(server.pid)]));
    return summarize(specs, samples, rss, options, skipped);
  } finally {
    await Promise.all(running.map(({ server }) => server.stop()));
  }
}

function summarize(
  specs: readonly ServerSpec[],
  samples: ReadonlyMap<string, readonly RunSample[]>,
  rss: ReadonlyMap<string, number>,
  options: GreetOptions,
  skipped: readonly string[],
): GreetResults {
  const runs = (id: string) => samples.get(id)!;
  const medianOf = (id: string): RunSample => ({
    rps: median(runs(id).map((s) => s.rps)),
    cpuUs: median(runs(id).map((s) => s.cpuUs)),
    p50Ms: median(runs(id).map((s) => s.p50Ms)),
    p99Ms: median(runs(id).map((s) => s.p99Ms)),
  });
  const perRound = (a: string, b: string, f: (x: RunSample, y: RunSample) => number) =>
    median(runs(a).map((x, i) => f(x, runs(b)[i]!)));
  const baseline = specs
    .filter((spec) => spec.bare)
    .reduce((best, spec) => (medianOf(spec.id).rps > medianOf(best.id).rps ? spec : best)).id;
  const servers = specs.map((spec) => ({
    id: spec.id,
    label: spec.label,
    group: spec.group,
    samples: runs(spec.id),
    median: medianOf(spec.id),
    ratio: perRound(spec.id, baseline, (x, y) => x.rps / y.rps),
    cpuRatio: perRound(spec.id, baseline, (x, y) => y.cpuUs / x.cpuUs),
    rssBytes: rss.get(spec.id)!,
  }));
  const steps = ["lattice-bare", ...LADDER.map((step) => `chain:${step.chain}`)];
  const layers: LayerCost[] = LADDER.map((step, i) => ({
    layer: step.layer,
    from: steps[i]!,
    to: steps[i + 1]!,
    cpuUs: perRound(steps[i + 1]!, steps[i]!, (x, y) => x.cpuUs - y.cpuUs),
    ratio: perRound(steps[i + 1]!, steps[i]!, (x, y) => x.rps / y.rps),
  }));
  return {
    rounds: options.rounds,
    seconds: options.seconds,
    connections: CONNECTIONS,
    streams: STREAMS,
    baseline,
    servers,
    layers,
    skipped,
  };
}
