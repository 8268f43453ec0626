import type { ChainResults } from "./chain-suite.js";
import type { GreetResults } from "./greet-suite.js";
import type { ListResults } from "./list-suite.js";
import type { MemoryResults } from "./memory-suite.js";

/** Everything one `npm run bench` measured (results.json); a section not run is absent. */
export interface BenchResults {
  /** ISO 8601 time the run started. */
  readonly startedAt: string;
  /** Node version, CPU model and count, h2load version. */
  readonly machine: { readonly node: string; readonly cpu: string; readonly cpus: number; readonly h2load: string };
  readonly greet?: GreetResults;
  readonly chain?: ChainResults;
  readonly list?: ListResults;
  readonly memory?: MemoryResults;
}

/** The target of the full production chain, as a ratio of the fastest bare grpc-js server's req/s. */
export const CHAIN_TARGET = 0.95;
