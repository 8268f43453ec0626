import { spawn } from "node:child_process";
import { dirname } from "node:path";

/** How a command ended and what it wrote. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment commands run with: this process's, with this Node (the pinned one the tests run on) first on
 * PATH, so npm, npx and the scripts pick it too. Without the test runner's NODE_TEST_CONTEXT, so a `node --test`
 * run by a test reports as it would in a terminal.
 */
export function commandEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && key !== "NODE_TEST_CONTEXT") env[key] = value;
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ""}`;
  return { ...env, ...extra };
}

/** Runs a command to its end in `cwd`, capturing its output; never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], cwd: string, timeoutMs = 300_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: commandEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A RunResult as text for assertion messages. */
export const output = (result: RunResult): string => `exit ${result.code ?? "?"}\n${result.stdout}\n${result.stderr}`;
