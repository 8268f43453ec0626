import pg, { type QueryResult, type QueryResultRow } from "pg";
import { enableCallScope } from "../context/call-scope.js";
import { OutcomeUnknownError, UnavailableError } from "../errors/domain.js";
import type { Logger } from "../logger.js";
import { callBounds, callGone, msLeft, UNBOUNDED, type CallBounds } from "./call-bounds.js";
import { sendCancelRequest } from "./cancel-request.js";
import { asDatabaseError, DATABASE_RETRY_AFTER_MS, isConnectionError } from "./connection-errors.js";
import { tracedClientClass } from "../telemetry/db-spans.js";
import { tracingEnabled } from "../telemetry/tracing.js";

export type { QueryResult, QueryResultRow };

/** Defaults of the pool's settings (see PoolOptions). */
export const POOL_DEFAULTS = {
  max: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  keepAliveMs: 10_000,
} as const;

/**
 * How much longer than the server's statement_timeout the client waits for a statement before it gives up on its
 * own: the server's timeout normally fires first (a clean error, the connection kept); the client's only when the
 * server cannot answer at all (frozen, partitioned, its host gone without a reset).
 */
export const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

export interface PoolOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The service's own schema: its tables live there and nowhere else, and queries find them without a prefix. */
  schema: string;
  /** Connections at most; 10 by default. */
  max?: number;
  /**
   * The server's statement_timeout for every session (ms), so a stuck query cannot hold a connection forever;
   * 10 000 by default. The client gives up on a statement CLIENT_TIMEOUT_MARGIN_MS after it, whether or not the
   * server answers.
   */
  statementTimeoutMs?: number;
  /** Opening a connection, or waiting for a free one, gives up after this long (ms); 5000 by default. */
  connectTimeoutMs?: number;
  /** TCP keepalive: idle time before the first probe (ms); 10 000 by default. Finds connections a partition broke. */
  keepAliveMs?: number;
  /** application_name of the sessions, so operators can tell them apart in pg_stat_activity. */
  applicationName?: string;
  logger?: Logger;
  /** Told about every connection-level failure (refused, reset, timed out, shut down): the health monitor listens. */
  onUnavailable?: (error: unknown) => void;
}

/** A connection checked out for a transaction: statements run on it in order. */
export interface PoolClient {
  /** One statement; bounded and mapped like Pool.query. */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** Connections counted by state, for tests and metrics. */
export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  /** Callers waiting for a free connection. */
  readonly waiting: number;
}

/**
 * A connection pool whose sessions use the service's schema, and whose every wait is bounded on the client side:
 *
 * - Within a call (see currentCall) statements are bounded by the call's deadline and cancellation. A call already
 *   gone takes no connection; one that goes while its statement runs gets its statement cancelled (PostgreSQL's
 *   cancel request, on a connection of its own) and that connection discarded, so it is not reused while the
 *   cancel may still land. Transactions also get SET LOCAL statement_timeout, lock_timeout and
 *   idle_in_transaction_session_timeout from the remaining deadline, so the server enforces it too.
 * - Always: a connection is opened, or waited for, for at most connectTimeoutMs, and a statement is given up
 *   statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS after it started even if the server never answers. TCP keepalive
 *   is on.
 *
 * Errors: connection-level failures (see isConnectionError) and the client-side timeouts reject with
 * UnavailableError (UNAVAILABLE with RetryInfo); a call's deadline or cancellation with OutcomeUnknownError
 * (DEADLINE_EXCEEDED); a COMMIT whose answer was lost with OutcomeUnknownError, since it may have been applied.
 * Anything else — constraint violations, serialization failures — is the driver's own error, for the repository to
 * map.
 */
export interface Pool {
  /** One statement on any free connection (autocommit). */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs `work` in a transaction on one connection: committed if it resolves, rolled back if it throws. */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** Closes every connection; statements still running fail. */
  end(): Promise<void>;
  readonly stats: PoolStats;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A bounded connection pool on the service's schema (see Pool). */
export function createPool(options: PoolOptions): Pool {
  if (!IDENTIFIER.test(options.schema)) throw new Error(`not a valid schema name: ${JSON.stringify(options.schema)}`);
  // Statements are bounded by the call being handled: handlers must run in their call's scope.
  enableCallScope();
  return new BoundedPool(options);
}

/** Runs `work` in a transaction: committed if it resolves, rolled back if it throws (see Pool.transaction). */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return pool.transaction(work);
}

class BoundedPool implements Pool {
  private readonly pg: pg.Pool;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly queryTimeoutMs: number;

  constructor(private readonly options: PoolOptions) {
    const statementTimeoutMs = options.statementTimeoutMs ?? POOL_DEFAULTS.statementTimeoutMs;
    this.statementTimeoutMs = statementTimeoutMs;
    this.connectTimeoutMs = options.connectTimeoutMs ?? POOL_DEFAULTS.connectTimeoutMs;
    this.queryTimeoutMs = statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS;
    this.pg = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? POOL_DEFAULTS.max,
      // Bounds both the wait for a free connection and the opening of a new one (TCP, TLS, startup, auth).
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: options.keepAliveMs ?? POOL_DEFAULTS.keepAliveMs,
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
      options: `-c search_path=${options.schema} -c statement_timeout=${statementTimeoutMs}`,
      // While tracing is on, each statement run within a traced call is a span (telemetry/db-spans.ts).
      ...(tracingEnabled() ? { Client: tracedClientClass({ url: options.url, schema: options.schema }) } : {}),
    });
    // An idle connection that breaks (database restart, a proxy's idle reaper) must not crash the process; the pool
    // drops it and the next statement opens another. The health monitor decides whether the database is down.
    this.pg.on("error", (error) => {
      options.logger?.debug({ err: error }, "idle database connection failed");
      options.onUnavailable?.(error);
    });
  }

  get stats(): PoolStats {
    return { total: this.pg.totalCount, idle: this.pg.idleCount, waiting: this.pg.waitingCount };
  }

  async query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    const bounds = callBounds();
    const session = await this.checkout(bounds);
    try {
      return await session.run<R>(text, values, bounds);
    } finally {
      session.release();
    }
  }

  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const bounds = callBounds();
    const session = await this.checkout(bounds);
    try {
      await session.run(beginStatement(bounds, this.statementTimeoutMs), undefined, bounds);
      const result = await work({ query: (text, values) => session.run(text, values, bounds) });
      await session.run("COMMIT", undefined, bounds).catch((error: unknown) => {
        // The server may have committed before the answer was lost: the caller must not take it for a failure.
        if (error instanceof UnavailableError || error instanceof OutcomeUnknownError)
          throw new OutcomeUnknownError("the database did not confirm the commit; it may have been applied", {
            cause: error,
          });
        throw error;
      });
      return result;
    } catch (error) {
      // A discarded connection rolls back on the server when it closes; a usable one is rolled back here, within
      // the pool's timeouts only (the call may be gone already).
      // A ROLLBACK that failed leaves the connection in a state nobody knows (the server may be ending it): it is
      // closed, not pooled.
      if (session.usable)
        await session
          .run("ROLLBACK", undefined, UNBOUNDED)
          .catch((rollbackError: unknown) => session.discard(rollbackError));
      throw error;
    } finally {
      session.release();
    }
  }

  end(): Promise<void> {
    return this.pg.end();
  }

  /** A connection failed at the connection level: tell the health monitor. */
  reportUnavailable(error: unknown): void {
    this.options.onUnavailable?.(error);
  }

  /**
   * A connection for the call: none at all if the call is gone, and no longer waited for than the call's
   * remaining time or connectTimeoutMs.
   */
  private async checkout(bounds: CallBounds): Promise<Session> {
    if (callGone(bounds)) throw callEnded(bounds, "before a database connection was taken");
    const limit = Math.min(this.connectTimeoutMs, msLeft(bounds));
    const pending = this.pg.connect();
    const outcome = await settle(pending, limit, bounds.signal);
    switch (outcome.kind) {
      case "done":
        return new Session(outcome.value, this);
      case "failed":
        if (isConnectionError(outcome.error)) this.reportUnavailable(outcome.error);
        throw asDatabaseError(outcome.error);
      case "timeout":
      case "aborted":
        // Whatever the pool hands over later goes straight back, unused.
        pending.then(
          (client) => client.release(),
          () => undefined,
        );
        if (outcome.kind === "aborted" || limit < this.connectTimeoutMs)
          throw callEnded(bounds, "while waiting for a database connection");
        this.reportUnavailable(new Error("connect timeout"));
        throw new UnavailableError(`no database connection within ${limit} ms`, DATABASE_RETRY_AFTER_MS);
    }
  }
}

/** One checked-out connection. Broken once a statement was abandoned or the connection failed: then discarded. */
class Session {
  private broken: Error | undefined;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly pool: BoundedPool,
  ) {
    // pg emits "error" on a checked-out client whose connection breaks between statements (terminated backend,
    // server restart): without a listener that would crash the process.
    client.on("error", this.onError);
  }

  get usable(): boolean {
    return this.broken === undefined;
  }

  async run<R extends QueryResultRow>(
    text: string,
    values: readonly unknown[] | undefined,
    bounds: CallBounds,
  ): Promise<QueryResult<R>> {
    if (this.broken) throw asDatabaseError(this.broken);
    if (callGone(bounds)) throw callEnded(bounds, "before the statement was sent");
    const left = msLeft(bounds);
    const limit = Math.min(this.pool.queryTimeoutMs, left);
    const running = this.client.query<R>(text, values as unknown[] | undefined);
    const outcome = await settle(running, limit, bounds.signal);
    switch (outcome.kind) {
      case "done":
        return outcome.value;
      case "failed":
        if (isConnectionError(outcome.error) && !isStatementTimeout(outcome.error)) {
          this.broken = outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
          this.pool.reportUnavailable(outcome.error);
        } else if (endsSession(outcome.error)) {
          // The server ends the session after this answer; until its socket closes, pg still takes the client
          // for a usable one, and the pool would hand it to the next call.
          this.discard(outcome.error);
          if (isIdleInTransactionTimeout(outcome.error))
            throw callEnded(bounds, "while its transaction waited (the server ended it at the call's deadline)");
        }
        throw asDatabaseError(outcome.error);
      case "timeout":
      case "aborted": {
        running.catch(() => undefined);
        this.abandon();
        if (outcome.kind === "aborted" || left <= this.pool.queryTimeoutMs)
          throw callEnded(bounds, "before the database answered");
        const error = new UnavailableError(
          `the database did not answer within ${this.pool.queryTimeoutMs} ms`,
          DATABASE_RETRY_AFTER_MS,
        );
        this.pool.reportUnavailable(error);
        throw error;
      }
    }
  }

  /** Never to be used again: closed at release instead of going back to the pool. */
  discard(reason: unknown): void {
    this.broken ??= reason instanceof Error ? reason : new Error(String(reason));
  }

  /** Back to the pool, or closed if it is broken. */
  release(): void {
    this.client.off("error", this.onError);
    this.client.release(this.broken);
  }

  private readonly onError = (error: Error): void => {
    this.broken ??= error;
    this.pool.reportUnavailable(error);
  };

  /**
   * Gives up on the running statement: asks the server to cancel it (so a statement waiting on a lock does not go
   * on holding a backend, nor apply a write nobody waits for) and marks the connection for closing — a cancel
   * request names a backend, not a statement, so one that lands late could cancel the next user's statement.
   */
  private abandon(): void {
    this.broken = new Error("statement abandoned: the call ended or the database did not answer");
    const { processID, secretKey } = this.client as unknown as { processID?: number; secretKey?: number };
    if (typeof processID === "number" && typeof secretKey === "number")
      void sendCancelRequest(
        { host: this.client.host, port: this.client.port, processId: processID, secretKey },
        this.pool.connectTimeoutMs,
      );
  }
}

/**
 * An answer after which the server closes the session: FATAL or PANIC severity (idle-in-transaction or idle session
 * timeout, a terminated backend, a server shutting down).
 */
function endsSession(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | undefined)?.severity;
  return severity === "FATAL" || severity === "PANIC";
}

/** 25P03: the transaction was idle longer than idle_in_transaction_session_timeout, set from the call's deadline. */
function isIdleInTransactionTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === "25P03";
}

/**
 * A statement or lock timeout (57014, 55P03): the statement ran out of time, the connection and the server are
 * fine. The caller still sees UNAVAILABLE, but the connection is kept and the health monitor is not told.
 */
function isStatementTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "57014" || code === "55P03";
}

/**
 * BEGIN, with the server enforcing the call's remaining time on every statement (never more than the pool's own
 * statement timeout), lock wait and pause in between. One round trip, like a plain BEGIN.
 */
function beginStatement(bounds: CallBounds, statementTimeoutMs: number): string {
  const left = msLeft(bounds);
  if (!Number.isFinite(left)) return "BEGIN";
  const ms = Math.max(1, Math.ceil(left));
  return (
    `BEGIN; SET LOCAL statement_timeout = ${Math.min(ms, statementTimeoutMs)}; SET LOCAL lock_timeout = ${ms}; ` +
    `SET LOCAL idle_in_transaction_session_timeout = ${ms}`
  );
}

/** The error for work the call no longer waits for: DEADLINE_EXCEEDED (the recovery interceptor says CANCELLED). */
function callEnded(bounds: CallBounds, when: string): OutcomeUnknownError {
  const reason = bounds.signal?.aborted && msLeft(bounds) > 0 ? "the call was cancelled" : "deadline exceeded";
  return new OutcomeUnknownError(`${reason} ${when}`);
}

type Outcome<T> =
  { kind: "done"; value: T } | { kind: "failed"; error: unknown } | { kind: "timeout" } | { kind: "aborted" };

/** How `promise` ended, or that `ms` passed or `signal` aborted first. Leaves no timer or listener behind. */
function settle<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<Outcome<T>> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome<T>) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish({ kind: "aborted" });
    if (Number.isFinite(ms)) timer = setTimeout(() => finish({ kind: "timeout" }), Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => finish({ kind: "done", value }),
      (error: unknown) => finish({ kind: "failed", error }),
    );
  });
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
