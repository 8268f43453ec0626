/**
 * The codec path on Greet, measured side by side: a bare grpc-js server whose messages go through
 * @grpc/proto-loader (protobufjs) — the reference most grpc-js servers are — against the same bare server with
 * Lattice's generated codecs, and against the greeter as the kit runs it (full chain). Same handler everywhere. Every
 * server is pinned to CPU 0 and h2load to CPU 1; servers take turns in short bursts (the order rotates each round),
 * so each round sees the same machine conditions; the report gives medians over rounds, and the median of the
 * per-round ratios to the proto-loader server. Run through `npm run bench`; BENCH_ROUNDS, BENCH_REQUESTS,
 * BENCH_WARMUP, and BENCH_PROFILE=1 to also write a CPU profile of each server (into BENCH_PROFILE_DIR).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@lattice/kit";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { grpcFrame } from "@lattice/kit/testing";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 9);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 40_000);
const WARMUP = Number(process.env["BENCH_WARMUP"] ?? 40_000);
const PROFILE_DIR = process.env["BENCH_PROFILE"] ? (process.env["BENCH_PROFILE_DIR"] ?? "bench-profiles") : undefined;
const CONNECTIONS = 16;
const STREAMS = 32;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

interface Server {
  readonly label: string;
  readonly main: string;
  readonly env: Readonly<Record<string, string>>;
  readonly port: number;
}
const servers: readonly Server[] = [
  { label: "proto-loader bare", main: here("./proto-loader-server.js"), env: {}, port: 50071 },
  { label: "Lattice bare", main: here("./bare-server.js"), env: {}, port: 50072 },
  {
    label: "Lattice full chain",
    main: here("../src/main.js"),
    env: { GRPC_HOST: "127.0.0.1", ADMIN_HOST: "127.0.0.1", ADMIN_PORT: "18073", HEALTH_PORT: "18083" },
    port: 50073,
  },
];

const work = mkdtempSync(join(tmpdir(), "lattice-codec-bench-"));
const body = join(work, "greet.bin");
writeFileSync(body, grpcFrame(GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).finish()));

async function start(server: Server): Promise<ChildProcess> {
  const devNull = openSync("/dev/null", "w");
  const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = spawn("taskset", ["-c", "0", process.execPath, ...profile, server.main], {
    env: { ...process.env, LOG_FORMAT: "json", ...server.env, GRPC_PORT: String(server.port) },
    stdio: ["ignore", devNull, "inherit"],
  });
  closeSync(devNull);
  // Ready once a real client gets the right answer (h2load checks only the HTTP status, not grpc-status).
  const client = createClient(GreeterServiceService, `127.0.0.1:${server.port}`);
  try {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`${server.label} exited with ${child.exitCode}`);
      const reply = await client
        .greet({ name: "Ada", language: Language.LANGUAGE_ENGLISH }, { timeoutMs: 1000 })
        .catch((error: unknown) => {
          if (attempt >= 50) throw error;
          return undefined;
        });
      if (reply) {
        if (reply.message !== "Hello, Ada!" || reply.language !== Language.LANGUAGE_ENGLISH)
          throw new Error(`${server.label} answered ${JSON.stringify(reply)}`);
        return child;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    client.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

function h2load(port: number, requests: number): number {
  const args = ["-c", "1", "h2load", "-n", String(requests), "-c", String(CONNECTIONS), "-m", String(STREAMS)];
  args.push("-t", "1", "-H", "content-type: application/grpc", "-H", "te: trailers", "-d", body);
  args.push(`http://127.0.0.1:${port}/lattice.greeter.v1.GreeterService/Greet`);
  const run = spawnSync("taskset", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h2load failed: ${run.stderr || run.stdout}`);
  const succeeded = Number(/(\d+) succeeded/.exec(run.stdout)?.[1]);
  if (succeeded !== requests) throw new Error(`only ${succeeded} of ${requests} requests succeeded:\n${run.stdout}`);
  return Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(run.stdout)?.[1]);
}

/**
 * CPU time a process has used so far, in microseconds: the sum over its threads of the time the scheduler ran them
 * (/proc/<pid>/task/<tid>/schedstat, nanoseconds; finer than /proc/<pid>/stat's clock ticks).
 */
function cpuMicros(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1000;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

console.log(
  `Greet, ${REQUESTS} requests per run, ${CONNECTIONS} connections x ${STREAMS} streams, ${ROUNDS} rounds (servers on CPU 0, load on CPU 1)`,
);
const running: ChildProcess[] = [];
const rps = servers.map((): number[] => []);
const cpu = servers.map((): number[] => []);
const rpsRatios = servers.map((): number[] => []);
const cpuRatios = servers.map((): number[] => []);
try {
  for (const server of servers) running.push(await start(server));
  for (const server of servers) h2load(server.port, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    const order = servers.map((_, i) => (i + round) % servers.length);
    for (const i of order) {
      const pid = running[i]!.pid!;
      const before = cpuMicros(pid);
      rps[i]!.push(h2load(servers[i]!.port, REQUESTS));
      cpu[i]!.push((cpuMicros(pid) - before) / REQUESTS);
    }
    for (const i of servers.keys()) {
      rpsRatios[i]!.push(rps[i]![round]! / rps[0]![round]!);
      cpuRatios[i]!.push(cpu[0]![round]! / cpu[i]![round]!);
    }
    console.log(
      `round ${String(round + 1).padStart(2)}  ` +
        servers
          .map((s, i) => `${s.label} ${rps[i]![round]!.toFixed(0)} req/s ${cpu[i]![round]!.toFixed(1)} µs`)
          .join("  "),
    );
  }
  console.log(
    `\nmedians over rounds; ratios are medians of the per-round ratios to ${servers[0]!.label}` +
      "\n(at equal CPU: its CPU per request over this one's, the steadier figure on a shared machine)",
  );
  for (const [i, server] of servers.entries())
    console.log(
      `  ${server.label.padEnd(20)} ${median(rps[i]!).toFixed(0).padStart(7)} req/s  CPU ${median(cpu[i]!).toFixed(1).padStart(5)} µs/req` +
        `  ratio ${median(rpsRatios[i]!).toFixed(3)}  at equal CPU ${median(cpuRatios[i]!).toFixed(3)}`,
    );
} finally {
  await Promise.all(running.map(stop));
  rmSync(work, { recursive: true, force: true });
}
