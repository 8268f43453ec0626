/**
 * The kit's chain priced in process, where the network's noise does not hide tens of nanoseconds:
 * services/greeter/bench/chain-microbench.ts runs Greet through the adapter with each step of the ladder (pinned
 * to CPU 0, steps in turns, 100,000 calls per step and round) and reports its CPU time per call. The call scope is
 * process-wide once on, so the last step runs in a second process right after the first.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PATHS } from "./paths.js";
import { median } from "./stats.js";
import type { BenchToken } from "./token.js";

export interface ChainOptions {
  readonly rounds: number;
  readonly work: string;
  readonly token: BenchToken;
}

export interface InProcessCost {
  readonly layer: string;
  /** CPU per call the layer adds to the steps before it, in nanoseconds (median of per-round differences). */
  readonly ns: number;
}

export interface ChainResults {
  readonly rounds: number;
  readonly callsPerRound: number;
  /** CPU per Greet through the adapter with no interceptor, in nanoseconds. */
  readonly adapterNs: number;
  readonly layers: readonly InProcessCost[];
  /** CPU per Greet through the adapter and the whole chain, call scope included, in nanoseconds. */
  readonly fullNs: number;
}

const CALLS = 100_000;
const LAYERS = ["metrics", "logging", "recovery", "auth", "ratelimit", "validation"] as const;
const RATE_LIMITS = "*=1000000:1000000";

async function measure(chains: readonly string[], options: ChainOptions, out: string): Promise<number[][]> {
  const child = spawn("taskset", ["-c", "0", process.execPath, PATHS.greeterMicrobench], {
    env: {
      ...process.env,
      ...options.token.env,
      RATE_LIMITS,
      LOG_FORMAT: "json",
      BENCH_TOKEN: options.token.token,
      BENCH_MICRO_CHAINS: chains.join(";"),
      BENCH_MICRO_CALLS: String(CALLS),
      BENCH_MICRO_ROUNDS: String(options.rounds),
      BENCH_MICRO_OUT: out,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the in-process chain benchmark exited with ${code}`);
  const results = JSON.parse(readFileSync(out, "utf8")) as { chains: { chain: string; nsPerCall: number[] }[] };
  return chains.map((chain) => results.chains.find((c) => c.chain === chain)!.nsPerCall);
}

/** Runs both processes, one after the other. */
export async function runChainSuite(options: ChainOptions): Promise<ChainResults> {
  const steps = ["", ...LAYERS.map((_, i) => LAYERS.slice(0, i + 1).join(","))];
  const runs = await measure(steps, options, join(options.work, "chain-a.json"));
  const [scoped] = await measure([`${steps.at(-1)!},scope`], options, join(options.work, "chain-b.json"));
  const layers: InProcessCost[] = LAYERS.map((layer, i) => ({
    layer: layer === "ratelimit" ? "rate limit" : layer,
    ns: median(runs[i + 1]!.map((ns, round) => ns - runs[i]![round]!)),
  }));
  const withoutScope = median(runs.at(-1)!);
  const fullNs = median(scoped!);
  layers.push({ layer: "call scope", ns: fullNs - withoutScope });
  return { rounds: options.rounds, callsPerRound: CALLS, adapterNs: median(runs[0]!), layers, fullNs };
}
