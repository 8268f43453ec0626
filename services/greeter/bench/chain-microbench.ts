/**
 * What each layer of the kit's server chain costs per call, without the network: the greeter's Greet through
 * Lattice's adapter (adaptService, as a grpc-js server calls it) with each chain of BENCH_MICRO_CHAINS, over a
 * stand-in for the grpc-js call (the request decoded from its bytes by the definition the server would use, the
 * request headers a client sends). Chains are measured in turns, BENCH_MICRO_ROUNDS rounds of BENCH_MICRO_CALLS
 * calls each (64 in flight), and priced as this process's CPU time (user + system, garbage collection included)
 * per call. The call scope, once on, is on for the whole process: measure a chain with "scope" in a process of its
 * own.
 *
 *   BENCH_MICRO_CHAINS   chains separated by ";", each as ladder-chain.ts reads it ("" is the adapter alone)
 *   BENCH_TOKEN          the bearer token every call carries; JWT_* and RATE_LIMITS as the kit reads them
 *   BENCH_MICRO_OUT      the file the results go to, as JSON (stdout has the logs):
 *                        {"chains":[{"chain":"metrics,logging","nsPerCall":[…one per round…]},…]}
 */
import { writeFileSync } from "node:fs";
import { Metadata, type handleUnaryCall, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { baseConfigSchema, createLogger, loadConfig } from "@lattice/kit";
import { adaptService } from "@lattice/kit/internal";
import { GreeterServiceService, GreetRequest, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "../src/handler.js";
import { ladderChain, parseLayers } from "./ladder-chain.js";

const CALLS = Number(process.env["BENCH_MICRO_CALLS"] ?? 100_000);
const ROUNDS = Number(process.env["BENCH_MICRO_ROUNDS"] ?? 5);
const IN_FLIGHT = 64;
const chains = (process.env["BENCH_MICRO_CHAINS"] ?? "").split(";");
const out = process.env["BENCH_MICRO_OUT"];
if (!out) throw new Error("BENCH_MICRO_OUT must name the file the results go to");

const config = loadConfig(baseConfigSchema);
// Logs are written, to /dev/null when the benchmark starts this process, as a server's would be.
const logger = createLogger({ service: "greeter", level: config.LOG_LEVEL, format: "json" });
const bytes = Buffer.from(GreetRequest.encode({ name: "Ada", language: Language.LANGUAGE_ENGLISH }).finish());
const headers = new Metadata();
headers.set("user-agent", "grpc-node-js/1.14.7");
headers.set("authorization", `Bearer ${process.env["BENCH_TOKEN"] ?? ""}`);

/** The parts of a grpc-js unary server call the adapter and the kit's interceptors use. */
function fakeCall(request: unknown): ServerUnaryCall<unknown, unknown> {
  const call = {
    request,
    metadata: headers,
    cancelled: false,
    getPeer: () => "127.0.0.1:40000",
    getDeadline: () => Infinity,
    getAuthContext: () => ({}),
    once: () => call,
    sendMetadata: () => undefined,
  };
  return call as unknown as ServerUnaryCall<unknown, unknown>;
}

function subject(chain: string): { chain: string; run: (calls: number) => Promise<void> } {
  const { interceptors, definition } = ladderChain(parseLayers(chain), config, logger);
  const handlers = adaptService(GreeterServiceService, greeterHandler(), { interceptors, logger });
  const greet = handlers["greet"] as handleUnaryCall<unknown, unknown>;
  const decode = definition.greet.requestDeserialize;
  const run = (calls: number) =>
    new Promise<void>((resolve, reject) => {
      let started = 0;
      let finished = 0;
      const callback: sendUnaryData<unknown> = (error) => {
        if (error) return reject(new Error(`Greet failed: ${error.details ?? "no details"}`));
        if (++finished === calls) resolve();
        else if (started < calls) start();
      };
      const start = () => {
        started++;
        greet(fakeCall(decode(bytes)), callback);
      };
      for (let i = 0; i < Math.min(IN_FLIGHT, calls); i++) start();
    });
  return { chain, run };
}

const subjects = chains.map(subject);
const results = new Map<string, number[]>(chains.map((chain) => [chain, []]));
for (const s of subjects) await s.run(CALLS / 4); // warm-up: the JIT, the token cache
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < subjects.length; i++) {
    const s = subjects[(i + round) % subjects.length]!;
    const before = process.cpuUsage();
    await s.run(CALLS);
    const used = process.cpuUsage(before);
    results.get(s.chain)!.push(((used.user + used.system) * 1000) / CALLS);
  }
}
writeFileSync(out, JSON.stringify({ chains: chains.map((chain) => ({ chain, nsPerCall: results.get(chain) })) }));
process.exit(0);
