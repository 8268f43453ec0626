import pg from "pg";
import type { Logger } from "../logger.js";
import { tracedClientClass } from "../telemetry/db-spans.js";
import { tracingEnabled } from "../telemetry/tracing.js";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The service's own schema: its tables live there and nowhere else, and queries find them without a prefix. */
  schema: string;
  max?: number;
  /** Cancels a statement that runs longer (server side), so a stuck query cannot hold a connection forever. */
  statementTimeoutMs?: number;
  logger?: Logger;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A connection pool whose sessions use the service's schema. While tracing is on, each statement run within a traced
 * call is a span (telemetry/db-spans.ts).
 */
export function createPool(options: PoolOptions): Pool {
  if (!IDENTIFIER.test(options.schema)) throw new Error(`not a valid schema name: ${JSON.stringify(options.schema)}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    options: `-c search_path=${options.schema} -c statement_timeout=${options.statementTimeoutMs ?? 10_000}`,
    ...(tracingEnabled() ? { Client: tracedClientClass({ url: options.url, schema: options.schema }) } : {}),
  });
  // An idle connection that breaks (database restart) must not crash the process; the next query reconnects.
  pool.on("error", (error) => options.logger?.warn({ err: error }, "idle database connection failed"));
  return pool;
}

/** Runs `work` in a transaction: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** PostgreSQL error codes the services map to status codes. */
export const PgError = {
  UNIQUE_VIOLATION: "23505",
  FOREIGN_KEY_VIOLATION: "23503",
  SERIALIZATION_FAILURE: "40001",
} as const;

export function isPgError(error: unknown, code: string): error is Error & { code: string; constraint?: string } {
  return error instanceof Error && (error as { code?: unknown }).code === code;
}
