/**
 * What the resilience of Lattice's clients costs and saves, measured from the calling side (run through `npm run
 * bench`, which pins this process to CPU 1 and the server it starts to CPU 0):
 *
 * 1. Greet throughput and client CPU per call through a plain grpc-js client, the kit's client, and the kit's client
 *    with retries (service config), a circuit breaker and metrics — as a service's `connect` makes it — in
 *    alternating rounds against one bare server; medians and ratios against plain grpc-js.
 * 2. How fast an open circuit breaker refuses a call, against a call that waits for its deadline on a hung
 *    dependency.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Client as GrpcClient, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Registry } from "prom-client";
import {
  createClient,
  DEFAULT_BREAKER_SETTINGS,
  DEFAULT_RETRY_SETTINGS,
  GrpcError,
  Status,
  type ClientOptions,
} from "@lattice/kit";
import { ClientMetrics } from "@lattice/kit/internal";
import {
  GreeterServiceService,
  Language,
  type GreetRequest,
  type GreetResponse,
} from "@lattice/proto/lattice/greeter/v1/greeter";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const CALLS = Number(process.env["BENCH_CLIENT_CALLS"] ?? 20_000);
const CONCURRENCY = 64;
const PORT = 50065;
const REQUEST: GreetRequest = { name: "Ada", language: Language.LANGUAGE_ENGLISH };

type Call = () => Promise<unknown>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** `calls` calls, `CONCURRENCY` at a time: calls per second and this process's CPU per call (µs). */
async function drive(call: Call, calls: number): Promise<{ rps: number; cpuUs: number }> {
  let left = calls;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await call();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { rps: calls / seconds, cpuUs: (cpu.user + cpu.system) / calls };
}

async function startServer(): Promise<ChildProcess> {
  const main = fileURLToPath(new URL("./bare-server.js", import.meta.url));
  const child = spawn("taskset", ["-c", "0", process.execPath, main], {
    env: { ...process.env, GRPC_PORT: String(PORT) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const probe = createClient(GreeterServiceService, `127.0.0.1:${PORT}`);
  try {
    for (let attempt = 0; ; attempt++) {
      const ok = await probe.greet(REQUEST, { timeoutMs: 1000 }).then(
        () => true,
        () => false,
      );
      if (ok) return child;
      if (attempt > 50) throw new Error("the bare server did not start");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    probe.close();
  }
}

/** A plain grpc-js client making the same call: the baseline. */
function plainCall(address: string): { call: Call; close(): void } {
  const client = new GrpcClient(address, credentials.createInsecure());
  const { path, requestSerialize, responseDeserialize } = GreeterServiceService.greet;
  const call = () =>
    new Promise<GreetResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        path,
        requestSerialize,
        responseDeserialize,
        REQUEST,
        new Metadata(),
        {},
        (error: ServiceError | null, response?: GreetResponse) => (error ? reject(error) : resolve(response!)),
      ),
    );
  return { call, close: () => client.close() };
}

function kitCall(address: string, options: ClientOptions): { call: Call; close(): void } {
  const client = createClient(GreeterServiceService, address, options);
  return { call: () => client.greet(REQUEST), close: () => client.close() };
}

async function throughput(): Promise<void> {
  const server = await startServer();
  const address = `127.0.0.1:${PORT}`;
  const resilient: ClientOptions = {
    name: "greeter",
    retry: DEFAULT_RETRY_SETTINGS,
    breaker: DEFAULT_BREAKER_SETTINGS,
    metrics: ClientMetrics.of(new Registry()),
    defaultTimeoutMs: 10_000,
  };
  const variants = {
    "grpc-js": plainCall(address),
    kit: kitCall(address, {}),
    "kit+resilience": kitCall(address, resilient),
  };
  type Name = keyof typeof variants;
  const names = Object.keys(variants) as Name[];
  const results = Object.fromEntries(names.map((n) => [n, [] as { rps: number; cpuUs: number }[]])) as Record<
    Name,
    { rps: number; cpuUs: number }[]
  >;
  try {
    for (const name of names) await drive(variants[name].call, CALLS / 2); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) results[name].push(await drive(variants[name].call, CALLS));
    }
  } finally {
    for (const variant of Object.values(variants)) variant.close();
    server.kill("SIGTERM");
  }
  console.log(`Greet from the client side: ${CALLS} calls per run, ${CONCURRENCY} at a time, ${ROUNDS} rounds`);
  for (const name of names) {
    const runs = results[name];
    const rpsRatio = median(runs.map((r, i) => r.rps / results["grpc-js"][i]!.rps));
    const cpuRatio = median(runs.map((r, i) => results["grpc-js"][i]!.cpuUs / r.cpuUs));
    console.log(
      `  ${name.padEnd(15)} ${median(runs.map((r) => r.rps))
        .toFixed(0)
        .padStart(7)} calls/s  ` +
        `client CPU ${median(runs.map((r) => r.cpuUs)).toFixed(1)} µs/call  ` +
        `ratio vs grpc-js: throughput ${rpsRatio.toFixed(3)}, CPU ${cpuRatio.toFixed(3)}`,
    );
  }
}

async function refusals(): Promise<void> {
  // Nothing listens on port 1: every call fails UNAVAILABLE, and the breaker opens after its minimum volume.
  const dead = createClient(GreeterServiceService, "127.0.0.1:1", {
    name: "dead",
    breaker: { ...DEFAULT_BREAKER_SETTINGS, resetTimeoutMs: 600_000 },
    defaultTimeoutMs: 1000,
  });
  const timings: number[] = [];
  try {
    for (let i = 0; i < DEFAULT_BREAKER_SETTINGS.volumeThreshold; i++) await dead.greet(REQUEST).catch(() => undefined);
    for (let i = 0; i < 100_000; i++) {
      const started = performance.now();
      const error = await dead.greet(REQUEST).then(
        () => undefined,
        (e: unknown) => e,
      );
      timings.push((performance.now() - started) * 1000);
      if (!(error instanceof GrpcError && error.code === Status.UNAVAILABLE && error.message.includes("circuit")))
        throw new Error(`expected a refusal, got ${String(error)}`);
    }
  } finally {
    dead.close();
  }
  timings.sort((a, b) => a - b);
  console.log(
    `Refused by an open breaker (100000 calls): median ${percentile(timings, 0.5).toFixed(1)} µs, ` +
      `p99 ${percentile(timings, 0.99).toFixed(1)} µs`,
  );

  // A hung dependency without a breaker: every caller waits out its deadline.
  const { createServer } = await import("node:net");
  const hung = createServer(() => undefined); // accepts connections, never answers
  await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  const port = (hung.address() as { port: number }).port;
  const waiting = createClient(GreeterServiceService, `127.0.0.1:${port}`);
  const waits: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await waiting.greet(REQUEST, { timeoutMs: 200 }).catch(() => undefined);
      waits.push(performance.now() - started);
    }
  } finally {
    waiting.close();
    hung.close();
  }
  console.log(`Waiting for a 200 ms deadline on a hung dependency (20 calls): median ${median(waits).toFixed(1)} ms`);
}

await throughput();
await refusals();
process.exit(0);
