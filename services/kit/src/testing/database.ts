import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPool, type Pool } from "../db/pool.js";

/**
 * The PostgreSQL server `npm test` starts for the run (TEST_DATABASE_URL). Tests never skip without it: a missing
 * server is a failed run, not a green one.
 */
export function testDatabaseUrl(): string {
  const url = process.env["TEST_DATABASE_URL"];
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests through `npm test`, which starts PostgreSQL");
  return url;
}

export interface TestDatabase {
  /** What the tests call it, e.g. "PostgreSQL server". */
  readonly label: string;
  readonly url: string;
}

/**
 * Both databases services run on: the PostgreSQL server (production's) and the embedded default `npm start` uses
 * (TEST_EMBEDDED_DATABASE_URL). Repository tests run on each, so the two cannot drift apart.
 */
export function testDatabases(): TestDatabase[] {
  const embedded = process.env["TEST_EMBEDDED_DATABASE_URL"];
  if (!embedded)
    throw new Error("TEST_EMBEDDED_DATABASE_URL is not set: run the tests through `npm test`, which starts it");
  return [
    { label: "PostgreSQL server", url: testDatabaseUrl() },
    { label: "embedded PostgreSQL (the npm start default)", url: embedded },
  ];
}

/** The NATS server (with JetStream) `npm test` starts for the run (TEST_NATS_URL). */
export function testNatsUrl(): string {
  const url = process.env["TEST_NATS_URL"];
  if (!url) throw new Error("TEST_NATS_URL is not set: run the tests through `npm test`, which starts NATS");
  return url;
}

/** A schema name no other test uses, so tests can share the server and run in parallel. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Drops a test's schema and everything in it. */
export async function dropSchema(schema: string, url = testDatabaseUrl()): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A pool on a test's schema, for asserting what a service wrote. */
export function testPool(schema: string, url = testDatabaseUrl()): Pool {
  return createPool({ url, schema, max: 2 });
}
