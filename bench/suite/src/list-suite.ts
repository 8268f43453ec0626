/**
 * A 100-user list (ListUsers, 6 fields per user, two of them Timestamps): over gRPC from a bare grpc-js server with
 * Lattice's ts-proto codecs, and as JSON from a plain Node HTTP/2 server building the same objects and calling
 * JSON.stringify — the servers of the gateway's benchmark (services/gateway/bench/list-servers.ts), without a
 * database, so transport and encoding are all that is measured. Same method as the Greet suite: CPU 0 for the
 * servers, h2load on CPU 1, interleaved rounds, medians. "At equal CPU" compares requests per CPU-second.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@lattice/kit";
import { freePort } from "@lattice/kit/testing";
import { ListUsersRequest, UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { grpcFrame, h2load } from "./h2load.js";
import { http2Get } from "./http2-get.js";
import { PATHS } from "./paths.js";
import { cpuSeconds } from "./proc.js";
import { ServerProcess } from "./server-process.js";
import { median } from "./stats.js";
import type { RunSample } from "./greet-suite.js";

export interface ListOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly work: string;
  readonly print: (line: string) => void;
}

export interface ListTargetResult {
  readonly id: "grpc" | "json";
  readonly label: string;
  /** Size of one response body on the wire, in bytes (the gRPC one with its 5-byte frame header). */
  readonly responseBytes: number;
  readonly median: RunSample;
}

export interface ListResults {
  readonly rounds: number;
  readonly seconds: number;
  readonly targets: readonly ListTargetResult[];
  /** gRPC's req/s over JSON's, median of per-round ratios. */
  readonly rpsRatio: number;
  /** gRPC's requests per CPU-second over JSON's (JSON's CPU per request over gRPC's), median of per-round ratios. */
  readonly cpuRatio: number;
}

const CONNECTIONS = 16;
const STREAMS = 32;

/** Runs the list comparison; both servers are stopped when it returns or throws. */
export async function runListSuite(options: ListOptions): Promise<ListResults> {
  const { work } = options;
  const bodyFile = join(work, "list.bin");
  writeFileSync(bodyFile, grpcFrame(ListUsersRequest.encode({ pageSize: 100, pageToken: "" }).finish()));
  const ports = { grpc: await freePort(), json: await freePort() };
  const servers = {
    grpc: ServerProcess.start({
      name: "list gRPC server",
      command: process.execPath,
      args: [PATHS.listServers, "grpc", String(ports.grpc)],
      pinned: true,
      stderrFile: join(work, "list-grpc.stderr"),
    }),
    json: ServerProcess.start({
      name: "list JSON server",
      command: process.execPath,
      args: [PATHS.listServers, "json", String(ports.json)],
      pinned: true,
      stderrFile: join(work, "list-json.stderr"),
    }),
  };
  try {
    const client = createClient(UserServiceService, `127.0.0.1:${ports.grpc}`);
    let grpcBytes = 0;
    try {
      await servers.grpc.waitUntil(async () => {
        const reply = await client.listUsers({ pageSize: 100, pageToken: "" }, { timeoutMs: 1000 });
        if (reply.users.length !== 100) throw new Error(`ListUsers answered ${reply.users.length} users`);
        grpcBytes = 5 + UserServiceService.listUsers.responseSerialize(reply).length;
        return true;
      });
    } finally {
      client.close();
    }
    const jsonUrl = `http://127.0.0.1:${ports.json}/v1/users?pageSize=100`;
    let jsonBytes = 0;
    await servers.json.waitUntil(async () => {
      const answer = await http2Get(jsonUrl);
      jsonBytes = answer.body.length;
      return answer.status === 200 && (JSON.parse(answer.body.toString()) as { users: unknown[] }).users.length === 100;
    });
    const targets = [
      {
        id: "grpc" as const,
        label: "gRPC (grpc-js + ts-proto)",
        server: servers.grpc,
        responseBytes: grpcBytes,
        spec: {
          url: `http://127.0.0.1:${ports.grpc}/lattice.user.v1.UserService/ListUsers`,
          headers: ["content-type: application/grpc", "te: trailers"],
          bodyFile,
        },
      },
      {
        id: "json" as const,
        label: "JSON (plain Node HTTP/2)",
        server: servers.json,
        responseBytes: jsonBytes,
        spec: { url: jsonUrl, headers: [] },
      },
    ];
    const load = (target: (typeof targets)[number], seconds: number) =>
      h2load({
        ...target.spec,
        seconds,
        connections: CONNECTIONS,
        streams: STREAMS,
        logFile: join(work, "h2load.log"),
      });
    for (const target of targets) load(target, options.warmupSeconds);
    const samples = { grpc: [] as RunSample[], json: [] as RunSample[] };
    for (let round = 0; round < options.rounds; round++) {
      for (const target of round % 2 ? [...targets].reverse() : targets) {
        const before = cpuSeconds(target.server.pid);
        const result = load(target, options.seconds);
        const cpuUs = ((cpuSeconds(target.server.pid) - before) / result.requests) * 1e6;
        samples[target.id].push({ rps: result.rps, cpuUs, p50Ms: result.p50Ms, p99Ms: result.p99Ms });
      }
      options.print(
        `list round ${round + 1}/${options.rounds}: gRPC ${samples.grpc.at(-1)!.rps.toFixed(0)} req/s, JSON ${samples.json.at(-1)!.rps.toFixed(0)} req/s`,
      );
    }
    const medianOf = (runs: readonly RunSample[]): RunSample => ({
      rps: median(runs.map((s) => s.rps)),
      cpuUs: median(runs.map((s) => s.cpuUs)),
      p50Ms: median(runs.map((s) => s.p50Ms)),
      p99Ms: median(runs.map((s) => s.p99Ms)),
    });
    return {
      rounds: options.rounds,
      seconds: options.seconds,
      targets: targets.map((t) => ({
        id: t.id,
        label: t.label,
        responseBytes: t.responseBytes,
        median: medianOf(samples[t.id]),
      })),
      rpsRatio: median(samples.grpc.map((g, i) => g.rps / samples.json[i]!.rps)),
      cpuRatio: median(samples.grpc.map((g, i) => samples.json[i]!.cpuUs / g.cpuUs)),
    };
  } finally {
    await Promise.all([servers.grpc.stop(), servers.json.stop()]);
  }
}
