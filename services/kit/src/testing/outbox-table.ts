import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Pool } from "../db/pool.js";

/**
 * The outbox table the relay reads (see OutboxRelay), as the services' migrations leave it: for kit tests that need
 * one without a service. Each service that publishes events checks, in its own tests, that its migrated outbox has
 * exactly this shape (describeTable), so the two cannot drift apart.
 */
const OUTBOX_TABLE = [
  "CREATE SEQUENCE outbox_seq",
  `CREATE TABLE outbox (
     id           uuid PRIMARY KEY,
     subject      text NOT NULL,
     payload      bytea NOT NULL,
     created_at   timestamptz NOT NULL DEFAULT now(),
     published_at timestamptz,
     seq          bigint NOT NULL DEFAULT nextval('outbox_seq'),
     traceparent  text,
     tracestate   text
   )`,
  "ALTER SEQUENCE outbox_seq OWNED BY outbox.seq",
  "CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL",
];

/** Creates `schema` and an outbox table in it, shaped as the services' migrations shape theirs. */
export async function createOutboxTable(pool: Pool, schema: string): Promise<void> {
  await pool.transaction(async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    for (const statement of OUTBOX_TABLE) await client.query(statement);
  });
}

/** A table's definition, with its schema's name left out so two schemas' tables compare equal. */
export interface TableShape {
  /** "name type NOT NULL DEFAULT …", in column order. */
  readonly columns: readonly string[];
  /** Each index's definition (pg_indexes.indexdef), by name. */
  readonly indexes: Readonly<Record<string, string>>;
}

/** The columns and indexes of `schema`.`table`, as PostgreSQL's catalog gives them. */
export async function describeTable(pool: Pool, schema: string, table: string): Promise<TableShape> {
  const unqualified = (text: string) => text.replaceAll(`${schema}.`, "");
  const { rows: columns } = await pool.query<{ column: string }>(
    `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
            || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
            || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS column
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  const { rows: indexes } = await pool.query<{ indexname: string; indexdef: string }>(
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname",
    [schema, table],
  );
  return {
    columns: columns.map((row) => unqualified(row.column)),
    indexes: Object.fromEntries(indexes.map((row) => [row.indexname, unqualified(row.indexdef)])),
  };
}

/**
 * Asserts that the outbox in `schema` (a service's, after its migrations) has exactly the shape createOutboxTable
 * makes — the one the kit's relay and outbox tests run on. Compares in a scratch schema it drops again.
 */
export async function assertOutboxShapedLikeKits(pool: Pool, schema: string): Promise<void> {
  const scratch = `outbox_shape_${randomBytes(6).toString("hex")}`;
  try {
    await createOutboxTable(pool, scratch);
    assert.deepEqual(
      await describeTable(pool, schema, "outbox"),
      await describeTable(pool, scratch, "outbox"),
      `the outbox in ${schema} differs from the one the kit's tests use (testing/outbox-table.ts)`,
    );
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
  }
}
