/**
 * The gateway's cost and the list benchmark, in one run under the same machine conditions (servers pinned to CPU 0,
 * h2load to CPU 1, the targets taking turns within each round, the order reversed every other round):
 *   Greet directly over gRPC  vs  Greet as REST/JSON through the gateway, over HTTP/1.1 keep-alive (64 connections,
 *   as REST clients connect) and over h2c (target >= 0.7x of direct), and through the least a Node proxy does
 *   (greet-proxy.ts: a bare grpc-js client, no mapping or resilience), the floor for a gateway built on grpc-js,
 *   and Node's HTTP/1.1 server answering Greet by itself (greet-proxy.ts --no-backend), beside the 0.7x budget;
 *   a 100-user ListUsers over gRPC (bare grpc-js server with Lattice's codecs, and the kit's full chain)  vs  the
 *   same list as JSON from a plain Node server (HTTP/1.1 and h2c)  vs  the same list through the gateway (target:
 *   gRPC >= 1.0x plain JSON).
 * Ratios are given for req/s and at equal CPU: CPU per request is that of every server process a request touches
 * (the gateway and the service behind it), read from the threads' schedstat in ns; with every server on one core
 * it is the steadier figure on a shared machine. Then CPU profiles of the gateway serving Greet over HTTP/1.1 and the
 * list, summarized by where its time goes. Run through `npm run bench`; BENCH_ROUNDS, BENCH_REQUESTS (the list runs a
 * quarter of it), and BENCH_GATEWAY ("greet", "list" or "greet,list", the default) to run a part only.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ListUsersRequest } from "@lattice/proto/lattice/user/v1/user";
import { grpcFrame } from "@lattice/kit/testing";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 7);
const REQUESTS = Number(process.env["BENCH_REQUESTS"] ?? 20_000);
const PARTS = new Set((process.env["BENCH_GATEWAY"] ?? "greet,list").split(",").map((part) => part.trim()));
const LIST_REQUESTS = Math.ceil(REQUESTS / 4);
const CONNECTIONS = 16;
const STREAMS = 32;
/** HTTP/1.1 has one request in flight per connection: this many connections keep the server as busy as h2c does. */
const HTTP1_CONNECTIONS = 64;
const PORT = {
  greeter: 50081,
  users: 50082,
  gateway: 50083,
  plain: 50084,
  plainHttp1: 50086,
  lattice: 50087,
  proxy: 50088,
  nodeAlone: 50089,
} as const;
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lattice-gateway-bench-"));

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
  /** HTTP/1.1 keep-alive (HTTP1_CONNECTIONS connections) instead of h2c (CONNECTIONS x STREAMS). */
  readonly http1?: boolean;
  /** Requests per run: BENCH_REQUESTS, or a quarter of it for the list (each answer is 10-21 KB). */
  readonly requests: number;
  /** The processes whose CPU the request costs. */
  readonly processes: () => ChildProcess[];
}

const children: Record<string, ChildProcess> = {};
const grpcHeaders = ["content-type: application/grpc", "te: trailers"];
const greetGrpc: Target = {
  label: "Greet gRPC direct",
  requests: REQUESTS,
  url: `http://127.0.0.1:${PORT.greeter}/lattice.greeter.v1.GreeterService/Greet`,
  headers: grpcHeaders,
  body: files.greetGrpc,
  processes: () => [children["greeter"]!],
};
const greetRest = (http1: boolean): Target => ({
  label: `Greet REST via gateway, ${http1 ? "HTTP/1.1" : "h2c"}`,
  requests: REQUESTS,
  url: `http://127.0.0.1:${PORT.gateway}/v1/greet`,
  headers: ["content-type: application/json"],
  body: files.greetJson,
  http1,
  processes: () => [children["gateway"]!, children["greeter"]!],
});
const greetProxy: Target = {
  label: "Greet REST via bare proxy, HTTP/1.1",
  requests: REQUESTS,
  url: `http://127.0.0.1:${PORT.proxy}/v1/greet`,
  headers: ["content-type: application/json"],
  body: files.greetJson,
  http1: true,
  processes: () => [children["proxy"]!, children["greeter"]!],
};
const greetNodeAlone: Target = {
  label: "Greet answered by Node alone, HTTP/1.1",
  requests: REQUESTS,
  url: `http://127.0.0.1:${PORT.nodeAlone}/v1/greet`,
  headers: ["content-type: application/json"],
  body: files.greetJson,
  http1: true,
  processes: () => [children["nodeAlone"]!],
};
const listGrpc: Target = {
  label: "List 100 gRPC, bare server",
  requests: LIST_REQUESTS,
  url: `http://127.0.0.1:${PORT.users}/lattice.user.v1.UserService/ListUsers`,
  headers: grpcHeaders,
  body: files.listGrpc,
  processes: () => [children["users"]!],
};
const listLattice: Target = {
  label: "List 100 gRPC, kit full chain",
  requests: LIST_REQUESTS,
  url: `http://127.0.0.1:${PORT.lattice}/lattice.user.v1.UserService/ListUsers`,
  headers: grpcHeaders,
  body: files.listGrpc,
  processes: () => [children["lattice"]!],
};
const listGateway: Target = {
  label: "List 100 JSON via gateway, HTTP/1.1",
  requests: LIST_REQUESTS,
  url: `http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`,
  headers: [],
  http1: true,
  processes: () => [children["gateway"]!, children["users"]!],
};
const listPlain = (http1: boolean): Target => ({
  label: `List 100 JSON plain Node, ${http1 ? "HTTP/1.1" : "h2c"}`,
  requests: LIST_REQUESTS,
  url: `http://127.0.0.1:${http1 ? PORT.plainHttp1 : PORT.plain}/v1/users?pageSize=100`,
  headers: [],
  http1,
  processes: () => [children[http1 ? "plainHttp1" : "plain"]!],
});
const greetTargets = [greetGrpc, greetRest(true), greetRest(false), greetProxy, greetNodeAlone] as const;
const listTargets = [listGrpc, listLattice, listGateway, listPlain(true), listPlain(false)] as const;
const targets: Target[] = [...(PARTS.has("greet") ? greetTargets : []), ...(PARTS.has("list") ? listTargets : [])];

/**
 * Settings of the kit's servers in the benchmark: no GOAWAY after the default 30 s connection age, which a slow run
 * reaches and h2load counts as failed requests (it does not retry them on a new connection).
 */
const KIT_SERVER = { GRPC_MAX_CONNECTION_AGE_MS: String(3_600_000) } as const;

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

interface Result {
  rps: number;
  /** ms */
  p50: number;
  /** ms */
  p99: number;
  /** CPU per request, µs */
  cpuUs: number;
}

function h2loadHeaders(target: Target): string[] {
  return target.headers.flatMap((header) => ["-H", header]);
}

function h2load(target: Target, requests: number): Omit<Result, "cpuUs"> {
  const log = join(work, "h2load.log");
  // h2load appends to its log file: each run starts a new one, or its latencies would mix with earlier runs'.
  rmSync(log, { force: true });
  const args = ["-c", "1", "h2load", "-n", String(requests), "-t", "1"];
  if (target.http1) args.push("--h1", "-c", String(HTTP1_CONNECTIONS), "-m", "1");
  else args.push("-c", String(CONNECTIONS), "-m", String(STREAMS));
  args.push(...h2loadHeaders(target));
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

/** CPU time a process has used so far, µs: its threads' run time from /proc/<pid>/task/<tid>/schedstat (ns). */
function cpuMicros(child: ChildProcess): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${child.pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1000;
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
function summarizeProfile(file: string, what: string): void {
  interface Node {
    id: number;
    hitCount?: number;
    children?: number[];
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[] };
  const parents = new Map<number, Node>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
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
    if (/@opentelemetry/.test(url)) return "OpenTelemetry API";
    if (/prom-client/.test(url)) return "metrics (prom-client)";
    if (/services\/kit/.test(url)) return "kit (interceptors, breaker, context)";
    if (/services\/gateway.*wire-json/.test(url)) return "JSON from the wire bytes (gateway)";
    if (/services\/gateway/.test(url)) return "gateway (routing, headers, framing)";
    if (functionName === "stringify" || functionName === "parse") return "JSON.stringify / JSON.parse";
    if (/node:internal\/modules|node:internal\/main/.test(url)) return "start-up (loading modules)";
    if (/node:internal\/process\/task_queues|node:async_hooks|node:events|node:internal\/async/.test(url))
      return "promises, async hooks, events";
    return "other";
  };
  // Native frames (no URL: socket writes, string conversions, microtask runs) count for the JavaScript that called
  // them, the nearest caller whose area is known.
  const areaOf = (n: Node): string => {
    const own = area(n);
    if (own !== "other" || n.callFrame.url !== "") return own;
    for (let up = parents.get(n.id); up; up = parents.get(up.id)) {
      const found = area(up);
      if (found !== "other") return found;
    }
    return own;
  };
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/services\//, "services/")}:${node.callFrame.lineNumber + 1}`;
    const where = areaOf(node);
    byArea.set(where, (byArea.get(where) ?? 0) + hits);
    if (where !== "idle / V8 internals") byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  const busy = total - (byArea.get("idle / V8 internals") ?? 0);
  console.log(`\nprofile of the gateway serving ${what} (self time, % of ${busy} busy samples)`);
  for (const [name, hits] of [...byArea].sort((a, b) => b[1] - a[1]))
    if (name !== "idle / V8 internals") console.log(`  ${((hits / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log("  top functions:");
  for (const [name, hits] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 12))
    console.log(`  ${((hits / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
}

try {
  launch("greeter", [here("../../../greeter/dist/src/main.js")], {
    ...KIT_SERVER,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: String(PORT.greeter),
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "18081",
    HEALTH_PORT: "18091",
  });
  launch("proxy", [here("./greet-proxy.js"), String(PORT.proxy), `127.0.0.1:${PORT.greeter}`]);
  launch("nodeAlone", [here("./greet-proxy.js"), String(PORT.nodeAlone), "--no-backend"]);
  launch("users", [here("./list-servers.js"), "grpc", String(PORT.users)]);
  launch("lattice", [here("./list-servers.js"), "lattice"], {
    ...KIT_SERVER,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: String(PORT.lattice),
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: "18087",
    HEALTH_PORT: "18097",
  });
  launch("plain", [here("./list-servers.js"), "json", String(PORT.plain)]);
  launch("plainHttp1", [here("./list-servers.js"), "json-http1", String(PORT.plainHttp1)]);
  startGateway();
  await ready(`http://127.0.0.1:${PORT.gateway}/v1/greet`, { method: "POST", body: '{"name":"Ada"}' });
  await ready(`http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`);
  await ready(`http://127.0.0.1:${PORT.plainHttp1}/v1/users?pageSize=100`);
  await ready(`http://127.0.0.1:${PORT.proxy}/v1/greet`, { method: "POST", body: '{"name":"Ada"}' });
  await ready(`http://127.0.0.1:${PORT.nodeAlone}/v1/greet`, { method: "POST", body: '{"name":"Ada"}' });
  // HTTP/2 only (the plain h2c server, the kit's list server): asked with h2load itself.
  for (const url of [`http://127.0.0.1:${PORT.plain}/`, listLattice.url])
    for (
      let attempt = 0;
      spawnSync("h2load", ["-n", "1", ...h2loadHeaders(listLattice), url]).status !== 0;
      attempt++
    ) {
      if (attempt > 50) throw new Error(`${url} did not become ready`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  console.log(
    `${REQUESTS} requests per run (the list: ${LIST_REQUESTS}); h2c: ${CONNECTIONS} connections x ${STREAMS} streams, HTTP/1.1: ${HTTP1_CONNECTIONS} ` +
      `keep-alive connections; ${ROUNDS} rounds`,
  );
  for (const target of targets) h2load(target, target.requests);
  const results = new Map<Target, Result[]>(targets.map((t) => [t, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? targets : [...targets].reverse();
    for (const target of order) {
      const before = target.processes().reduce((sum, c) => sum + cpuMicros(c), 0);
      const load = h2load(target, target.requests);
      const cpuUs = (target.processes().reduce((sum, c) => sum + cpuMicros(c), 0) - before) / target.requests;
      results.get(target)!.push({ ...load, cpuUs });
    }
  }
  console.log("\nmedian over rounds (CPU: every server process the request touches)");
  for (const target of targets) {
    const runs = results.get(target)!;
    console.log(
      `  ${target.label.padEnd(36)} ${median(runs.map((x) => x.rps))
        .toFixed(0)
        .padStart(7)} req/s` +
        `  p50 ${median(runs.map((x) => x.p50))
          .toFixed(1)
          .padStart(5)} ms  p99 ${median(runs.map((x) => x.p99))
          .toFixed(1)
          .padStart(5)} ms` +
        `  CPU ${median(runs.map((x) => x.cpuUs))
          .toFixed(1)
          .padStart(6)} µs/req`,
    );
  }
  console.log("\nratios (medians of the per-round ratios): req/s, and at equal CPU (CPU per request, inverted)");
  const ratio = (label: string, a: Target, b: Target, target = "") => {
    const [ra, rb] = [results.get(a)!, results.get(b)!];
    const rps = median(ra.map((x, i) => x.rps / rb[i]!.rps));
    const cpu = median(ra.map((x, i) => rb[i]!.cpuUs / x.cpuUs));
    console.log(
      `  ${label.padEnd(52)} ${rps.toFixed(2).padStart(5)}x  at equal CPU ${cpu.toFixed(2).padStart(5)}x${target}`,
    );
  };
  if (PARTS.has("greet")) {
    ratio("Greet REST via gateway (HTTP/1.1) / gRPC direct", greetTargets[1], greetGrpc, "  (target >= 0.7x)");
    ratio("Greet REST via gateway (h2c) / gRPC direct", greetTargets[2], greetGrpc, "  (target >= 0.7x)");
    ratio("Greet REST via bare proxy (floor) / gRPC direct", greetProxy, greetGrpc);
    ratio("Greet REST via gateway (HTTP/1.1) / bare proxy", greetTargets[1], greetProxy);
    // With every server on one core, REST's ratio is direct CPU / (gateway CPU + direct CPU): 0.7x leaves a gateway
    // direct × (1/0.7 − 1) per request. Set beside it what Node's HTTP/1.1 server spends answering by itself.
    const direct = results.get(greetGrpc)!;
    const alone = results.get(greetNodeAlone)!;
    const budget = median(direct.map((x) => x.cpuUs * (1 / 0.7 - 1)));
    const nodeAlone = median(alone.map((x) => x.cpuUs));
    console.log(
      `  a gateway at 0.7x may spend ${budget.toFixed(1)} µs/req; Node's HTTP/1.1 server answering Greet by itself, ` +
        `forwarding nothing, spends ${nodeAlone.toFixed(1)} µs/req (${(nodeAlone / budget).toFixed(1)}x that budget)`,
    );
  }
  if (PARTS.has("list")) {
    const [plainHttp1, plainH2c] = [listTargets[3], listTargets[4]];
    ratio("List gRPC (bare) / plain Node JSON (HTTP/1.1)", listGrpc, plainHttp1, "  (target >= 1.0x)");
    ratio("List gRPC (kit full chain) / plain Node JSON (HTTP/1.1)", listLattice, plainHttp1, "  (target >= 1.0x)");
    ratio("List gRPC (bare) / plain Node JSON (h2c)", listGrpc, plainH2c);
    ratio("List JSON via gateway / plain Node JSON (HTTP/1.1)", listGateway, plainHttp1);
    ratio("List JSON via gateway / gRPC (bare)", listGateway, listGrpc);
  }

  // Profiles: the gateway again, under --cpu-prof, for one run of each part.
  const profiled: [string, Target, string][] = [];
  if (PARTS.has("greet")) profiled.push(["greet", greetTargets[1], "Greet as REST over HTTP/1.1"]);
  if (PARTS.has("list")) profiled.push(["list", listGateway, "the 100-user list"]);
  for (const [name, target, what] of profiled) {
    await stop(children["gateway"]);
    const profiles = join(work, `profile-${name}`);
    startGateway(["--cpu-prof", `--cpu-prof-dir=${profiles}`]);
    await ready(`http://127.0.0.1:${PORT.gateway}/v1/users?pageSize=100`);
    h2load(target, target.requests);
    await stop(children["gateway"]);
    const file = readdirSync(profiles).find((f) => f.endsWith(".cpuprofile"));
    if (file) summarizeProfile(join(profiles, file), what);
    else console.log(`no CPU profile of ${what} was written`);
  }
} finally {
  await Promise.all(Object.values(children).map(stop));
  rmSync(work, { recursive: true, force: true });
}
