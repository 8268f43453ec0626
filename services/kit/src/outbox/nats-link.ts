import { EventEmitter } from "node:events";
import { connect, DebugEvents, Events, type NatsConnection } from "nats";
import type { Logger } from "../logger.js";
import { aborted, backoffDelay, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";

/** Defaults of a NatsLink's settings (see NatsLinkOptions). */
export const NATS_LINK_DEFAULTS = {
  reconnectWaitMs: 2000,
  pingIntervalMs: 10_000,
  timeoutMs: 5000,
} as const;

export interface NatsLinkOptions {
  /** nats://host:port */
  url: string;
  /** The connection's name, as the server's monitoring shows it. */
  name: string;
  logger: Logger;
  /** Pause between connection attempts (ms), with up to 20% jitter; 2000 by default. */
  reconnectWaitMs?: number;
  /**
   * The client pings the server this often (ms); after two pings without an answer the connection counts as
   * broken and is reopened. Finds a frozen or partitioned broker, which closes nothing; 10 000 by default.
   */
  pingIntervalMs?: number;
  /** One connection attempt gives up after this long (ms); 5000 by default. */
  timeoutMs?: number;
  /** Called when the link comes up (true) and goes down (false), e.g. for a gauge. */
  onStateChange?: (up: boolean) => void;
}

const UP = Symbol("up");

/**
 * A connection to NATS that is never given up: the first connection is tried until it succeeds, however long the
 * broker is down (a service starts and serves without it), and a lost one is reopened for as long as it takes —
 * the client's own budget (10 attempts, about 20 s) is lifted. The outage is logged once when it starts, then at
 * most every 30 s, and once when it ends.
 */
export class NatsLink {
  private nc: NatsConnection | undefined;
  private up = false;
  /** What onStateChange was last told; undefined before the first attempt ended. */
  private reported: boolean | undefined;
  private connects = 0;
  private readonly events = new EventEmitter().setMaxListeners(0);
  private readonly closing = new AbortController();
  private running: Promise<void> | undefined;
  private readonly outage: OutageLog;

  constructor(private readonly options: NatsLinkOptions) {
    this.outage = new OutageLog(options.logger, `NATS (${options.name})`);
  }

  /** True while connected. */
  get isUp(): boolean {
    return this.up;
  }

  /** The connection while connected, else undefined. */
  get current(): NatsConnection | undefined {
    return this.up ? this.nc : undefined;
  }

  /**
   * How many times the link has come up; changes on every reconnect, when what the broker may have lost (a stream
   * of a broker restarted without its storage) should be checked again.
   */
  get generation(): number {
    return this.connects;
  }

  /** Starts connecting in the background; connected() does it on first use. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves with the connection once connected — now or after an outage — or undefined if `signal` aborts first. */
  connected(signal: AbortSignal): Promise<NatsConnection | undefined> {
    this.start();
    if (this.up) return Promise.resolve(this.nc);
    return new Promise((resolve) => {
      const done = () => {
        this.events.off(UP, done);
        signal.removeEventListener("abort", done);
        this.closing.signal.removeEventListener("abort", done);
        resolve(this.up ? this.nc : undefined);
      };
      if (signal.aborted || this.closing.signal.aborted) return done();
      this.events.on(UP, done);
      signal.addEventListener("abort", done, { once: true });
      this.closing.signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Drains the connection (what was published is flushed) and stops reconnecting. */
  async close(): Promise<void> {
    this.closing.abort();
    const nc = this.nc;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
    await this.running;
  }

  private async loop(): Promise<void> {
    const wait = this.options.reconnectWaitMs ?? NATS_LINK_DEFAULTS.reconnectWaitMs;
    while (!this.closing.signal.aborted) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: this.options.url,
          name: this.options.name,
          maxReconnectAttempts: -1,
          reconnectTimeWait: wait,
          reconnectJitter: Math.round(wait * 0.2),
          pingInterval: this.options.pingIntervalMs ?? NATS_LINK_DEFAULTS.pingIntervalMs,
          maxPingOut: 2,
          timeout: this.options.timeoutMs ?? NATS_LINK_DEFAULTS.timeoutMs,
        });
      } catch (error) {
        this.setUp(false, error);
        await sleep(backoffDelay(1, { initialMs: wait, maxMs: wait }), this.closing.signal);
        continue;
      }
      if (aborted(this.closing.signal)) {
        await nc.close();
        break;
      }
      this.nc = nc;
      this.setUp(true);
      // Not awaited: the status iterator does not end when the connection closes; it goes with the connection.
      void this.watch(nc);
      const closed = await nc.closed();
      this.setUp(false, closed ?? undefined);
      this.nc = undefined;
      // Closed without close(): a fatal error (the client gave up, or the server refused it). Start over.
      if (!aborted(this.closing.signal)) this.outage.failed(closed ?? new Error("NATS connection closed"));
    }
  }

  /** Follows the connection's status: down on disconnect, up on reconnect. */
  private async watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (status.type === Events.Disconnect) this.setUp(false, new Error("disconnected"));
        else if (status.type === DebugEvents.Reconnecting) this.outage.failed(new Error("reconnecting"));
        else if (status.type === Events.Reconnect) this.setUp(true);
      }
    } catch {
      // The status iterator ends with the connection.
    }
  }

  private setUp(up: boolean, error?: unknown): void {
    if (up) {
      this.connects++;
      this.outage.succeeded();
    } else if (!this.closing.signal.aborted) {
      this.outage.failed(error ?? new Error("NATS connection lost"));
    }
    if (this.up !== up) {
      this.up = up;
      if (up) this.events.emit(UP);
    }
    // Closing is not an outage; a broker down from the start is one.
    if (this.reported !== up && !this.closing.signal.aborted) {
      this.reported = up;
      this.options.onStateChange?.(up);
    }
  }
}
