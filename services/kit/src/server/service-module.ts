import type { z } from "zod";
import type { ClientOptions, ServiceClient } from "../client/create-client.js";
import type { BaseConfig } from "../config.js";
import type { ChangeListener } from "../db/listener.js";
import type { Pool } from "../db/pool.js";
import { declaredConfigSchema } from "../declaration/declared-config.js";
import type { ServiceDeclaration } from "../declaration/service-declaration.js";
import type { Logger } from "../logger.js";
import type { AnyServiceDefinition } from "../rpc/definition.js";
import type { LatticeServer } from "./lattice-server.js";

/** Releases something setup acquired (connections, timers); runs after the server has stopped. */
export type Teardown = () => Promise<void> | void;

/** The declared database, open and migrated. */
export interface Database {
  /** Connections whose sessions use the service's schema. */
  readonly pool: Pool;
  readonly schema: string;
  /** postgres:// URL of the server, for the rare connection that must live outside the pool. */
  readonly url: string;
  /**
   * The process's LISTEN connection on `channel` (one per channel, opened on first use, closed at shutdown): wait
   * on it for the payloads NOTIFY sends there. It reconnects by itself, and wakes its waiters when notifications
   * may have been missed; see PgListener.
   */
  readonly listener: (channel: string) => ChangeListener;
}

/** One event a consumer receives: its subject is the event's full protobuf message name. */
export interface ReceivedEvent {
  readonly subject: string;
  readonly data: Uint8Array;
}

/** The declared event streams (`events` in the declaration). */
export interface ServiceEvents {
  /**
   * Relays what the service writes to its `outbox` table in `pool` to its declared stream (`events.publishes`),
   * when NATS_URL is set; without it events wait in the outbox, and this says so in the log. Does not wait for the
   * broker: the relay publishes, in commit order, whenever it is connected (see OutboxRelay, NatsLink).
   */
  readonly publishOutbox: (pool: Pool) => Promise<void>;
  /**
   * Consumes a declared stream (`events.consumes`) with a durable consumer named after the service, so replicas
   * share the work and the position survives restarts. `handle` sees only the declared events of that stream (others
   * are acknowledged and skipped) and must be idempotent: an event comes again if it rejects (after a backoff,
   * EVENTS_RETRY_BACKOFF_MS, at most EVENTS_MAX_DELIVERIES times, then it is dead-lettered) or the process dies
   * before acknowledging it; a PoisonEventError dead-letters it at once. Does not wait for the broker. Without
   * NATS_URL nothing is consumed, and this says so in the log.
   */
  readonly consume: (stream: string, handle: (event: ReceivedEvent) => Promise<void>) => Promise<void>;
}

/** What a module's setup works with. Everything it acquires through this context is released at shutdown. */
export interface SetupContext<C extends BaseConfig> {
  readonly server: LatticeServer;
  readonly config: C;
  readonly logger: Logger;
  readonly declaration: ServiceDeclaration;
  /**
   * A client for a service this one declares it calls (`calls`), at the target its <NAME>_SERVICE_ADDRESS setting
   * names, balanced by GRPC_LB_POLICY; closed at shutdown. Calls made while handling a call inherit its deadline,
   * cancellation, request id and verified bearer token. With TLS_MODE tls or mtls it dials with the process's
   * certificate files (presenting its certificate in mtls) and requires the server's certificate to name `peer`.
   * Throws for a service the declaration does not list.
   */
  readonly connect: <D extends AnyServiceDefinition>(
    definition: D,
    peer: string,
    options?: ClientOptions,
  ) => ServiceClient<D>;
  /**
   * The declared database: a pool on its schema, migrated from migrations/ (see migrate); closed at shutdown. While
   * the database cannot be reached at start this waits (readiness stays NOT_SERVING) until it can or the process is
   * told to stop. From then on a health monitor turns readiness NOT_SERVING while the database does not answer.
   */
  readonly database: () => Promise<Database>;
  readonly events: ServiceEvents;
  /** Runs `release` at shutdown, after the server has stopped; releases run in the reverse order of registration. */
  readonly onShutdown: (release: Teardown) => void;
}

/**
 * Everything the kit needs to run a service, in the process (`runService`) or in a test (`startTestService`) alike:
 * its declaration, its configuration schema, and a setup that registers its handlers.
 */
export interface ServiceModule<C extends BaseConfig> {
  /** The declared name, e.g. "order". */
  readonly name: string;
  readonly declaration: ServiceDeclaration;
  /** The whole configuration: what the declaration implies (declaredConfigSchema) and the service's own keys. */
  readonly configSchema: z.ZodType<C>;
  // void: a setup with nothing to release simply returns nothing.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  setup(ctx: SetupContext<C>): Promise<Teardown | void> | Teardown | void;
}

export interface ServiceDefinitionOptions<S extends z.ZodRawShape> {
  /** `serviceDeclaration(import.meta.url)`: the `lattice` block of the service's package.json. */
  readonly declaration: ServiceDeclaration;
  /** The service's own configuration keys (zod), validated with the rest at start. */
  readonly config?: S;
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  setup(ctx: SetupContext<BaseConfig & z.infer<z.ZodObject<S>>>): Promise<Teardown | void> | Teardown | void;
}

/**
 * A service module from its declaration, its own configuration keys and its setup:
 *
 *   export const paymentModule = defineService({
 *     declaration: serviceDeclaration(import.meta.url),
 *     config: { PROCESSOR_LATENCY_MS: z.coerce.number().int().min(0).default(50) },
 *     async setup({ server, config, database, events }) { … },
 *   });
 */
// An empty shape by default: a service without keys of its own.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export function defineService<S extends z.ZodRawShape = {}>(
  options: ServiceDefinitionOptions<S>,
): ServiceModule<BaseConfig & z.infer<z.ZodObject<S>>> {
  type C = BaseConfig & z.infer<z.ZodObject<S>>;
  const configSchema = declaredConfigSchema(options.declaration, options.config ?? {}) as unknown as z.ZodType<C>;
  return {
    name: options.declaration.name,
    declaration: options.declaration,
    configSchema,
    setup: (ctx: SetupContext<C>) => options.setup(ctx),
  };
}
