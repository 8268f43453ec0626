import pg from "pg";
import type { Logger } from "../logger.js";
import { aborted, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";

export interface DatabaseHealthOptions {
  /** postgres:// URL of the server. */
  url: string;
  /** application_name of the probe's session. */
  applicationName?: string;
  /** Opening the probe's connection and each probe give up after this long (ms). */
  timeoutMs: number;
  /** Pause between probes (ms). */
  intervalMs: number;
  /** The database counts as unavailable once probes have failed for this long (ms). */
  graceMs: number;
  logger: Logger;
  /** Called when the database turns unavailable (after the grace) and when it answers again. */
  onAvailabilityChange: (available: boolean) => void;
  /** Called with every probe's result (true: it answered), e.g. for a gauge. */
  onProbe?: (answered: boolean) => void;
}

/**
 * Watches whether the database answers: `SELECT 1` every intervalMs on a connection of its own (so a pool busy
 * with slow statements does not look like an outage, and an outage does not wait for a free pooled connection),
 * opened again after every failure. After graceMs of failures it reports the database unavailable — readiness turns
 * NOT_SERVING — and as soon as a probe succeeds, available again. A connection-level failure seen by a call
 * (suspect()) makes it probe at once instead of at the next interval. Liveness is never affected: a database
 * outage is not cured by restarting the process.
 */
export class DatabaseHealth {
  private client: pg.Client | undefined;
  private failingSince: number | undefined;
  private available = true;
  private readonly stopping = new AbortController();
  private wake: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly outage: OutageLog;

  constructor(private readonly options: DatabaseHealthOptions) {
    this.outage = new OutageLog(options.logger, "database", {});
  }

  /** True unless probes have failed for longer than the grace. */
  get isAvailable(): boolean {
    return this.available;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** A call saw a connection-level failure: probe now rather than at the next interval. */
  suspect(): void {
    this.wake?.abort();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.abort();
    await this.running;
    this.dropClient();
  }

  private async loop(): Promise<void> {
    const { intervalMs, graceMs } = this.options;
    while (!this.stopping.signal.aborted) {
      const started = Date.now();
      const failure = await this.probe();
      if (aborted(this.stopping.signal)) return;
      this.options.onProbe?.(failure === undefined);
      if (failure === undefined) this.answered();
      else this.failed(failure, started);
      let wait = intervalMs;
      // While failing within the grace, look again right when the grace ends.
      if (this.failingSince !== undefined && this.available)
        wait = Math.min(intervalMs, Math.max(50, this.failingSince + graceMs - Date.now()));
      this.wake = new AbortController();
      await sleep(wait, AbortSignal.any([this.wake.signal, this.stopping.signal]));
      // Many calls failing at once wake the loop many times: probe at most every 100 ms.
      const since = Date.now() - started;
      if (since < 100) await sleep(100 - since, this.stopping.signal);
    }
  }

  private answered(): void {
    this.failingSince = undefined;
    this.outage.succeeded();
    if (!this.available) {
      this.available = true;
      this.options.logger.info("database answers again: ready");
      this.options.onAvailabilityChange(true);
    }
  }

  private failed(error: unknown, started: number): void {
    this.failingSince ??= started;
    this.outage.failed(error);
    const downMs = Date.now() - this.failingSince;
    if (this.available && downMs >= this.options.graceMs) {
      this.available = false;
      this.options.logger.error({ down_ms: downMs }, "database unavailable: not ready until it answers");
      this.options.onAvailabilityChange(false);
    }
  }

  /** undefined when the database answered within the timeout, else why not. */
  private async probe(): Promise<unknown> {
    const { timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // Opening the connection counts against the timeout too: a frozen server accepts TCP and then says nothing.
      const attempt = (async () => {
        const client = this.client ?? (await this.open());
        await client.query("SELECT 1");
      })();
      await Promise.race([attempt, timeout]);
      return undefined;
    } catch (error) {
      this.dropClient();
      return error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.timeoutMs,
      keepAlive: true,
      ...(this.options.applicationName ? { application_name: this.options.applicationName } : {}),
    });
    // A connection that breaks between probes is found by the next probe; it must not crash the process.
    client.on("error", () => undefined);
    this.client = client;
    await client.connect();
    return client;
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    // end() destroys the socket when a probe is still waiting on it (a frozen server would never answer a goodbye).
    void client?.end().catch(() => undefined);
  }
}
