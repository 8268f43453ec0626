import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The checkout's root (this file is tests/observability/dist/src/). */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** One service running as its own process from its built main, as npm start and the images run it. */
export interface ServiceProcess {
  readonly name: string;
  readonly grpcAddress: string;
  readonly adminUrl: string;
  /** Every JSON line it wrote to stdout so far. */
  readonly logs: readonly Record<string, unknown>[];
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

/**
 * Starts services/<name>/dist/src/main.js on loopback and ephemeral ports with `env` (nothing of this process's
 * environment but PATH) and resolves once it logged "serving". Rejects with its last output if it exits first or
 * takes longer than 30 s.
 */
export async function startServiceProcess(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [`services/${name}/dist/src/main.js`], {
    cwd: REPOSITORY_ROOT,
    env: {
      PATH: process.env["PATH"],
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: "0",
      HEALTH_PORT: "0",
      LOG_FORMAT: "json",
      SHUTDOWN_DRAIN_MS: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit");
  const serving = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(line);
      if (line["msg"] === "serving") resolve(line);
    });
    void exited.then(([code]) => reject(new Error(`${name} exited (${String(code)}) before serving: ${stderr}`)));
    setTimeout(
      () => reject(new Error(`${name} did not serve within ${START_TIMEOUT_MS} ms: ${stderr}`)),
      START_TIMEOUT_MS,
    ).unref();
  });
  let line: Record<string, unknown>;
  try {
    line = await serving;
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  return {
    name,
    grpcAddress: line["grpc"] as string,
    adminUrl: line["admin"] as string,
    logs,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
