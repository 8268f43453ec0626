/**
 * Greet throughput and latency of the greeter with the kit's full chain against a bare grpc-js server running the
 * same handler. Both servers run for the whole benchmark, pinned to CPU 0, with h2load pinned to CPU 1. They are
 * measured in short alternating bursts, so each pair of runs sees the same machine conditions; the report gives
 * medians over rounds and the median of the per-round ratios. Run through `npm run bench`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@lattice/kit";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 15);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 50_000);
const WARMUP = Number(process.env["BENCH_WARMUP"] ?? 50_000);
const CONNECTIONS = 16;
const STREAMS = 32;
const PORTS = { bare: 50061, kit: 50062 } as const;
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

const servers = {
  bare: { main: fileURLToPath(new URL("./bare-server.js", import.meta.url)), env: {} },
  kit: {
    main: fileURLToPath(new URL("../src/main.js", import.meta.url)),
    // Full chain as deployed: metrics, one info log line per call (to /dev/null here), recovery.
    env: {
      GRPC_HOST: "127.0.0.1",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: "18061",
      HEALTH_PORT: "18071",
      LOG_FORMAT: "json",
    },
  },
} as const;
type ServerName = keyof typeof servers;

interface Result {
  rps: number;
  /** Server CPU (user + system) per request, in microseconds: steadier than req/s on a shared machine. */
  cpuUs: number;
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
  // Logs go to /dev/null: the server still formats and writes every line, as it would to a container's stdout.
  const devNull = openSync("/dev/null", "w");
  const child = spawn("taskset", ["-c", "0", process.execPath, main], {
    env: { ...process.env, ...env, GRPC_PORT: String(PORTS[name]) },
    stdio: ["ignore", devNull, "inherit"],
  });
  closeSync(devNull);
  // Ready once a real client gets the right answer (h2load checks only the HTTP status, not grpc-status).
  const client = createClient(GreeterServiceService, `127.0.0.1:${PORTS[name]}`);
  try {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`${name} server exited with ${child.exitCode}`);
      const reply = await client
        .greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH }, { timeoutMs: 1000 })
        .catch((error: unknown) => {
          if (attempt >= 50) throw error;
          return undefined;
        });
      if (reply) {
        if (reply.message !== "Hello, Ada!") throw new Error(`${name} answered ${JSON.stringify(reply)}`);
        return child;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function h2load(port: number, requests: number, logFile?: string): Omit<Result, "cpuUs"> {
  const args = ["-c", "1", "h2load", "-n", String(requests), "-c", String(CONNECTIONS), "-m", String(STREAMS)];
  args.push("-t", "1", "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body);
  if (logFile) args.push("--log-file", logFile);
  args.push(`http://127.0.0.1:${port}/lattice.greeter.v1.GreeterService/Greet`);
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

/** utime + stime of a process, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
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
const cpuRatios: number[] = [];
console.log(`Greet, ${REQUESTS} requests per run, ${CONNECTIONS} connections x ${STREAMS} streams, ${ROUNDS} rounds`);
const running = { bare: await start("bare"), kit: await start("kit") };
try {
  for (const name of ["bare", "kit"] as const) h2load(PORTS[name], WARMUP);
  for (let round = 1; round <= ROUNDS; round++) {
    const order: ServerName[] = round % 2 ? ["bare", "kit"] : ["kit", "bare"];
    for (const name of order) {
      const pid = running[name].pid!;
      const cpuBefore = cpuSeconds(pid);
      const load = h2load(PORTS[name], REQUESTS, join(work, `${name}-${round}.log`));
      const result = { ...load, cpuUs: ((cpuSeconds(pid) - cpuBefore) / REQUESTS) * 1e6 };
      results[name].push(result);
      console.log(
        `round ${String(round).padStart(2)} ${name.padEnd(4)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  CPU ${result.cpuUs.toFixed(1)} µs/req`,
      );
    }
    const [bare, kit] = [results.bare[round - 1]!, results.kit[round - 1]!];
    ratios.push(kit.rps / bare.rps);
    cpuRatios.push(bare.cpuUs / kit.cpuUs);
  }
  console.log("\nmedian over rounds");
  for (const name of ["bare", "kit"] as const) {
    const runs = results[name];
    const rps = median(runs.map((r) => r.rps))
      .toFixed(0)
      .padStart(7);
    const p50 = median(runs.map((r) => r.p50)).toFixed(1);
    const p99 = median(runs.map((r) => r.p99)).toFixed(1);
    const cpu = median(runs.map((r) => r.cpuUs)).toFixed(1);
    console.log(`  ${name.padEnd(4)} ${rps} req/s  p50 ${p50} ms  p99 ${p99} ms  CPU ${cpu} µs/req`);
  }
  console.log(
    `  throughput ratio kit/bare (median of per-round ratios): ${median(ratios).toFixed(3)}  (target >= 0.95)`,
  );
  console.log(`  CPU-cost ratio bare/kit per request (median of per-round ratios): ${median(cpuRatios).toFixed(3)}`);
} finally {
  await Promise.all([stop(running.bare), stop(running.kit)]);
  rmSync(work, { recursive: true, force: true });
}
