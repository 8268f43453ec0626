import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

interface Answer {
  readonly done?: string;
  readonly port?: number;
  readonly error?: string;
}

/**
 * A TCP relay from an address pods can reach (the node address) to a server that listens on loopback only (the
 * test PostgreSQL and NATS servers), so their traffic stays on this machine. It runs in a process of its own
 * (relay-child.ts). cut() drops every connection and stops listening, as a database that went away; restore()
 * listens on the same port again.
 */
export class TcpRelay {
  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(host: string, target: { host: string; port: number }): Promise<TcpRelay> {
    const child = fork(
      fileURLToPath(new URL("relay-child.js", import.meta.url)),
      [host, target.host, String(target.port)],
      {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    const [answer] = (await once(child, "message")) as [Answer];
    if (answer.error !== undefined || answer.port === undefined)
      throw new Error(`the relay did not start: ${answer.error}`);
    return new TcpRelay(host, answer.port, child);
  }

  private async ask(message: "cut" | "restore"): Promise<void> {
    const answered = once(this.child, "message") as Promise<[Answer]>;
    this.child.send(message);
    const [answer] = await answered;
    if (answer.error !== undefined) throw new Error(`relay ${message} failed: ${answer.error}`);
  }

  cut(): Promise<void> {
    return this.ask("cut");
  }

  restore(): Promise<void> {
    return this.ask("restore");
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    await exited;
  }
}
