import { z } from "zod";
import type { Logger } from "../logger.js";
import { aborted, backoffDelay, sleep } from "../resilience/backoff.js";
import { OutageLog } from "../resilience/outage-log.js";
import { isConnectionError } from "./connection-errors.js";
import { migrate } from "./migrate.js";
import { createPool, POOL_DEFAULTS, type Pool, type PoolOptions } from "./pool.js";

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The environment keys of a service that owns a PostgreSQL schema (docs/data-path.md lists them with their use). */
export function databaseConfig(defaultSchema: string) {
  return {
    /** postgres://user:password@host:port/database — the service uses only its own schema in it. */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
      .default(defaultSchema),
    /** Connections in the pool, at most. */
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(POOL_DEFAULTS.max),
    /** ms: opening a connection, or waiting for a free one, gives up after this long (UNAVAILABLE). */
    DATABASE_CONNECT_TIMEOUT_MS: ms(100, 600_000, POOL_DEFAULTS.connectTimeoutMs),
    /** ms: the server's statement_timeout; the client gives up 1 s later even if the server never answers. */
    DATABASE_STATEMENT_TIMEOUT_MS: ms(100, 3_600_000, POOL_DEFAULTS.statementTimeoutMs),
    /** ms: TCP keepalive idle time of every connection, and the LISTEN connection's heartbeat interval. */
    DATABASE_KEEPALIVE_MS: ms(1000, 3_600_000, POOL_DEFAULTS.keepAliveMs),
    /** ms: how often the health monitor asks the database `SELECT 1`. */
    DATABASE_HEALTH_INTERVAL_MS: ms(100, 600_000, 1000),
    /** ms: readiness turns NOT_SERVING once the database has not answered for this long. */
    DATABASE_UNAVAILABLE_GRACE_MS: ms(0, 600_000, 5000),
  };
}

export interface OpenDatabaseOptions {
  url: string;
  schema: string;
  /** The service's migrations folder. */
  migrations: string;
  logger: Logger;
  /** The pool's settings (see PoolOptions). */
  pool?: Omit<PoolOptions, "url" | "schema" | "logger">;
  /**
   * While the database cannot be reached (refused, timed out, starting up), keep trying — with backoff from 250 ms
   * to 5 s, logging once per outage — until it can, or until this aborts. Without it, the first failure throws.
   */
  retryUntil?: AbortSignal;
  /**
   * Told after each attempt whether the database answered (false only for its unavailability), so a service that
   * starts during an outage reports it (lattice_dependency_up) before the health monitor takes over.
   */
  onAttempt?: (answered: boolean) => void;
}

/**
 * A pool on the service's schema, migrated to the latest version; nothing is left open if that fails. Errors that
 * are not the database's unavailability (a bad migration, a wrong password, a missing database) throw at once:
 * waiting would not cure them.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Pool> {
  const outage = new OutageLog(options.logger, "database (at start)");
  for (let failures = 1; ; failures++) {
    const pool = createPool({ ...options.pool, url: options.url, schema: options.schema, logger: options.logger });
    try {
      await migrate({ pool, schema: options.schema, directory: options.migrations, logger: options.logger });
      outage.succeeded();
      options.onAttempt?.(true);
      return pool;
    } catch (error) {
      await pool.end();
      const signal = options.retryUntil;
      if (!signal || signal.aborted || !isConnectionError(error)) throw error;
      outage.failed(error);
      options.onAttempt?.(false);
      await sleep(backoffDelay(failures, { initialMs: 250, maxMs: 5000 }), signal);
      if (aborted(signal)) throw error;
    }
  }
}
