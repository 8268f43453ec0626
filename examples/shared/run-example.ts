import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** What one run of an example printed, and how it ended. */
export interface ExampleRun {
  /** Exit code; null when the run was killed (see `timedOut`). */
  readonly code: number | null;
  readonly timedOut: boolean;
  /** The example's own lines on stdout, in order (JSON log lines left out). */
  readonly lines: readonly string[];
  /** The services' JSON log lines on stdout, parsed. */
  readonly logs: readonly Record<string, unknown>[];
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `examples/dist/<name>/main.js` as its own process, as a reader would, and collects what it prints. `env` is
 * all of its environment besides PATH, so a setting of the machine cannot change the outcome.
 */
export async function runExample(
  name: string,
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 30_000,
): Promise<ExampleRun> {
  const main = fileURLToPath(new URL(`../${name}/main.js`, import.meta.url));
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);

  const lines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("{")) logs.push(JSON.parse(line) as Record<string, unknown>);
    else if (line !== "") lines.push(line);
  }
  return { code, timedOut, lines, logs, stdout, stderr };
}

/** The one line that starts with `prefix`; fails naming everything printed when there is none or several. */
export function lineStartingWith(run: ExampleRun, prefix: string): string {
  const found = run.lines.filter((line) => line.startsWith(prefix));
  if (found.length !== 1)
    throw new Error(`expected one line starting with ${JSON.stringify(prefix)}, found ${found.length}:\n${run.stdout}`);
  return found[0]!;
}
