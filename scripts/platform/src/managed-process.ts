import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** How a process ended: its exit code, or the signal that ended it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Called with every line the process writes (stdout and stderr), e.g. to show it. */
  readonly onLine?: (line: string) => void;
  /** How many of the last lines to keep for lastLines (default 40). */
  readonly keepLines?: number;
}

/**
 * A child process the launcher owns: started in its own process group, so a Ctrl-C at the terminal reaches only
 * the launcher, which then stops its children in order (services first, the database last). Its output is read
 * line by line and the last lines are kept for error messages.
 */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly keep: number;
  private status: ExitStatus | undefined;

  constructor(
    /** What the launcher calls it in messages, e.g. "order" or "PostgreSQL". */
    readonly name: string,
    options: ManagedProcessOptions,
  ) {
    this.keep = options.keepLines ?? 40;
    this.child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const record = (line: string) => {
      this.lines.push(line);
      if (this.lines.length > this.keep) this.lines.shift();
      options.onLine?.(line);
    };
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", record);
    }
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once("error", (error) => {
        record(`${options.command}: ${error.message}`);
        this.status ??= { code: 127, signal: null };
        resolve(this.status);
      });
      // "close", not "exit": the output has been read to the end by then.
      this.child.once("close", (code, signal) => {
        this.status ??= { code, signal };
        resolve(this.status);
      });
    });
  }

  /** The process id, while it has one. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until the process has ended. */
  get running(): boolean {
    return this.status === undefined && this.child.pid !== undefined;
  }

  /** The last lines it wrote, oldest first. */
  lastLines(count = 20): string[] {
    return this.lines.slice(-count);
  }

  /** Sends a signal when it still runs; false when it had already ended. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    try {
      return this.child.kill(signal);
    } catch {
      return false;
    }
  }

  /**
   * Asks the process to stop (SIGTERM) and waits for it; after `timeoutMs` it is killed (SIGKILL). Resolves with how
   * it ended.
   */
  async stop(timeoutMs: number): Promise<ExitStatus> {
    if (!this.signal("SIGTERM")) return this.exited;
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal("SIGKILL");
        resolve();
      }, timeoutMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

/** "exit 1", "signal SIGKILL": how an ExitStatus reads in a message. */
export function describeExit(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `exit ${status.code ?? "?"}`;
}
