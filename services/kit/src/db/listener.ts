import { EventEmitter } from "node:events";
import pg from "pg";
import { outsideCall } from "../context/call-scope.js";
import type { Logger } from "../logger.js";
import { aborted, backoffDelay, sleep, type BackoffOptions } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";

/** Waits for changes to one key, however they are heard. What a repository's watch needs from a listener. */
export interface ChangeListener {
  /**
   * Resolves when `key` may have changed: it was notified, or changes may have been missed (the listener
   * reconnected, or it is not listening and a poll interval passed). Resolves at once when `signal` aborts.
   * Never rejects. Re-read after it resolves.
   */
  nextChange(key: string, signal: AbortSignal): Promise<void>;
}

export interface PgListenerOptions {
  /** postgres:// URL of the server. */
  url: string;
  /** The channel to LISTEN on (any text; it is quoted). Notifications' payloads are the keys waited for. */
  channel: string;
  /** application_name of the session, so operators can tell it in pg_stat_activity. */
  applicationName?: string;
  /** Opening the connection, LISTEN and each heartbeat give up after this long (ms); 5000 by default. */
  timeoutMs?: number;
  /**
   * A `SELECT 1` on the connection this often (ms); 10 000 by default. The connection is idle by design, and a
   * frozen or partitioned server shows no error on it: TCP keepalive sees a partition only, the heartbeat both.
   */
  heartbeatMs?: number;
  /** Waits between attempts to listen again (ms); from 100 doubling to 5000 by default. */
  retry?: BackoffOptions;
  /** While not listening, waiters are woken this often to re-read (ms); 1000 by default. */
  pollWhileDownMs?: number;
  logger: Logger;
  /** Called when the listener starts listening (true) and loses its connection (false). */
  onListeningChange?: (listening: boolean) => void;
}

// Internal events, apart from the keys (which are any text).
const RESYNC = Symbol("resync");
const DOWN = Symbol("down");

/**
 * A LISTEN connection that survives its connection: terminated backends (pg_terminate_backend, a failover, a
 * proxy's idle reaper), a restarted, frozen or unreachable server. It reconnects with backoff for as long as it
 * takes, LISTENs again, and then wakes every waiter, since notifications sent while it was away are lost. While it is
 * not listening, waiters are woken every pollWhileDownMs so watches still see changes, later. It opens on first use
 * (a failure to open is retried like any other, never remembered) and never throws into the process: connection
 * errors are logged, once per outage.
 */
export class PgListener implements ChangeListener {
  private readonly changes = new EventEmitter().setMaxListeners(0);
  private readonly closing = new AbortController();
  private connection: AbortController | undefined;
  private running: Promise<void> | undefined;
  private isListening = false;
  /** What onListeningChange was last told; undefined before the first attempt ended. */
  private reported: boolean | undefined;
  private readonly outage: OutageLog;
  private readonly timeoutMs: number;

  constructor(private readonly options: PgListenerOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.outage = new OutageLog(options.logger, `database LISTEN connection (${options.channel})`);
  }

  /** True while the connection is open and LISTENing. */
  get listening(): boolean {
    return this.isListening;
  }

  nextChange(key: string, signal: AbortSignal): Promise<void> {
    this.start();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.changes.off(key, done);
        this.changes.off(RESYNC, done);
        this.changes.off(DOWN, poll);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const poll = () => {
        clearTimeout(timer);
        timer = setTimeout(done, this.options.pollWhileDownMs ?? 1000);
      };
      if (signal.aborted || this.closing.signal.aborted) return done();
      this.changes.on(key, done);
      this.changes.on(RESYNC, done);
      this.changes.on(DOWN, poll);
      signal.addEventListener("abort", done, { once: true });
      if (!this.isListening) poll();
    });
  }

  /** Starts listening in the background (nextChange does it on first use). */
  start(): void {
    // The loop outlives whichever call happened to start it.
    this.running ??= outsideCall(() => this.loop());
  }

  /** Stops listening and wakes every waiter. */
  async close(): Promise<void> {
    this.closing.abort();
    this.connection?.abort();
    await this.running;
    this.changes.emit(RESYNC);
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.closing.signal.aborted) {
      try {
        await this.listenUntilLost();
        failures = 0;
      } catch (error) {
        if (aborted(this.closing.signal)) break;
        failures++;
        this.outage.failed(error);
        this.setListening(false);
        await sleep(backoffDelay(failures, this.options.retry ?? { initialMs: 100, maxMs: 5000 }), this.closing.signal);
      }
    }
  }

  /** One connection's life: open, LISTEN, heartbeat until it fails (rejects) or the listener closes (resolves). */
  private async listenUntilLost(): Promise<void> {
    const lost = new AbortController();
    this.connection = lost;
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.timeoutMs,
      keepAlive: true,
      ...(this.options.applicationName ? { application_name: this.options.applicationName } : {}),
    });
    // The connection breaking is this loop's business: recorded, never an unhandled "error" event.
    client.on("error", (error) => lost.abort(error));
    client.on("end", () => lost.abort(new Error("LISTEN connection ended")));
    client.on("notification", (message) => {
      if (message.channel === this.options.channel && message.payload) this.changes.emit(message.payload);
    });
    try {
      await bounded(client.connect(), this.timeoutMs, lost.signal);
      await bounded(client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`), this.timeoutMs, lost.signal);
      this.setListening(true);
      this.outage.succeeded();
      this.changes.emit(RESYNC);
      for (;;) {
        await sleep(this.options.heartbeatMs ?? 10_000, lost.signal);
        if (this.closing.signal.aborted) return;
        if (lost.signal.aborted) throw lost.signal.reason;
        await bounded(client.query("SELECT 1"), this.timeoutMs, lost.signal);
      }
    } finally {
      this.setListening(false);
      lost.abort();
      // Destroys the socket when a statement is still waiting on it, so a frozen server cannot hold it.
      void client.end().catch(() => undefined);
    }
  }

  private setListening(listening: boolean): void {
    if (this.isListening !== listening) {
      this.isListening = listening;
      if (!listening) this.changes.emit(DOWN);
    }
    // Closing is not an outage; failing to open at first is one.
    if (this.reported !== listening && !this.closing.signal.aborted) {
      this.reported = listening;
      this.options.onListeningChange?.(listening);
    }
  }
}

/** `promise`, rejected after `ms` or when `signal` aborts (with its reason). */
function bounded<T>(promise: Promise<T>, ms: number, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const onAbort = () => fail(signal.reason);
    const timer = setTimeout(() => fail(new Error(`no answer within ${ms} ms`)), ms);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(value);
    }, fail);
  });
}
