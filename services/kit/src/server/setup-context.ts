import { join } from "node:path";
import { clientSettingsFor } from "../client/client-settings.js";
import { createClient } from "../client/create-client.js";
import { ClientMetrics } from "../metrics/client-metrics.js";
import type { BaseConfig } from "../config.js";
import { openDatabase } from "../db/open-database.js";
import { watchDatabase } from "../db/watch-database.js";
import { peerAddressVariable, streamSubjects } from "../declaration/service-declaration.js";
import type { Logger } from "../logger.js";
import { startEventConsumer } from "../outbox/consume.js";
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

/** The SetupContext of one start of `module`, acquiring into `releases`. */
export function setupContext<C extends BaseConfig>(
  module: ServiceModule<C>,
  server: LatticeServer,
  config: C,
  logger: Logger,
  releases: Releases,
): SetupContext<C> {
  const { declaration } = module;
  const settingsRecord = config as C & Record<string, unknown>;
  const setting = (key: string): string | undefined => {
    const value = settingsRecord[key];
    return typeof value === "string" ? value : undefined;
  };
  let database: Promise<Database> | undefined;
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
        const pool = await openDatabase({ url, schema, migrations: join(declaration.directory, "migrations"), logger });
        releases.add(() => pool.end());
        releases.add(
          watchDatabase(pool, server, {
            intervalMs: config.DATABASE_CHECK_INTERVAL_MS,
            timeoutMs: config.DATABASE_CHECK_TIMEOUT_MS,
            failures: config.DATABASE_CHECK_FAILURES,
          }),
        );
        return { pool, schema, url };
      })();
      return database;
    },

    events: {
      async publishOutbox(pool) {
        const publishes = declaration.events?.publishes;
        if (!publishes) throw new Error(`${module.name} declares no events it publishes (lattice.events.publishes)`);
        const stop = await startOutboxRelay({
          pool,
          natsUrl: setting("NATS_URL"),
          pollMs: Number(settingsRecord["OUTBOX_POLL_MS"]),
          stream: publishes.stream,
          subjects: streamSubjects(publishes.events),
          logger,
        });
        releases.add(stop);
      },

      async consume(stream, handle) {
        const consumed = declaration.events?.consumes.find((entry) => entry.stream === stream);
        if (!consumed) throw new Error(`${module.name} declares no events it consumes from ${stream}`);
        const natsUrl = setting("NATS_URL");
        if (!natsUrl) {
          logger.warn({ stream }, `NATS_URL not set: not consuming ${stream}`);
          return;
        }
        const wanted = new Set(consumed.events);
        const stop = await startEventConsumer({
          natsUrl,
          stream,
          subjects: streamSubjects(consumed.events),
          durable: module.name,
          handle: (subject, data) => (wanted.has(subject) ? handle({ subject, data }) : Promise.resolve()),
          logger,
        });
        releases.add(stop);
      },
    },
  };
}
