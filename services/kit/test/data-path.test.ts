import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import {
  createLogger,
  DATABASE_RETRY_AFTER_MS,
  HealthRegistry,
  isConnectionError,
  LIVENESS,
  OVERALL,
  READINESS,
  ServingStatus,
  UnavailableError,
  toGrpcError,
} from "@lattice/kit";
import { asDatabaseError, backoffDelay, OutageLog, sleep } from "@lattice/kit/internal";

const sqlError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe("database errors", () => {
  it("counts connection-level failures as the database being unavailable, and nothing else", () => {
    const unavailable = [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }),
      sqlError("57P01"), // admin shutdown, pg_terminate_backend
      sqlError("57P03"), // cannot connect now
      sqlError("53300"), // too many connections
      sqlError("08006"), // connection failure
      sqlError("57014"), // statement timeout
      new Error("Connection terminated unexpectedly"),
      new Error("Connection terminated due to connection timeout"),
      new Error("timeout exceeded when trying to connect"),
      new AggregateError([Object.assign(new Error("refused"), { code: "ECONNREFUSED" })]),
    ];
    for (const error of unavailable) assert.ok(isConnectionError(error), error.message);
    const statementFaults = [
      sqlError("23505"), // unique violation
      sqlError("40001"), // serialization failure
      sqlError("42P01"), // undefined table
      sqlError("28P01"), // wrong password: waiting will not cure it
      new Error("something else"),
      "not an error",
    ];
    for (const error of statementFaults) assert.ok(!isConnectionError(error), String(error));
  });

  it("sends unavailability as UNAVAILABLE with RetryInfo, keeping the driver's error for logs only", () => {
    const cause = sqlError("57P01");
    const mapped = asDatabaseError(cause);
    assert.ok(mapped instanceof UnavailableError);
    assert.equal(mapped.cause, cause);
    const status = toGrpcError(mapped);
    assert.equal(status.codeName, "Unavailable");
    assert.equal(status.message, "database unavailable");
    assert.deepEqual(status.detail("RetryInfo")?.retryDelay, { seconds: DATABASE_RETRY_AFTER_MS / 1000, nanos: 0 });
    const unique = sqlError("23505");
    assert.equal(asDatabaseError(unique), unique, "the repository maps the rest");
  });
});

describe("readiness and dependencies", () => {
  it("reads NOT_SERVING everywhere but liveness while a dependency is unavailable, and restores what was set", () => {
    const health = new HealthRegistry();
    health.set("lattice.user.v1.UserService", ServingStatus.NOT_SERVING);
    health.setAll(ServingStatus.SERVING);
    health.setDependency("postgres", false);
    for (const service of [OVERALL, READINESS, "lattice.user.v1.UserService"])
      assert.equal(health.get(service), ServingStatus.NOT_SERVING, service);
    assert.equal(health.get(LIVENESS), ServingStatus.SERVING);
    assert.equal(health.list().get(READINESS), ServingStatus.NOT_SERVING);
    assert.deepEqual(health.unavailableDependencies(), ["postgres"]);
    health.setDependency("postgres", true);
    assert.equal(health.get(READINESS), ServingStatus.SERVING);
    assert.equal(health.get("lattice.user.v1.UserService"), ServingStatus.SERVING);
  });

  it("does not make a service ready that was not, nor one shutting down", () => {
    const health = new HealthRegistry();
    health.setDependency("postgres", false);
    health.setDependency("postgres", true);
    assert.equal(health.get(READINESS), ServingStatus.NOT_SERVING, "not ready before the server says so");
    health.setAll(ServingStatus.SERVING);
    health.setDependency("postgres", false);
    health.setAll(ServingStatus.NOT_SERVING);
    health.setDependency("postgres", true);
    assert.equal(health.get(READINESS), ServingStatus.NOT_SERVING, "shutdown wins");
  });

  it("tells watchers when a dependency turns", async () => {
    const health = new HealthRegistry();
    health.setAll(ServingStatus.SERVING);
    const stop = new AbortController();
    const seen: ServingStatus[] = [];
    const watching = (async () => {
      for await (const status of health.watch(READINESS, stop.signal)) {
        seen.push(status);
        if (seen.length === 1) health.setDependency("postgres", false);
        if (seen.length === 2) health.setDependency("postgres", true);
        if (seen.length === 3) stop.abort();
      }
    })();
    await watching;
    assert.deepEqual(seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
  });
});

describe("retrying without flooding", () => {
  it("logs an outage once, then at most every 30 s, then once when it ends", () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger({
      service: "outage-test",
      format: "json",
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
    });
    const outage = new OutageLog(logger, "NATS (test)");
    const start = 1_000_000;
    // A retry every 200 ms for ten minutes: 3000 failures.
    for (let i = 0; i < 3000; i++) outage.failed(new Error("connection refused"), start + i * 200);
    outage.succeeded(start + 600_000);
    assert.deepEqual(
      lines.map((line) => line.msg),
      [
        "NATS (test) unavailable; retrying",
        ...Array<string>(19).fill("NATS (test) still unavailable; retrying"),
        "NATS (test) available again",
      ],
    );
  });

  it("backs off exponentially, within bounds", () => {
    const options = { initialMs: 100, maxMs: 5000, jitter: 0.2 };
    for (let failures = 1; failures < 40; failures++) {
      const delay = backoffDelay(failures, options);
      const base = Math.min(100 * 2 ** (failures - 1), 5000);
      assert.ok(delay >= base * 0.8 && delay <= base * 1.2, `${failures}: ${delay}`);
    }
  });

  it("sleeps any number of times on one signal without leaving a listener behind", async () => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 300; i++) await sleep(0, signal);
    assert.equal(getEventListeners(signal, "abort").length, 0);
  });
});
