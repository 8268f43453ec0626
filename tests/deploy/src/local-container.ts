import { spawn, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Container } from "./manifests.js";
import { repositoryRoot } from "./repository.js";

/** A free loopback port for a process to listen on (drawn below the ephemeral range; see the kit's testing tools). */
export { freePort } from "@lattice/kit/testing";

/** Image paths → this checkout: the image's WORKDIR /app holds the repository layout. */
export const fromImagePath = (arg: string): string => arg.replace(/^\/app(?=\/|$)/, repositoryRoot.replace(/\/$/, ""));

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** performance.now() when the process was seen to exit. */
  readonly at: number;
}

/**
 * The container's process, run from the checkout: `node` is this Node, /app/... maps to the repository root,
 * the working directory is that root (the image's WORKDIR), and the environment is exactly the given one plus PATH.
 */
export class LocalContainer {
  private readonly child: ChildProcess;
  private log = "";
  readonly exited: Promise<ExitStatus>;

  constructor(container: Container, env: Readonly<Record<string, string>>) {
    const [command, ...args] = [...(container.command ?? []), ...(container.args ?? [])].map(fromImagePath);
    if (command !== "node") throw new Error(`container ${container.name} runs ${command}, expected node`);
    this.child = spawn(process.execPath, args, {
      cwd: repositoryRoot,
      env: { ...env, PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failure.
      this.log = (this.log + chunk.toString("utf8")).slice(-20_000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal, at: performance.now() }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  output(): string {
    return this.log;
  }
}
