import type { Logger } from "../logger.js";

export interface OutageLogOptions {
  /** While the outage lasts, repeat the warning at most this often (ms); 30 000 by default. */
  readonly repeatMs?: number;
  /** Called when an outage starts (true) and ends (false), e.g. to set a metric. */
  readonly onChange?: (down: boolean) => void;
}

/**
 * Logs a dependency's outage without flooding: one warning when it starts (with the first error), then at most one
 * reminder per `repeatMs` with how long it has lasted and how many attempts failed, and one info line when it
 * ends. A loop retrying every 200 ms for an hour writes about 120 lines instead of 18 000.
 */
export class OutageLog {
  private since: number | undefined;
  private failures = 0;
  private lastLogged = 0;
  private readonly repeatMs: number;

  constructor(
    private readonly logger: Logger,
    /** What is unavailable, as the log lines say it, e.g. "NATS (outbox relay)". */
    private readonly what: string,
    private readonly options: OutageLogOptions = {},
  ) {
    this.repeatMs = options.repeatMs ?? 30_000;
  }

  /** True from the first failure until the next success. */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** When the outage started (epoch ms), or undefined. */
  get downSince(): number | undefined {
    return this.since;
  }

  /** One failed attempt. */
  failed(error: unknown, now = Date.now()): void {
    this.failures++;
    if (this.since === undefined) {
      this.since = now;
      this.lastLogged = now;
      this.logger.warn({ err: error }, `${this.what} unavailable; retrying`);
      this.options.onChange?.(true);
      return;
    }
    if (now - this.lastLogged >= this.repeatMs) {
      this.lastLogged = now;
      this.logger.warn(
        { err: error, down_ms: now - this.since, failed_attempts: this.failures },
        `${this.what} still unavailable; retrying`,
      );
    }
  }

  /** A successful attempt: ends the outage, if there was one. */
  succeeded(now = Date.now()): void {
    if (this.since === undefined) return;
    this.logger.info({ down_ms: now - this.since, failed_attempts: this.failures }, `${this.what} available again`);
    this.since = undefined;
    this.failures = 0;
    this.options.onChange?.(false);
  }
}
