/**
 * Greet throughput and latency of the greeter with the kit's full chain against a bare grpc-js server running the
 * same handler. Each server is pinned to CPU 0 and h2load to CPU 1; the two servers alternate within every round,
 * and the report gives medians over rounds plus the ratio kit/bare. Run through `npm run bench`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@lattice/kit";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 200_000);
const WARMUP = Number(process.env["BENCH_WARMUP"] ?? 30_000);
const CONNECTIONS = 16;
const STREAMS = 32;
const PORT = 50061;

const servers = {
  bare: { main: fileURLToPath(new URL("./bare-server.js", import.meta.url)), env: {} },
  kit: {
    main: fileURLToPath(new URL("../src/main.js", import.meta.url)),
    // Full chain as deployed: metrics, one info log line per call (to /dev/null here), recovery.
    env: { GRPC_HOST: "127.0.0.1", ADMIN_HOST: "127.0.0.1", ADMIN_PORT: "18061", LOG_FORMAT: "json" },
  },
} as const;
type ServerName = keyof typeof servers;

interface Result {
  rps: number;
  p50: number;
  p99: number;
}

const work = mkdtempSync(join(tmpdir(), "lattice-bench-"));
const body = join(work, "greet.bin");
const request = GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).finish();
const frame = Buffer.alloc(5 + request.length);
frame.writeUInt32BE(request.length, 1);
frame.set(request, 5);
writeFileSync(body, frame);

async function start(name: ServerName): Promise<ChildProcess> {
  const { main, env } = servers[name];
  const child = spawn("taskset", ["-c", "0", process.execPath, main], {
    env: { ...process.env, ...env, GRPC_PORT: String(PORT) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('"serving"')) {
        child.stdout.off("data", onData);
        child.stdout.resume(); // keep draining logs, as a container runtime would
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${name} server exited with ${code}`)));
  });
  // h2load checks only HTTP status, so check once with a real client that Greet answers correctly.
  const client = createClient(GreeterServiceService, `127.0.0.1:${PORT}`, { defaultTimeoutMs: 5000 });
  const reply = await client.greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH });
  client.close();
  if (reply.message !== "Hello, Ada!") throw new Error(`${name} answered ${JSON.stringify(reply)}`);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function h2load(requests: number, logFile?: string): Result {
  const args = ["-c", "1", "h2load", "-n", String(requests), "-c", String(CONNECTIONS), "-m", String(STREAMS)];
  args.push("-t", "1", "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body);
  if (logFile) args.push("--log-file", logFile);
  args.push(`http://127.0.0.1:${PORT}/lattice.greeter.v1.GreeterService/Greet`);
  const run = spawnSync("taskset", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h2load failed: ${run.stderr || run.stdout}`);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(run.stdout)?.[1]);
  const succeeded = Number(/(\d+) succeeded/.exec(run.stdout)?.[1]);
  if (succeeded !== requests) throw new Error(`only ${succeeded} of ${requests} requests succeeded:\n${run.stdout}`);
  if (!logFile) return { rps, p50: NaN, p99: NaN };
  // --log-file: one line per request, "start_us status duration_us"
  const durations = readFileSync(logFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  return { rps, p50: percentile(durations, 0.5), p99: percentile(durations, 0.99) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const results: Record<ServerName, Result[]> = { bare: [], kit: [] };
const ratios: number[] = [];
console.log(`Greet, ${REQUESTS} requests per run, ${CONNECTIONS} connections x ${STREAMS} streams, ${ROUNDS} rounds`);
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const order: ServerName[] = round % 2 ? ["bare", "kit"] : ["kit", "bare"];
    for (const name of order) {
      const child = await start(name);
      try {
        h2load(WARMUP);
        const result = h2load(REQUESTS, join(work, `${name}-${round}.log`));
        results[name].push(result);
        console.log(
          `round ${round} ${name.padEnd(4)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms`,
        );
      } finally {
        await stop(child);
      }
    }
    ratios.push(results.kit[round - 1]!.rps / results.bare[round - 1]!.rps);
  }
  console.log("\nmedian over rounds");
  for (const name of ["bare", "kit"] as const) {
    const runs = results[name];
    console.log(
      `  ${name.padEnd(4)} ${median(runs.map((r) => r.rps))
        .toFixed(0)
        .padStart(
          7,
        )} req/s  p50 ${median(runs.map((r) => r.p50)).toFixed(1)} ms  p99 ${median(runs.map((r) => r.p99)).toFixed(1)} ms`,
    );
  }
  console.log(`  ratio kit/bare (median of per-round ratios): ${median(ratios).toFixed(3)}  (target >= 0.95)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
