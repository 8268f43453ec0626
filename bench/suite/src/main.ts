/**
 * `npm run bench`'s comparison and memory sections (scripts/bench.sh runs this pinned to CPU 1 once everything is
 * built): the Greet suite (peers and the chain one layer at a time), the chain in process, the list suite and the
 * memory suite, then
 * bench/results/<time>/ with report.txt (also printed), chart.svg and results.json.
 *
 * Settings (environment): BENCH_ROUNDS (default 7), BENCH_SECONDS per measured run (default 2),
 * BENCH_WARMUP_SECONDS per server (default 2), BENCH_STREAMS held open in the memory suite (default 1000), and
 * BENCH_SECTIONS, a comma-separated subset of greet,chain,list,memory (default all).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runChainSuite } from "./chain-suite.js";
import { runGreetSuite } from "./greet-suite.js";
import { runListSuite } from "./list-suite.js";
import { runMemorySuite } from "./memory-suite.js";
import { PATHS, ROOT } from "./paths.js";
import { formatReport } from "./report.js";
import { resultsChart } from "./results-chart.js";
import type { BenchResults } from "./results.js";
import { benchToken } from "./token.js";

function setting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${text}"`);
  return value;
}

const SECTIONS = ["greet", "chain", "list", "memory"] as const;
const wanted = (process.env["BENCH_SECTIONS"] ?? SECTIONS.join(",")).split(",").map((s) => s.trim());
for (const section of wanted)
  if (!(SECTIONS as readonly string[]).includes(section))
    throw new Error(`BENCH_SECTIONS: unknown section "${section}" (known: ${SECTIONS.join(", ")})`);
const rounds = Math.round(setting("BENCH_ROUNDS", 7));
const seconds = setting("BENCH_SECONDS", 2);
const warmupSeconds = setting("BENCH_WARMUP_SECONDS", 2);
const streams = Math.round(setting("BENCH_STREAMS", 1000));
const print = (line: string) => console.log(line);

const startedAt = new Date().toISOString();
const work = mkdtempSync(join(tmpdir(), "lattice-bench-"));
try {
  const token = await benchToken(work);
  const results: {
    -readonly [K in keyof BenchResults]: BenchResults[K];
  } = {
    startedAt,
    machine: {
      node: process.versions.node,
      cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
      cpus: cpus().length,
      h2load: spawnSync("h2load", ["--version"], { encoding: "utf8" }).stdout.trim().split("\n")[0] ?? "h2load",
    },
  };
  if (wanted.includes("greet")) {
    print(`\n-- Greet: peers and the kit's chain (${rounds} rounds x ${seconds} s per server)`);
    results.greet = await runGreetSuite({ rounds, seconds, warmupSeconds, work, token, print });
  }
  if (wanted.includes("chain")) {
    print(`\n-- the kit's chain in process, one layer at a time (${rounds} rounds)`);
    results.chain = await runChainSuite({ rounds, work, token });
  }
  if (wanted.includes("list")) {
    print(`\n-- a 100-user list over gRPC and as JSON (${rounds} rounds x ${seconds} s)`);
    results.list = await runListSuite({ rounds, seconds, warmupSeconds, work, print });
  }
  if (wanted.includes("memory")) {
    print(`\n-- memory: every service idle, and ${streams} open server streams`);
    results.memory = await runMemorySuite({ work, token, streams, print });
  }
  const dir = join(PATHS.results, startedAt.replace(/[:.]/g, "-"));
  mkdirSync(dir, { recursive: true });
  const report = formatReport(results);
  writeFileSync(join(dir, "report.txt"), report);
  writeFileSync(join(dir, "chart.svg"), resultsChart(results));
  writeFileSync(join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n");
  print(`\n${report}`);
  print(`written: ${relative(ROOT, join(dir, "report.txt"))}, chart.svg and results.json beside it`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
// Idle keep-alive connections of the readiness checks must not hold the exit back.
process.exit(0);
