/**
 * Greet throughput and latency of two servers measured side by side: by default the greeter with the kit's full
 * chain against a bare grpc-js server running the same handler; with BENCH_COMPARE=auth the greeter against the
 * greeter verifying a bearer token (ES256, JWKS file) on every call — the cost of the auth interceptor; with
 * BENCH_COMPARE=tracing the greeter against the greeter with tracing on, every call a span exported over OTLP/HTTP to a
 * collector stand-in in this process — the cost of tracing (with it off, the first comparison is its cost). Both servers
 * run for the whole benchmark, pinned to CPU 0, with h2load pinned to CPU 1. They are measured in short alternating
 * bursts, so each pair of runs sees the same machine conditions; the report gives medians over rounds and the median
 * of the per-round ratios. Run through `npm run bench` (`npm run bench -- --auth`, `npm run bench -- --tracing`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@lattice/kit";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { grpcFrame } from "@lattice/kit/testing";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 15);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 50_000);
const WARMUP = Number(process.env["BENCH_WARMUP"] ?? 50_000);
const COMPARE = (["auth", "tracing"] as const).find((mode) => process.env["BENCH_COMPARE"] === mode) ?? "chain";
const CONNECTIONS = 16;
const STREAMS = 32;
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

const work = mkdtempSync(join(tmpdir(), "lattice-bench-"));

// A token every request carries in the auth comparison (both servers get it; only one verifies it). Greet is
// declared anonymous, and a token that is sent is still verified: the whole cost of verification, on every call.
const keys = await generateKeyPair("ES256", { extractable: true });
const jwksFile = join(work, "jwks.json");
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: "bench", alg: "ES256" }] }),
);
const token = await new SignJWT({ roles: ["user"] })
  .setProtectedHeader({ alg: "ES256", kid: "bench" })
  .setSubject("bench")
  .setIssuer("https://issuer.bench")
  .setAudience("lattice")
  .setExpirationTime("2h")
  .sign(keys.privateKey);

const kitMain = fileURLToPath(new URL("../src/main.js", import.meta.url));
// Full chain as deployed: metrics, one info log line per call (to /dev/null here), recovery.
const kitEnv = (adminPort: number) => ({
  GRPC_HOST: "127.0.0.1",
  ADMIN_HOST: "127.0.0.1",
  ADMIN_PORT: String(adminPort),
  HEALTH_PORT: String(adminPort + 10),
  LOG_FORMAT: "json",
});
const jwtEnv = { JWT_JWKS_FILE: jwksFile, JWT_ISSUER: "https://issuer.bench", JWT_AUDIENCE: "lattice" };

// The tracing comparison's collector: an OTLP/HTTP endpoint on loopback that reads each export and answers 200, so
// the traced server pays for every span it makes, batches, encodes and sends (every call is sampled).
const collector = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/x-protobuf" }).end());
});
if (COMPARE === "tracing") {
  collector.listen(0, "127.0.0.1");
  await once(collector, "listening");
}
const collectorUrl = () => `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

interface Server {
  readonly main: string;
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
}
const servers: Readonly<Record<string, Server>> =
  COMPARE === "auth"
    ? {
        kit: { main: kitMain, env: kitEnv(18061), port: 50062 },
        auth: { main: kitMain, env: { ...kitEnv(18062), ...jwtEnv }, port: 50063 },
      }
    : COMPARE === "tracing"
      ? {
          kit: { main: kitMain, env: kitEnv(18061), port: 50062 },
          otel: { main: kitMain, env: { ...kitEnv(18062), OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl() }, port: 50064 },
        }
      : {
          bare: { main: fileURLToPath(new URL("./bare-server.js", import.meta.url)), env: {}, port: 50061 },
          kit: { main: kitMain, env: kitEnv(18061), port: 50062 },
        };
const [BASE, MEASURED] = Object.keys(servers) as [string, string];
const headers = COMPARE === "auth" ? [`authorization: Bearer ${token}`] : [];

interface Result {
  rps: number;
  /** Server CPU (user + system) per request, in microseconds: steadier than req/s on a shared machine. */
  cpuUs: number;
  p50: number;
  p99: number;
}

const body = join(work, "greet.bin");
writeFileSync(body, grpcFrame(GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).finish()));

async function start(name: string): Promise<ChildProcess> {
  const { main, env, port } = servers[name]!;
  // Logs go to /dev/null: the server still formats and writes every line, as it would to a container's stdout.
  const devNull = openSync("/dev/null", "w");
  const child = spawn("taskset", ["-c", "0", process.execPath, main], {
    env: { ...process.env, ...env, GRPC_PORT: String(port) },
    stdio: ["ignore", devNull, "inherit"],
  });
  closeSync(devNull);
  // Ready once a real client gets the right answer (h2load checks only the HTTP status, not grpc-status).
  const client = createClient(GreeterServiceService, `127.0.0.1:${port}`);
  try {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`${name} server exited with ${child.exitCode}`);
      const reply = await client
        .greet(
          { name: "Ada", language: Language.LANGUAGE_ENGLISH },
          { timeoutMs: 1000, metadata: COMPARE === "auth" ? { authorization: `Bearer ${token}` } : {} },
        )
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
  for (const header of headers) args.push("-H", header);
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

const results: Record<string, Result[]> = { [BASE]: [], [MEASURED]: [] };
const ratios: number[] = [];
const cpuRatios: number[] = [];
console.log(
  `Greet (${BASE} vs ${MEASURED}), ${REQUESTS} requests per run, ${CONNECTIONS} connections x ${STREAMS} streams, ${ROUNDS} rounds`,
);
const running: Record<string, ChildProcess> = { [BASE]: await start(BASE), [MEASURED]: await start(MEASURED) };
try {
  for (const name of [BASE, MEASURED]) h2load(servers[name]!.port, WARMUP);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? [BASE, MEASURED] : [MEASURED, BASE];
    for (const name of order) {
      const pid = running[name]!.pid!;
      const cpuBefore = cpuSeconds(pid);
      const load = h2load(servers[name]!.port, REQUESTS, join(work, `${name}-${round}.log`));
      const result = { ...load, cpuUs: ((cpuSeconds(pid) - cpuBefore) / REQUESTS) * 1e6 };
      results[name]!.push(result);
      console.log(
        `round ${String(round).padStart(2)} ${name.padEnd(4)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  CPU ${result.cpuUs.toFixed(1)} µs/req`,
      );
    }
    const [base, measured] = [results[BASE]![round - 1]!, results[MEASURED]![round - 1]!];
    ratios.push(measured.rps / base.rps);
    cpuRatios.push(base.cpuUs / measured.cpuUs);
  }
  console.log("\nmedian over rounds");
  for (const name of [BASE, MEASURED]) {
    const runs = results[name]!;
    const rps = median(runs.map((r) => r.rps))
      .toFixed(0)
      .padStart(7);
    const p50 = median(runs.map((r) => r.p50)).toFixed(1);
    const p99 = median(runs.map((r) => r.p99)).toFixed(1);
    const cpu = median(runs.map((r) => r.cpuUs)).toFixed(1);
    console.log(`  ${name.padEnd(4)} ${rps} req/s  p50 ${p50} ms  p99 ${p99} ms  CPU ${cpu} µs/req`);
  }
  const target = COMPARE === "chain" ? "  (target >= 0.95)" : "";
  console.log(
    `  throughput ratio ${MEASURED}/${BASE} (median of per-round ratios): ${median(ratios).toFixed(3)}${target}`,
  );
  console.log(
    `  CPU-cost ratio ${BASE}/${MEASURED} per request (median of per-round ratios): ${median(cpuRatios).toFixed(3)}`,
  );
  const extra = median(results[MEASURED]!.map((r) => r.cpuUs)) - median(results[BASE]!.map((r) => r.cpuUs));
  console.log(`  extra server CPU per request: ${extra.toFixed(1)} µs`);
} finally {
  await Promise.all([stop(running[BASE]!), stop(running[MEASURED]!)]);
  collector.close();
  rmSync(work, { recursive: true, force: true });
}
