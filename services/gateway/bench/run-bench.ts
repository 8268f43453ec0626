/**
 * The gateway's cost, in one run under the same machine conditions (servers pinned to CPU 0, h2load to CPU 1,
 * alternating within each round):
 *   Greet directly over gRPC  vs  Greet as REST/JSON through the gateway (target >= 0.7x of direct);
 *   a 100-user ListUsers over gRPC  vs  the same list as JSON through the gateway  vs  a plain Node HTTP/2 JSON server.
 * Then a CPU profile of the gateway serving the list, summarized by where its time goes. Run through `npm run bench`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ListUsersRequest } from "@lattice/proto/lattice/user/v1/user";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 20_000);
const CONNECTIONS = 16;
const STREAMS = 32;
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const PORT = { greeter: 50081, users: 50082, gateway: 50083, plain: 50084 } as const;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lattice-gateway-bench-"));

function grpcFrame(bytes: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}
const files = {
  greetGrpc: join(work, "greet.bin"),
  greetJson: join(work, "greet.json"),
  listGrpc: join(work, "list.bin"),
};
writeFileSync(
  files.greetGrpc,
  grpcFrame(GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).finish()),
);
writeFileSync(files.greetJson, JSON.stringify({ name: "Ada", language: "LANGUAGE_ENGLISH" }));
writeFileSync(files.listGrpc, grpcFrame(ListUsersRequest.encode({ pageSize: 100, pageToken: "" }).finish()));

interface Target {
  readonly label: string;
  readonly url: string;
  readonly headers: readonly string[];
  readonly body?: string;
  /** The processes whose CPU the request costs. */
  readonly processes: () => ChildProcess[];
}

const children: Record<string, ChildProcess> = {};
const grpcHeaders = ["content-type: application/grpc", "te: trailers"];
const targets: Target[] = [
  {
    label: "Greet gRPC direct",
    url: `http://127.0.0.1:${PORT.greeter}/lattice.greeter.v1.GreeterService/Greet`,
    headers: grpcHeaders,
    body: files.greetGrpc,
    processes: () => [children["greeter"]!],
  },
  {
    label: "Greet REST via gateway",
    url: `http://127.0.0.1:${PORT.gateway}/v1/greet`,
    headers: ["content-type: application/json"],
    body: files.greetJson,
    processes: () => [children["gateway"]!, children["greeter"]!],
  },
  {
    label: "List 100 gRPC direct",
    url: `http://127.0.0.1:${PORT.users}/lattice.user.v1.UserService/ListUsers`,
    headers: grpcHeaders,
    body: files.listGrpc,
    processes: () => [children["users"]!],
  },
  {
    label: "List 100 JSON via gateway",
    url: `http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`,
    headers: [],
    processes: () => [children["gateway"]!, children["users"]!],
  },
  {
    label: "List 100 JSON plain Node",
    url: `http://127.0.0.1:${PORT.plain}/v1/users?pageSize=100`,
    headers: [],
    processes: () => [children["plain"]!],
  },
];

function launch(name: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const devNull = openSync("/dev/null", "w");
  const child = spawn("taskset", ["-c", "0", process.execPath, ...args], {
    env: { ...process.env, LOG_FORMAT: "json", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", devNull, "inherit"],
  });
  closeSync(devNull);
  children[name] = child;
  return child;
}

async function ready(url: string, init?: RequestInit): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const response = await fetch(url, init);
      if (response.ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not become ready`);
}

function startGateway(extraNodeArgs: string[] = []): ChildProcess {
  return launch("gateway", [...extraNodeArgs, here("../src/main.js")], {
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "50085",
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "18085",
    HEALTH_PORT: "18095",
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: String(PORT.gateway),
    GREETER_SERVICE_ADDRESS: `127.0.0.1:${PORT.greeter}`,
    USER_SERVICE_ADDRESS: `127.0.0.1:${PORT.users}`,
    PAYMENT_SERVICE_ADDRESS: "127.0.0.1:1",
    ORDER_SERVICE_ADDRESS: "127.0.0.1:1",
    SHUTDOWN_DRAIN_MS: "0",
  });
}

function h2load(target: Target, requests: number): { rps: number; p50: number; p99: number } {
  const log = join(work, "h2load.log");
  const args = [
    "-c",
    "1",
    "h2load",
    "-n",
    String(requests),
    "-c",
    String(CONNECTIONS),
    "-m",
    String(STREAMS),
    "-t",
    "1",
  ];
  for (const header of target.headers) args.push("-H", header);
  if (target.body) args.push("-d", target.body);
  args.push("--log-file", log, target.url);
  const run = spawnSync("taskset", args, { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`h2load failed: ${run.stderr || run.stdout}`);
  const succeeded = Number(/(\d+) succeeded/.exec(run.stdout)?.[1]);
  const ok2xx = Number(/status codes: (\d+) 2xx/.exec(run.stdout)?.[1]);
  if (succeeded !== requests || ok2xx !== requests)
    throw new Error(`${target.label}: ${ok2xx} of ${requests} answered 2xx:\n${run.stdout}`);
  const durations = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  const at = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]!;
  return { rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(run.stdout)?.[1]), p50: at(0.5), p99: at(0.99) };
}

function cpuSeconds(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Self time of a V8 CPU profile, by function, and by what the function belongs to. */
function summarizeProfile(file: string): void {
  interface Node {
    id: number;
    hitCount?: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[] };
  const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const area = (n: Node): string => {
    const { url, functionName } = n.callFrame;
    if (functionName === "(garbage collector)") return "garbage collection";
    if (functionName === "(idle)" || functionName === "(program)") return "idle / V8 internals";
    if (/@bufbuild\/protobuf.*(to-json|json-value|wkt)/.test(url)) return "JSON encode (protobuf-es toJson)";
    if (/@bufbuild\/protobuf.*(from-binary|wire|reflect)/.test(url))
      return "protobuf decode (fromBinary) and reflection";
    if (/@bufbuild\/protobuf.*(from-json|to-binary)/.test(url)) return "request binding (fromJson, toBinary)";
    if (/@grpc\/grpc-js/.test(url)) return "gRPC client (grpc-js)";
    if (/node:internal\/http2|node:http2/.test(url)) return "HTTP/2 framing (node:http2)";
    if (/node:internal\/(streams|stream_base)|node:net|node:_http|node:internal\/http/.test(url))
      return "streams and sockets";
    if (/services\/kit/.test(url)) return "kit (interceptors, breaker, context)";
    if (/services\/gateway/.test(url)) return "gateway (routing, headers, framing)";
    if (functionName === "stringify" || functionName === "parse") return "JSON.stringify / JSON.parse";
    return "other";
  };
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/services\//, "services/")}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    byArea.set(area(node), (byArea.get(area(node)) ?? 0) + hits);
  }
  const busy = total - (byArea.get("idle / V8 internals") ?? 0);
  console.log(`\nprofile of the gateway serving the 100-user list (self time, % of ${busy} busy samples)`);
  for (const [name, hits] of [...byArea].sort((a, b) => b[1] - a[1]))
    if (name !== "idle / V8 internals") console.log(`  ${((hits / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log("  top functions:");
  for (const [name, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`  ${((hits / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

try {
  launch("greeter", [here("../../../greeter/dist/src/main.js")], {
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: String(PORT.greeter),
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "18081",
    HEALTH_PORT: "18091",
  });
  launch("users", [here("./list-servers.js"), "grpc", String(PORT.users)]);
  launch("plain", [here("./list-servers.js"), "json", String(PORT.plain)]);
  startGateway();
  await ready(`http://127.0.0.1:${PORT.gateway}/v1/greet`, { method: "POST", body: '{"name":"Ada"}' });
  await ready(`http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`);
  // HTTP/2 only, like the load: asked with h2load itself.
  for (let attempt = 0; spawnSync("h2load", ["-n", "1", `http://127.0.0.1:${PORT.plain}/`]).status !== 0; attempt++) {
    if (attempt > 50) throw new Error("the plain JSON server did not become ready");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  console.log(`${REQUESTS} requests per run, ${CONNECTIONS} connections x ${STREAMS} streams (h2c), ${ROUNDS} rounds`);
  for (const target of targets) h2load(target, REQUESTS);
  const results = new Map<string, { rps: number; p50: number; p99: number; cpuUs: number }[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    for (const target of order) {
      const before = target.processes().reduce((sum, c) => sum + cpuSeconds(c), 0);
      const load = h2load(target, REQUESTS);
      const cpuUs = ((target.processes().reduce((sum, c) => sum + cpuSeconds(c), 0) - before) / REQUESTS) * 1e6;
      results.set(target.label, [...(results.get(target.label) ?? []), { ...load, cpuUs }]);
    }
  }
  console.log("\nmedian over rounds (CPU: every server process the request touches)");
  const rps = new Map<string, number>();
  for (const target of targets) {
    const runs = results.get(target.label)!;
    const r = median(runs.map((x) => x.rps));
    rps.set(target.label, r);
    console.log(
      `  ${target.label.padEnd(26)} ${r.toFixed(0).padStart(7)} req/s  p50 ${median(runs.map((x) => x.p50)).toFixed(1)} ms` +
        `  p99 ${median(runs.map((x) => x.p99)).toFixed(1)} ms  CPU ${median(runs.map((x) => x.cpuUs)).toFixed(1)} µs/req`,
    );
  }
  const ratio = (a: string, b: string) => (rps.get(a)! / rps.get(b)!).toFixed(2);
  console.log(`  Greet REST/gRPC: ${ratio("Greet REST via gateway", "Greet gRPC direct")}x (target >= 0.7x)`);
  console.log(`  List JSON via gateway / gRPC direct: ${ratio("List 100 JSON via gateway", "List 100 gRPC direct")}x`);
  console.log(
    `  List JSON via gateway / plain Node JSON: ${ratio("List 100 JSON via gateway", "List 100 JSON plain Node")}x`,
  );

  // Profile: the gateway again, under --cpu-prof, serving the list for one run.
  await stop(children["gateway"]);
  const profiles = join(work, "profile");
  startGateway(["--cpu-prof", `--cpu-prof-dir=${profiles}`]);
  await ready(`http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`);
  h2load(targets[3]!, REQUESTS);
  await stop(children["gateway"]);
  const file = readdirSync(profiles).find((f) => f.endsWith(".cpuprofile"));
  if (file) summarizeProfile(join(profiles, file));
  else console.log("no CPU profile was written");
} finally {
  await Promise.all(Object.values(children).map(stop));
  rmSync(work, { recursive: true, force: true });
}
