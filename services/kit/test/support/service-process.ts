import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A service's entry point over the greeter contract (fixture-main.ts), and the name it runs under. */
export const fixtureMain = fileURLToPath(new URL("./fixture-main.js", import.meta.url));
export const FIXTURE_NAME = "process-fixture";

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly grpcAddress: string;
  readonly adminUrl: string;
  readonly healthAddress: string;
  /** JSON log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  /** Resolves with the first log line whose message matches. */
  logged(msg: string): Promise<Record<string, unknown>>;
}

/** Starts the fixture service as its own process on ephemeral loopback ports and waits until it serves. */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [fixtureMain], {
    env: {
      PATH: process.env["PATH"],
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: "0",
      HEALTH_PORT: "0",
      LOG_FORMAT: "json",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout }).on("line", (text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    logs.push(line);
    for (const waiter of waiters.filter((w) => w.msg === line["msg"])) waiter.resolve(line);
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  // Fails, rather than waiting forever, when the process exits without logging the line.
  const logged = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = logs.find((line) => line["msg"] === msg);
      if (found) return resolve(found);
      waiters.push({ msg, resolve });
      void exited.then((code) =>
        reject(new Error(`the service exited with ${code} before logging "${msg}": ${stderr}`)),
      );
    });

  const serving = await logged("serving");
  return {
    child,
    grpcAddress: serving["grpc"] as string,
    adminUrl: serving["admin"] as string,
    healthAddress: serving["health"] as string,
    logs,
    exited,
    logged,
  };
}
