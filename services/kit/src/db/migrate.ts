import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import { inTransaction, type Pool } from "./pool.js";

export interface MigrateOptions {
  pool: Pool;
  schema: string;
  /** Folder of `NNN_description.sql` files, applied in name order. */
  directory: string;
  logger?: Logger;
}

/**
 * Brings the service's schema up to date. Pending files run once each, all in one transaction (a failure leaves
 * the schema as it was), recorded in `<schema>.schema_migrations`; a transaction-level advisory lock makes
 * concurrent starts (several replicas) wait for each other, so running it twice, or at once, is safe. A recorded file whose content changed is an
 * error: migrations are append-only.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const { pool, schema, directory } = options;
  const files = readdirSync(directory)
    .filter((file) => /^\d+_[\w-]+\.sql$/.test(file))
    .sort();
  const applied: string[] = [];
  await inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`lattice.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
         version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map(
      (
        await client.query<{ version: string; checksum: string }>(
          `SELECT version, checksum FROM ${schema}.schema_migrations`,
        )
      ).rows.map((row) => [row.version, row.checksum]),
    );
    for (const file of files) {
      const sql = readFileSync(join(directory, file), "utf8");
      const checksum = sha256(sql);
      const recorded = done.get(file);
      if (recorded !== undefined) {
        if (recorded !== checksum)
          throw new Error(`migration ${file} changed after it was applied; add a new one instead`);
        continue;
      }
      await client.query(`SET LOCAL search_path TO ${schema}`);
      await client.query(sql);
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, checksum) VALUES ($1, $2)`, [
        file,
        checksum,
      ]);
      applied.push(file);
    }
  });
  if (applied.length > 0) options.logger?.info({ schema, applied }, "database migrated");
  return applied;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
