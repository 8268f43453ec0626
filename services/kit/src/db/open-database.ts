import { z } from "zod";
import type { Logger } from "../logger.js";
import { migrate } from "./migrate.js";
import { createPool, type Pool } from "./pool.js";

/** The environment keys of a service that owns a PostgreSQL schema. */
export function databaseConfig(defaultSchema: string) {
  return {
    /** postgres://user:password@host:port/database — the service uses only its own schema in it. */
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
      .default(defaultSchema),
  };
}

export interface OpenDatabaseOptions {
  url: string;
  schema: string;
  /** The service's migrations folder. */
  migrations: string;
  logger: Logger;
}

/** A pool on the service's schema, migrated to the latest version; nothing is left open if that fails. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Pool> {
  const pool = createPool({ url: options.url, schema: options.schema, logger: options.logger });
  try {
    await migrate({ pool, schema: options.schema, directory: options.migrations, logger: options.logger });
    return pool;
  } catch (error) {
    await pool.end();
    throw error;
  }
}
