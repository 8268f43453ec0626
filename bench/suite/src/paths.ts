/** Where the benchmark finds what it runs, from the repository's root. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root (this file is bench/suite/dist/src/paths.js once built). */
export const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export const PATHS = {
  /** The peer servers, built by scripts/bench.sh into bench/peers/dist. */
  peer: (name: "grpc-js" | "nest" | "connect") => join(ROOT, "bench", "peers", "dist", `${name}-server.js`),
  /** The grpc-go reference server bench/go/build.sh builds. */
  goGreeter: join(ROOT, ".cache", "bench", "greeter-go"),
  greeterBare: join(ROOT, "services", "greeter", "dist", "bench", "bare-server.js"),
  greeterLadder: join(ROOT, "services", "greeter", "dist", "bench", "ladder-server.js"),
  greeterProduction: join(ROOT, "services", "greeter", "dist", "bench", "production-server.js"),
  greeterMicrobench: join(ROOT, "services", "greeter", "dist", "bench", "chain-microbench.js"),
  listServers: join(ROOT, "services", "gateway", "dist", "bench", "list-servers.js"),
  /** Where each run's report goes: bench/results/<timestamp>/. */
  results: join(ROOT, "bench", "results"),
} as const;
