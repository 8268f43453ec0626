import { join } from "node:path";
import { clientSettingsFor } from "../client/client-settings.js";
import { createClient } from "../client/create-client.js";
import { ClientMetrics } from "../metrics/client-metrics.js";
import { EventMetrics } from "../metrics/event-metrics.js";
import { registerOutboxMetrics } from "../metrics/outbox-metrics.js";
import { registerPoolMetrics } from "../metrics/pool-metrics.js";
import type { BaseConfig } from "../config.js";
import { DatabaseHealth } from "../db/database-health.js";
import { PgListener } from "../db/listener.js";
import { openDatabase } from "../db/open-database.js";
import { peerAddressVariable, streamSubjects } from "../declaration/service-declaration.js";
import type { Logger } from "../logger.js";
import { startEventConsumer } from "../outbox/consume.js";
import { NatsLink } from "../outbox/nats-link.js";
import { startOutboxRelay } from "../outbox/start-relay.js";
import type { LatticeServer } from "./lattice-server.js";
import type { Database, ServiceModule, SetupContext, Teardown } from "./service-module.js";

/** What setup acquired, released in reverse order at shutdown. */
export class Releases {
  private readonly releases: Teardown[] = [];

  add(release: Teardown): void {
    this.releases.push(release);
  }

  /** Runs every release, last registered first; all run even when one fails, and the first failure is rethrown. */
  async releaseAll(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const release of this.releases.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

/**
 * The SetupContext of one start of `module`, acquiring into `releases`. `stopping` aborts when the process is told
 * to stop while it starts: waits for dependencies end then.
 */
export function setupContext<C extends BaseConfig>(
  module: ServiceModule<C>,
  server: LatticeServer,
  config: C,
  logger: Logger,
  releases: Releases,
  stopping: AbortSignal = new AbortController().signal,
): SetupContext<C> {
  const { declaration } = module;
  const settingsRecord = config as C & Record<string, unknown>;
  const setting = (key: string): string | undefined => {
    const value = settingsRecord[key];
    return typeof value === "string" ? value : undefined;
  };
  const number = (key: string): number => {
    const value = settingsRecord[key];
    if (typeof value !== "number") throw new Error(`${key} is not in the configuration schema`);
    return value;
  };
  let database: Promise<Database> | undefined;
  // One connection to NATS per process, shared by the relay and the consumers; closed after them at shutdown.
  let link: NatsLink | undefined;
  const nats = (): NatsLink | undefined => {
    const url = setting("NATS_URL");
    if (!url) return undefined;
    if (!link) {
      const opened = new NatsLink({
        url,
        name: `lattice-${module.name}`,
        logger,
        reconnectWaitMs: number("NATS_RECONNECT_WAIT_MS"),
        onStateChange: (up) => server.metrics.dataPath.setDependency("nats", up),
      });
      opened.start();
      releases.add(() => opened.close());
      link = opened;
    }
    return link;
  };
  return {
    server,
    config,
    logger,
    declaration,
    onShutdown: (release) => releases.add(release),

    connect(definition, peer, options) {
      if (!declaration.calls.includes(peer))
        throw new Error(`${module.name} does not declare that it calls "${peer}" (lattice.calls in its package.json)`);
      const settings = clientSettingsFor(settingsRecord, peer);
      const client = createClient(definition, setting(peerAddressVariable(peer))!, {
        name: peer,
        loadBalancing: config.GRPC_LB_POLICY,
        logger,
        metrics: ClientMetrics.of(server.metrics.registry),
        defaultTimeoutMs: settings.timeoutMs,
        streamTimeoutMs: settings.streamTimeoutMs,
        dnsMinResolutionIntervalMs: settings.dnsMinResolutionIntervalMs,
        retry: settings.retry,
        breaker: settings.breaker,
        credentials: server.transport.channelCredentials(),
        forwardToken: true,
        ...options,
        channelOptions: { ...server.transport.channelOptions(peer), ...options?.channelOptions },
      });
      releases.add(() => client.close());
      return client;
    },

    database() {
      const declared = declaration.database;
      if (!declared) return Promise.reject(new Error(`${module.name} declares no database (lattice.database)`));
      database ??= (async () => {
        const url = setting("DATABASE_URL")!;
        const schema = setting("DATABASE_SCHEMA") ?? declared.schema;
        const connectTimeoutMs = number("DATABASE_CONNECT_TIMEOUT_MS");
        const keepAliveMs = number("DATABASE_KEEPALIVE_MS");
        const metrics = server.metrics.dataPath;
        const health = new DatabaseHealth({
          url,
          applicationName: `${module.name}-health`,
          timeoutMs: connectTimeoutMs,
          intervalMs: number("DATABASE_HEALTH_INTERVAL_MS"),
          graceMs: number("DATABASE_UNAVAILABLE_GRACE_MS"),
          logger,
          onAvailabilityChange: (available) => server.health.setDependency("postgres", available),
          onProbe: (answered) => metrics.setDependency("postgres", answered),
        });
        const pool = await openDatabase({
          url,
          schema,
          migrations: join(declaration.directory, "migrations"),
          logger,
          retryUntil: stopping,
          onAttempt: (answered) => metrics.setDependency("postgres", answered),
          pool: {
            max: number("DATABASE_POOL_MAX"),
            connectTimeoutMs,
            statementTimeoutMs: number("DATABASE_STATEMENT_TIMEOUT_MS"),
            keepAliveMs,
            applicationName: module.name,
            onUnavailable: () => health.suspect(),
          },
        });
        releases.add(() => pool.end());
        health.start();
        releases.add(() => health.stop());
        const listeners = new Map<string, PgListener>();
        const listener = (channel: string): PgListener => {
          let existing = listeners.get(channel);
          if (!existing) {
            existing = new PgListener({
              url,
              channel,
              applicationName: `${module.name}-listen`,
              timeoutMs: connectTimeoutMs,
              heartbeatMs: keepAliveMs,
              logger,
              onListeningChange: (listening) => metrics.setDependency("postgres_listen", listening),
            });
            listeners.set(channel, existing);
            const opened = existing;
            releases.add(() => opened.close());
          }
          return existing;
        };
        registerPoolMetrics(server.metrics.registry, () => ({ ...pool.stats, max: number("DATABASE_POOL_MAX") }));
        return { pool, schema, url, listener };
      })();
      return database;
    },

    events: {
      async publishOutbox(pool) {
        const publishes = declaration.events?.publishes;
        if (!publishes) throw new Error(`${module.name} declares no events it publishes (lattice.events.publishes)`);
        // Measured whether or not NATS is configured: without it the lag grows, which is the point.
        registerOutboxMetrics(server.metrics.registry, pool);
        const stop = startOutboxRelay({
          pool,
          link: nats(),
          pollMs: number("OUTBOX_POLL_MS"),
          stream: publishes.stream,
          subjects: streamSubjects(publishes.events),
          logger,
          metrics: server.metrics.dataPath,
        });
        releases.add(stop);
      },

      async consume(stream, handle) {
        const consumed = declaration.events?.consumes.find((entry) => entry.stream === stream);
        if (!consumed) throw new Error(`${module.name} declares no events it consumes from ${stream}`);
        const connection = nats();
        if (!connection) {
          logger.warn({ stream }, `NATS_URL not set: not consuming ${stream}`);
          return;
        }
        const wanted = new Set(consumed.events);
        const stop = await startEventConsumer({
          link: connection,
          maxDeliveries: number("EVENTS_MAX_DELIVERIES"),
          retryBackoffMs: number("EVENTS_RETRY_BACKOFF_MS"),
          metrics: server.metrics.dataPath,
          stream,
          subjects: streamSubjects(consumed.events),
          durable: module.name,
          eventMetrics: EventMetrics.of(server.metrics.registry),
          handle: (subject, data) => (wanted.has(subject) ? handle({ subject, data }) : Promise.resolve()),
          logger,
        });
        releases.add(stop);
      },
    },
  };
}
