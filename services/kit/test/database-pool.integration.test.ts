import assert from "node:assert/strict";
import { connect, createServer, type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  createLogger,
  createPool,
  OutcomeUnknownError,
  UnavailableError,
  type CallContext,
  type Pool,
} from "@lattice/kit";
import { runInCall } from "@lattice/kit/internal";
import { eventually, startOwnPostgres, type OwnPostgres } from "@lattice/kit/testing";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

const logger = createLogger({ service: "pool-test", level: "silent", format: "json" });
const APP = "pool-test";

/** What the pool reads of a call: its deadline and its signal. */
function call(options: { timeoutMs?: number; signal?: AbortSignal }): CallContext {
  const deadline = options.timeoutMs === undefined ? undefined : new Date(Date.now() + options.timeoutMs);
  return { deadline, signal: options.signal ?? new AbortController().signal } as unknown as CallContext;
}

/** A PostgreSQL ErrorResponse message of severity FATAL: what a backend sends just before it closes the session. */
function fatalErrorResponse(code: string, message: string): Buffer {
  const field = (type: string, value: string) => Buffer.from(`${type}${value}\0`, "utf8");
  const fields = Buffer.concat([field("S", "FATAL"), field("V", "FATAL"), field("C", code), field("M", message)]);
  const header = Buffer.alloc(5);
  header.write("E", 0);
  header.writeInt32BE(4 + fields.length + 1, 1);
  return Buffer.concat([header, fields, Buffer.from([0])]);
}

/**
 * A TCP proxy in front of PostgreSQL that answers the next simple query containing `failNext`'s text with a FATAL
 * error and then, as a backend ending its session does, answers nothing more and closes the connection 300 ms
 * later. The window in between is the one in which node-postgres still takes the client for a usable one.
 */
async function sessionEndingProxy(postgresPort: number) {
  let failing: { text: string; code: string; message: string } | undefined;
  const server = createServer((client) => {
    const upstream = connect(postgresPort, "127.0.0.1");
    let ending = false;
    client.on("data", (chunk: Buffer) => {
      if (ending) return;
      if (failing && chunk[0] === 0x51 /* Q: a simple query */ && chunk.includes(failing.text)) {
        ending = true;
        client.write(fatalErrorResponse(failing.code, failing.message));
        failing = undefined;
        setTimeout(() => client.destroy(), 300);
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!ending) client.write(chunk);
    });
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => (ending ? undefined : client.destroy()));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => (ending ? undefined : client.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failNext(text: string, code: string, message: string) {
      failing = { text, code, message };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the database pool bounds every wait", () => {
  let postgres: OwnPostgres;
  const pools: Pool[] = [];
  const pool = (settings: { max?: number; statementTimeoutMs?: number } = {}) => {
    const created = createPool({
      url: postgres.url,
      schema: "public",
      applicationName: APP,
      connectTimeoutMs: 1000,
      logger,
      ...settings,
    });
    pools.push(created);
    return created;
  };
  const running = async (pattern: string) =>
    Number(
      (
        await postgres.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2 AND state = 'active'",
          [APP, pattern],
        )
      )[0]!.n,
    );

  before(async () => {
    postgres = await startOwnPostgres();
  });
  after(async () => {
    for (const created of pools) await created.end();
    await postgres.close();
  });

  it("takes no connection for a call that is already gone", { timeout: TEST_TIMEOUT_MS }, async () => {
    const fresh = pool({ max: 1 });
    const cancelled = new AbortController();
    cancelled.abort();
    await assert.rejects(
      runInCall(call({ signal: cancelled.signal }), () => fresh.query("SELECT 1")),
      OutcomeUnknownError,
    );
    await assert.rejects(
      runInCall(call({ timeoutMs: 0 }), () => fresh.transaction((client) => client.query("SELECT 1"))),
      OutcomeUnknownError,
    );
    assert.deepEqual(fresh.stats, { total: 0, idle: 0, waiting: 0 });
  });

  it(
    "cancels a statement on the server when its call's deadline passes, and discards the connection",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const bounded = pool();
      const started = performance.now();
      await assert.rejects(
        runInCall(call({ timeoutMs: 300 }), () => bounded.query("SELECT pg_sleep(30) AS slow")),
        OutcomeUnknownError,
      );
      const endedMs = performance.now() - started;
      // Well before the 30 s statement would end: the deadline ended the wait (the time is reported below).
      assert.ok(endedMs < 10_000, `the caller waited ${Math.round(endedMs)} ms`);
      const cancelledMs = await eventually(
        async () => {
          assert.equal(await running("%pg_sleep(30) AS slow%"), 0);
          return performance.now() - started;
        },
        { withinMs: 2000 },
      );
      assert.equal(bounded.stats.total, 0, "the connection was not returned to the pool");
      t.diagnostic(
        `deadline 300 ms: the caller was answered after ${Math.round(endedMs)} ms; the server's statement ended by ${Math.round(cancelledMs)} ms`,
      );
    },
  );

  it(
    "cancels the statement of a call that is cancelled, inside a transaction, and rolls it back",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bounded = pool();
      await bounded.query("CREATE TABLE IF NOT EXISTS cancelled_writes (id int)");
      const cancel = new AbortController();
      const work = runInCall(call({ signal: cancel.signal }), () =>
        bounded.transaction(async (client) => {
          await client.query("INSERT INTO cancelled_writes VALUES (1)");
          await client.query("SELECT pg_sleep(30) AS cancelled_tx");
        }),
      );
      await eventually(async () => assert.equal(await running("%cancelled_tx%"), 1));
      cancel.abort();
      await assert.rejects(work, OutcomeUnknownError);
      await eventually(async () => assert.equal(await running("%cancelled_tx%"), 0), { withinMs: 2000 });
      const rows = await postgres.query<{ n: string }>("SELECT count(*) AS n FROM cancelled_writes");
      assert.equal(Number(rows[0]!.n), 0, "the transaction was rolled back");
    },
  );

  it(
    "has the server enforce a transaction's remaining deadline on its statements, locks and pauses",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bounded = pool();
      const settings = await runInCall(call({ timeoutMs: 5000 }), () =>
        bounded.transaction(async (client) => {
          const show = async (name: string) =>
            (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
          return {
            statement: await show("statement_timeout"),
            lock: await show("lock_timeout"),
            idle: await show("idle_in_transaction_session_timeout"),
          };
        }),
      );
      for (const value of Object.values(settings)) {
        const ms = value.endsWith("ms") ? Number(value.slice(0, -2)) : Number(value.slice(0, -1)) * 1000;
        assert.ok(ms > 4000 && ms <= 5000, `set from the remaining deadline: ${JSON.stringify(settings)}`);
      }
      const outside = await bounded.query<{ statement_timeout: string }>("SHOW statement_timeout");
      assert.equal(outside.rows[0]!.statement_timeout, "10s", "sessions keep the pool's own statement timeout");
      const longer = await runInCall(call({ timeoutMs: 60_000 }), () =>
        bounded.transaction(
          async (client) => (await client.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]!,
        ),
      );
      assert.equal(longer.statement_timeout, "10s", "a longer deadline does not lift the pool's statement timeout");
    },
  );

  it(
    "survives a checked-out connection whose backend is terminated between statements",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const bounded = pool();
      const failure = await bounded
        .transaction(async (client) => {
          const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
          await postgres.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
          // The termination arrives as an "error" event on an idle, checked-out client: it must not crash the process.
          await delay(200);
          await client.query("SELECT 1");
        })
        .catch((error: unknown) => error);
      assert.ok(failure instanceof UnavailableError, String(failure));
      assert.equal((await bounded.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
    },
  );

  it(
    "gives up on a frozen server on its own: UNAVAILABLE after the statement timeout + 1 s, or unknown for COMMIT",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const bounded = pool({ statementTimeoutMs: 500 });
      await bounded.query("CREATE TABLE IF NOT EXISTS frozen_writes (id int)");
      await bounded.query("SELECT 1");
      postgres.freeze();
      try {
        const started = performance.now();
        const read = await bounded.query("SELECT 1").catch((error: unknown) => error);
        const readMs = performance.now() - started;
        assert.ok(read instanceof UnavailableError, String(read));
        assert.ok(readMs >= 1400 && readMs < 2500, `gave up after ${Math.round(readMs)} ms`);
        t.diagnostic(`frozen server, statement timeout 500 ms: the client gave up after ${Math.round(readMs)} ms`);
      } finally {
        postgres.thaw();
      }
      const commit = await bounded
        .transaction(async (client) => {
          await client.query("INSERT INTO frozen_writes VALUES (1)");
          postgres.freeze();
        })
        .catch((error: unknown) => error)
        .finally(() => postgres.thaw());
      assert.ok(
        commit instanceof OutcomeUnknownError,
        `a COMMIT without an answer may have been applied: ${String(commit)}`,
      );
    },
  );
  it(
    "never pools a connection the server is ending: a ROLLBACK answered FATAL closes it, and the next call gets another",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const proxy = await sessionEndingProxy(postgres.port);
      const proxied = createPool({
        url: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
        schema: "public",
        applicationName: APP,
        connectTimeoutMs: 1000,
        max: 1,
        logger,
      });
      try {
        // The server ended the idle transaction at the call's deadline just as the ROLLBACK went out (25P03).
        proxy.failNext("ROLLBACK", "25P03", "terminating connection due to idle-in-transaction timeout");
        const failure = await proxied
          .transaction(async (client) => {
            await client.query("SELECT 1");
            throw new Error("the work failed");
          })
          .catch((error: unknown) => error);
        assert.equal((failure as Error).message, "the work failed", "the caller sees its own failure");
        // The pool has one connection: taking the one being closed would fail this call UNAVAILABLE.
        assert.equal((await proxied.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);

        // The same answer to a statement: the call ran out of time (DEADLINE_EXCEEDED), and the connection goes.
        proxy.failNext("'idle too long'", "25P03", "terminating connection due to idle-in-transaction timeout");
        const idled = await runInCall(call({ timeoutMs: 5000 }), () =>
          proxied.transaction((client) => client.query("SELECT 'idle too long'")),
        ).catch((error: unknown) => error);
        assert.ok(idled instanceof OutcomeUnknownError, String(idled));
        assert.equal((await proxied.query<{ one: number }>("SELECT 1 AS one")).rows[0]!.one, 1);
      } finally {
        await proxied.end();
        await proxy.close();
      }
    },
  );
});
