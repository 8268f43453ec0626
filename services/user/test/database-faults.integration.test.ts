import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { probeHealth, ProbeExit } from "@lattice/kit";
import {
  eventually,
  httpStatus,
  msUntil,
  outcomeOf,
  sample,
  startOwnPostgres,
  startTestService,
  tally,
  type OwnPostgres,
  type TestService,
  reportHeapAcrossFault,
} from "@lattice/kit/testing";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { userModule } from "../src/module.js";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

// Short settings, so each fault shows within seconds; docs/data-path.md gives the figures at the defaults.
const SETTINGS = {
  DATABASE_HEALTH_INTERVAL_MS: "200",
  DATABASE_UNAVAILABLE_GRACE_MS: "1000",
  DATABASE_CONNECT_TIMEOUT_MS: "1000",
  DATABASE_STATEMENT_TIMEOUT_MS: "2000",
};
const GRACE_MS = 1000;
/** The client gives up on a statement this long after it was sent: statement timeout + 1 s. */
const CLIENT_STATEMENT_BOUND_MS = 3000;

describe("user service when its PostgreSQL fails", () => {
  let postgres: OwnPostgres;
  let service: TestService;
  before(async () => {
    postgres = await startOwnPostgres();
    service = await startTestService(userModule, { env: { DATABASE_URL: postgres.url, ...SETTINGS } });
  });
  after(async () => {
    await service.shutdown();
    await postgres.close();
  });
  const users = () => service.client(UserServiceService);
  const create = async (email: string) =>
    (await users().createUser({ user: { name: "", email, displayName: email, etag: "" } }, { timeoutMs: 5000 })).user!;
  const readyz = () => httpStatus(`${service.adminUrl}/readyz`);
  /** Liveness as the kubelet sees it, HTTP and gRPC, sampled for the whole fault: it must never fail. */
  const watchLiveness = () =>
    sample(async () => {
      const http = await httpStatus(`${service.adminUrl}/livez`);
      const grpc = await probeHealth({ address: service.healthAddress, service: "liveness", timeoutMs: 1000 });
      return http === 200 && grpc.exitCode === ProbeExit.SERVING;
    });

  it(
    "answers UNAVAILABLE with RetryInfo while it is stopped, turns not ready after the grace and back, stays live",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const ada = await create("ada@example.org");
      assert.equal(await readyz(), 200);
      const liveness = watchLiveness();
      const stopped = performance.now();
      await postgres.stop();
      const stopMs = performance.now() - stopped;
      try {
        const during = [
          await outcomeOf(users().listUsers({ pageSize: 10, pageToken: "" })),
          await outcomeOf(users().getUser({ name: ada.name })),
          await outcomeOf(
            users().createUser({ user: { name: "", email: "b@example.org", displayName: "B", etag: "" } }),
          ),
          await outcomeOf(users().updateUser({ user: { ...ada, displayName: "x" }, updateMask: ["display_name"] })),
        ];
        for (const call of during) {
          assert.equal(call.code, "Unavailable", call.error?.message);
          assert.ok(call.error?.detail("RetryInfo")?.retryDelay, "UNAVAILABLE carries RetryInfo");
        }
        const notReadyMs = await msUntil(async () => assert.equal(await readyz(), 503), stopped, { withinMs: 10_000 });
        assert.ok(notReadyMs >= GRACE_MS * 0.9, `not ready only after the grace (${Math.round(notReadyMs)} ms)`);
        const grpcReadiness = await probeHealth({
          address: service.healthAddress,
          service: "readiness",
          timeoutMs: 1000,
        });
        assert.equal(grpcReadiness.exitCode, ProbeExit.NOT_SERVING, "the gRPC readiness check agrees");
        const serviceStatus = await probeHealth({
          address: service.healthAddress,
          service: "lattice.user.v1.UserService",
          timeoutMs: 1000,
        });
        assert.equal(serviceStatus.exitCode, ProbeExit.NOT_SERVING, "so does the service's own status");

        const restarted = performance.now();
        await postgres.start();
        const readyMs = await msUntil(async () => assert.equal(await readyz(), 200), restarted, { withinMs: 10_000 });
        const served = await outcomeOf(users().listUsers({ pageSize: 10, pageToken: "" }));
        assert.equal(served.code, "OK");
        const live = await liveness.stop();
        assert.ok(
          live.length > 5 && live.every(Boolean),
          `liveness failed in ${live.filter((ok) => !ok).length} probes`,
        );

        t.diagnostic(
          `stopped: calls during the outage ${JSON.stringify(tally(during))}, slowest ${Math.round(Math.max(...during.map((c) => c.ms)))} ms`,
        );
        t.diagnostic(
          `stopped: readiness NOT_SERVING ${Math.round(notReadyMs)} ms after the fast shutdown began ` +
            `(it took ${Math.round(stopMs)} ms; grace ${GRACE_MS} ms, probe every 200 ms)`,
        );
        t.diagnostic(
          `stopped: restarted on the same port; ready again after ${Math.round(readyMs)} ms; liveness failed 0 of ${live.length} probes`,
        );
      } finally {
        await liveness.stop();
        await postgres.start();
      }
    },
  );

  it(
    "bounds every call while it is frozen (SIGSTOP): its deadline, or UNAVAILABLE without one; readiness follows",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const grace = await create("grace@example.org");
      // Idle pooled connections, so the calls below reach the frozen server instead of waiting to connect.
      await Promise.all(Array.from({ length: 4 }, () => users().getUser({ name: grace.name }, { timeoutMs: 2000 })));
      const liveness = watchLiveness();
      const frozen = performance.now();
      postgres.freeze();
      try {
        const [withDeadline, withoutDeadline, notReadyMs] = await Promise.all([
          outcomeOf(users().getUser({ name: grace.name }, { timeoutMs: 500 })),
          outcomeOf(users().getUser({ name: grace.name })),
          msUntil(async () => assert.equal(await readyz(), 503), frozen, { withinMs: 10_000 }),
        ]);
        assert.equal(withDeadline.code, "DeadlineExceeded");
        // Before the 3 s a call without a deadline takes to fail: it ended at its own deadline.
        assert.ok(withDeadline.ms < 2500, `ended at its deadline (${Math.round(withDeadline.ms)} ms)`);
        assert.equal(withoutDeadline.code, "Unavailable", withoutDeadline.error?.message);
        assert.ok(withoutDeadline.error?.detail("RetryInfo"), "with RetryInfo");
        assert.ok(
          withoutDeadline.ms < CLIENT_STATEMENT_BOUND_MS + 500,
          `bounded by the client (${Math.round(withoutDeadline.ms)} ms)`,
        );
        const thawed = performance.now();
        postgres.thaw();
        const readyMs = await msUntil(async () => assert.equal(await readyz(), 200), thawed, { withinMs: 10_000 });
        assert.equal((await outcomeOf(users().getUser({ name: grace.name }, { timeoutMs: 2000 }))).code, "OK");
        const live = await liveness.stop();
        assert.ok(live.every(Boolean), "liveness never failed");
        t.diagnostic(
          `frozen: call with a 500 ms deadline ${withDeadline.code} after ${Math.round(withDeadline.ms)} ms; ` +
            `call without a deadline ${withoutDeadline.code} after ${Math.round(withoutDeadline.ms)} ms`,
        );
        t.diagnostic(
          `frozen: readiness NOT_SERVING after ${Math.round(notReadyMs)} ms; ready ${Math.round(readyMs)} ms after the thaw`,
        );
      } finally {
        postgres.thaw();
        await liveness.stop();
      }
    },
  );

  it(
    "replaces connections whose backends were terminated; calls that were using them fail UNAVAILABLE, never INTERNAL",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const linus = await create("linus@example.org");
      // Open several pooled connections.
      await Promise.all(Array.from({ length: 20 }, () => users().getUser({ name: linus.name }, { timeoutMs: 5000 })));
      const terminated = await postgres.terminate("user");
      assert.ok(terminated >= 2, `terminated ${terminated} pooled sessions`);
      const calls = await Promise.all(
        Array.from({ length: 50 }, () => outcomeOf(users().getUser({ name: linus.name }, { timeoutMs: 5000 }))),
      );
      const codes = tally(calls);
      assert.deepEqual(
        Object.keys(codes).filter((code) => code !== "OK" && code !== "Unavailable"),
        [],
        JSON.stringify(codes),
      );
      const after = await Promise.all(
        Array.from({ length: 20 }, () => outcomeOf(users().getUser({ name: linus.name }, { timeoutMs: 5000 }))),
      );
      assert.deepEqual(tally(after), { OK: 20 });

      // Backends terminated while their statements run (waiting on a locked row): those calls fail UNAVAILABLE.
      const holder = new pg.Client({ connectionString: postgres.url });
      await holder.connect();
      let inFlight: Record<string, number>;
      try {
        await holder.query("BEGIN");
        await holder.query("SELECT * FROM users.users WHERE email = $1 FOR UPDATE", [linus.email]);
        const updates = Array.from({ length: 5 }, (_, i) =>
          outcomeOf(
            users().updateUser(
              { user: { ...linus, displayName: `attempt ${i}` }, updateMask: ["display_name"] },
              { timeoutMs: 5000 },
            ),
          ),
        );
        await eventually(async () => {
          const rows = await postgres.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'user' AND wait_event_type = 'Lock'",
          );
          assert.equal(Number(rows[0]!.n), 5);
        });
        await postgres.terminate("user");
        const ended = await Promise.all(updates);
        inFlight = tally(ended);
        assert.deepEqual(inFlight, { Unavailable: 5 });
        assert.ok(
          ended.every((call) => call.error?.detail("RetryInfo")),
          "with RetryInfo",
        );
      } finally {
        await holder.end();
      }
      t.diagnostic(
        `terminated ${terminated} idle pooled backends: the next 50 calls ${JSON.stringify(codes)}, the 20 after ` +
          `${JSON.stringify(tally(after))}; 5 backends terminated mid-statement: ${JSON.stringify(inFlight)}`,
      );
    },
  );

  it(
    "cancels the statements of calls whose deadline passed while a row was locked: not applied, pool free",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      const locked = await create("locked@example.org");
      const other = await create("other@example.org");
      const holder = new pg.Client({ connectionString: postgres.url });
      await holder.connect();
      try {
        await holder.query("BEGIN");
        await holder.query("SELECT * FROM users.users WHERE email = $1 FOR UPDATE", [locked.email]);
        const started = performance.now();
        const updates = Array.from({ length: 30 }, (_, i) =>
          outcomeOf(
            users().updateUser(
              { user: { ...locked, displayName: `attempt ${i}` }, updateMask: ["display_name"] },
              { timeoutMs: 1000 },
            ),
          ),
        );
        // An unrelated call, while the pool is taken by the waiting updates.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const unrelated = outcomeOf(users().getUser({ name: other.name }, { timeoutMs: 3000 }));
        const ended = await Promise.all(updates);
        const endedMs = performance.now() - started;
        assert.deepEqual(tally(ended), { DeadlineExceeded: 30 });
        assert.ok(Math.max(...ended.map((c) => c.ms)) < 1500, "every update ended at its deadline");
        const get = await unrelated;
        assert.equal(get.code, "OK", "the unrelated call was served");

        // Within moments of the deadline, none of the service's statements still waits on the lock: well before the
        // server's own statement timeout (2 s here) would have ended them.
        const waitingMs = await msUntil(
          async () => {
            const rows = await postgres.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'user' AND wait_event_type = 'Lock'",
            );
            assert.equal(Number(rows[0]!.n), 0);
          },
          started,
          { withinMs: 1500 },
        );
        // The lock goes while the server's statement timeout has not passed: a statement still waiting would now apply.
        await holder.query("ROLLBACK");
        // Nothing the timed-out callers asked for is applied after the lock is gone.
        await new Promise((resolve) => setTimeout(resolve, 500));
        const rows = await postgres.query<{ display_name: string; version: number }>(
          "SELECT display_name, version FROM users.users WHERE email = $1",
          [locked.email],
        );
        assert.deepEqual(rows[0], { display_name: locked.displayName, version: 1 });
        assert.equal(
          (
            await outcomeOf(
              users().updateUser(
                { user: { ...locked, displayName: "free" }, updateMask: ["display_name"] },
                { timeoutMs: 2000 },
              ),
            )
          ).code,
          "OK",
        );
        t.diagnostic(
          `row locked: 30 updates with a 1 s deadline ${JSON.stringify(tally(ended))}, all ended within ${Math.round(endedMs)} ms; ` +
            `no statement waited on the lock ${Math.round(waitingMs)} ms after they started; applied later: 0; ` +
            `unrelated GetUser OK in ${Math.round(get.ms)} ms`,
        );
      } finally {
        await holder.end();
      }
    },
  );

  it(
    "waits for the database at start instead of exiting, and serves once it is up",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      reportHeapAcrossFault(t);
      await postgres.stop();
      let started: TestService | undefined;
      const starting = startTestService(userModule, {
        env: { DATABASE_URL: postgres.url, DATABASE_SCHEMA: "users_late", ...SETTINGS },
      }).then((running) => (started = running));
      try {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        assert.equal(started, undefined, "still waiting for the database");
        const restarted = performance.now();
        await postgres.start();
        await starting;
        const servingMs = performance.now() - restarted;
        const listed = await outcomeOf(started!.client(UserServiceService).listUsers({ pageSize: 1, pageToken: "" }));
        assert.equal(listed.code, "OK");
        t.diagnostic(`start with the database down: waited; serving ${Math.round(servingMs)} ms after it came up`);
      } finally {
        await postgres.start();
        await (await starting).shutdown();
      }
    },
  );
  it(
    "as a process, is live while it waits for its database at start, reports it down, and exits 0 on SIGTERM",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      await postgres.stop();
      const adminPort = await freePort();
      const child = spawn(process.execPath, [fileURLToPath(new URL("../src/main.js", import.meta.url))], {
        env: {
          PATH: process.env["PATH"],
          DATABASE_URL: postgres.url,
          GRPC_HOST: "127.0.0.1",
          GRPC_PORT: "0",
          ADMIN_HOST: "127.0.0.1",
          ADMIN_PORT: String(adminPort),
          HEALTH_PORT: "0",
          LOG_FORMAT: "json",
          ...SETTINGS,
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const messages: string[] = [];
      createInterface({ input: child.stdout }).on("line", (line) => {
        messages.push((JSON.parse(line) as { msg: string }).msg);
      });
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      try {
        await eventually(() => assert.ok(messages.includes("database (at start) unavailable; retrying")), {
          withinMs: 10_000,
        });
        assert.equal(await httpStatus(`http://127.0.0.1:${adminPort}/livez`), 200, "live while it waits");
        assert.equal(await httpStatus(`http://127.0.0.1:${adminPort}/readyz`), 503, "and not ready");
        // And says why, so the database alert fires for replicas that start during an outage too.
        const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
        assert.match(metrics, /^lattice_dependency_up\{dependency="postgres"\} 0$/m);
        const signalled = performance.now();
        child.kill("SIGTERM");
        const [code] = await exited;
        const exitMs = performance.now() - signalled;
        assert.equal(code, 0);
        assert.ok(messages.includes("stopped while starting"), messages.join(" | "));
        t.diagnostic(
          `waiting for the database at start: live, not ready; SIGTERM → exit 0 after ${Math.round(exitMs)} ms`,
        );
      } finally {
        child.kill("SIGKILL");
        await postgres.start();
      }
    },
  );
});

/** A TCP port nothing listens on right now, on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}
