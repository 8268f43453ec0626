/**
 * A server the benchmark starts and stops: pinned to CPU 0 when it is under load (taskset execs it, so the pid is
 * the server's own), stdout to /dev/null (a server still formats and writes every log line, as it would to a
 * container's stdout), stderr kept in a file for the error message when it fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";

export interface ProcessSpec {
  /** What messages call it. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the benchmark's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Pinned to CPU 0 (the load generator has CPU 1). */
  readonly pinned: boolean;
  /** Where its standard error goes. */
  readonly stderrFile: string;
}

/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

export class ServerProcess {
  private readonly exit: Promise<void>;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exit = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Starts the process; it is not ready yet (see waitUntil). */
  static start(spec: ProcessSpec): ServerProcess {
    const out = openSync("/dev/null", "w");
    const err = openSync(spec.stderrFile, "w");
    const [command, args] = spec.pinned
      ? ["taskset", ["-c", "0", spec.command, ...spec.args]]
      : [spec.command, [...spec.args]];
    const child = spawn(command, args, { env: { ...process.env, ...spec.env }, stdio: ["ignore", out, err] });
    closeSync(out);
    closeSync(err);
    return new ServerProcess(spec, child);
  }

  /** Its process id. */
  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.spec.name} did not start`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Resolves once `check` resolves true; rejects, with the end of the server's standard error, when the server
   * exits first or `timeoutMs` passes.
   */
  async waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.spec.name} exited before it was ready:\n${this.stderrTail()}`);
      if (await check().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${this.spec.name} was not ready within ${timeoutMs / 1000} s:\n${this.stderrTail()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exit;
    clearTimeout(timer);
  }

  /** The last lines it wrote to standard error. */
  stderrTail(lines = 20): string {
    try {
      return readFileSync(this.spec.stderrFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "";
    }
  }
}
