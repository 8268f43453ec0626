import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/**
 * A PostgreSQL server of the test's own — never the run's shared one — so the test can stop, freeze and restart it
 * without hurting other tests. Started with scripts/deps/postgres.sh on a free loopback port, in a temporary folder;
 * signalled by the PIDs it wrote there, never by name.
 */
export interface OwnPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (SIGINT to the postmaster): sessions end with 57P01, new connections are refused. */
  stop(): Promise<void>;
  /** Starts the server again, on the same port and data. */
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers, nothing is reset. */
  freeze(): void;
  /** SIGCONT to what freeze() stopped. */
  thaw(): void;
  /** Runs `sql` as the superuser on a connection of its own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]>;
  /** pg_terminate_backend for every session whose application_name is LIKE `pattern`; resolves with how many. */
  terminate(pattern: string): Promise<number>;
  /** Stops the server and deletes its folder. */
  close(): Promise<void>;
}

/**
 * A NATS server with JetStream of the test's own (scripts/deps/nats.sh), for breaking: stopped, frozen and
 * restarted on the same port with the same JetStream storage.
 */
export interface OwnNats {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** SIGTERM to the server, and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts the server again, on the same port and storage. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** The repository's scripts/deps, found from this file (in src/ or dist/src/ of the kit). */
function depsScript(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const script = join(dir, "scripts", "deps", name);
    if (existsSync(script)) return script;
  }
  throw new Error(`scripts/deps/${name} not found above ${fileURLToPath(import.meta.url)}`);
}

/** The PIDs whose parent is `parent`, read from /proc. */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === parent) children.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exited(pid: number, withinMs: number, what: string): Promise<void> {
  const until = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > until) throw new Error(`${what} (pid ${pid}) did not exit within ${withinMs} ms`);
    await delay(20);
  }
}

function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already.
    }
  }
}

/** Folders and PIDs to clean up if the test process exits without close(). */
const leftovers = new Map<string, () => number | undefined>();
let exitHookInstalled = false;
function remember(dir: string, pid: () => number | undefined): void {
  leftovers.set(dir, pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const [folder, pidOf] of leftovers) {
      const pid = pidOf();
      if (pid !== undefined) signal([pid, ...childrenOf(pid)], "SIGCONT");
      if (pid !== undefined) signal([pid], "SIGQUIT");
      rmSync(folder, { recursive: true, force: true });
    }
  });
}

/** What both kinds of own server share: a temporary folder, a script that starts it there, and its PID file. */
interface OwnServer {
  readonly url: string;
  readonly port: number;
  /** The server's PID while it runs, read from its PID file. */
  readonly pid: () => number | undefined;
  /** `stopSignal` to the server, and waits (30 s at most) until it has exited. */
  readonly stop: () => Promise<void>;
  /** Starts it again with the script, on the same port and folder. */
  readonly start: () => Promise<void>;
  /** Stops the server and deletes its folder. */
  readonly close: () => Promise<void>;
}

interface OwnServerSpec {
  /** scripts/deps/<script>, run as `start DIR [PORT]`, printing the server's URL. */
  readonly script: string;
  /** The temporary folder's name prefix. */
  readonly folderPrefix: string;
  /** The PID file in the folder; its first line is the PID. */
  readonly pidFile: string;
  readonly stopSignal: NodeJS.Signals;
  /** The process, for errors: "postgres". */
  readonly what: string;
  /** Opens the folder to every user (as root, PostgreSQL runs as the postgres user). */
  readonly openFolder?: boolean;
}

async function startOwnServer(spec: OwnServerSpec): Promise<OwnServer> {
  const script = depsScript(spec.script);
  const dir = mkdtempSync(join(tmpdir(), spec.folderPrefix));
  if (spec.openFolder) chmodSync(dir, 0o755);
  const pidFile = join(dir, spec.pidFile);
  const pid = (): number | undefined => {
    if (!existsSync(pidFile)) return undefined;
    const value = Number(readFileSync(pidFile, "utf8").split("\n")[0]!.trim());
    return value > 0 && alive(value) ? value : undefined;
  };
  remember(dir, pid);
  const url = (await run("bash", [script, "start", dir])).stdout.trim();
  const port = Number(new URL(url).port);
  const stop = async () => {
    const server = pid();
    if (server === undefined) return;
    process.kill(server, spec.stopSignal);
    await exited(server, 30_000, spec.what);
  };
  return {
    url,
    port,
    pid,
    stop,
    start: async () => {
      await run("bash", [script, "start", dir, String(port)]);
    },
    close: async () => {
      await stop();
      leftovers.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a throwaway PostgreSQL server for one test (see OwnPostgres). */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const server = await startOwnServer({
    script: "postgres.sh",
    folderPrefix: "lattice-own-postgres-",
    pidFile: join("data", "postmaster.pid"),
    stopSignal: "SIGINT",
    what: "postgres",
    openFolder: true,
  });
  const { url } = server;
  let frozen: number[] = [];

  const query = async <R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<R[]> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    client.on("error", () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(sql, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    url,
    port: server.port,
    stop: server.stop,
    start: server.start,
    freeze() {
      const postmaster = server.pid();
      if (postmaster === undefined) throw new Error("postgres is not running");
      // The postmaster first, so it forks nothing new while its children are stopped.
      frozen = [postmaster];
      signal(frozen, "SIGSTOP");
      frozen.push(...childrenOf(postmaster));
      signal(frozen.slice(1), "SIGSTOP");
    },
    thaw() {
      signal([...frozen].reverse(), "SIGCONT");
      frozen = [];
    },
    query,
    async terminate(pattern) {
      const rows = await query<{ ok: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()",
        [pattern],
      );
      return rows.filter((row) => row.ok).length;
    },
    async close() {
      if (frozen.length > 0) signal([...frozen].reverse(), "SIGCONT");
      await server.close();
    },
  };
}

/** Starts a throwaway NATS server with JetStream for one test (see OwnNats). */
export async function startOwnNats(): Promise<OwnNats> {
  const server = await startOwnServer({
    script: "nats.sh",
    folderPrefix: "lattice-own-nats-",
    pidFile: "nats.pid",
    stopSignal: "SIGTERM",
    what: "nats-server",
  });
  let frozen: number | undefined;
  return {
    url: server.url,
    port: server.port,
    stop: server.stop,
    start: server.start,
    freeze() {
      frozen = server.pid();
      if (frozen === undefined) throw new Error("nats-server is not running");
      process.kill(frozen, "SIGSTOP");
    },
    thaw() {
      if (frozen !== undefined) signal([frozen], "SIGCONT");
      frozen = undefined;
    },
    async close() {
      if (frozen !== undefined) signal([frozen], "SIGCONT");
      await server.close();
    },
  };
}
