import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger, createPool, jetStreamPublisher, OutboxRelay, type Pool } from "@lattice/kit";
import {
  createOutboxTable,
  eventually,
  heapMb,
  startOwnNats,
  startOwnPostgres,
  storedMessages,
  type OwnNats,
  type OwnPostgres,
} from "@lattice/kit/testing";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 120_000;

const logger = createLogger({ service: "events-test", level: "silent", format: "json" });

/** The least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const sxy = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const sxx = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  return sxy / sxx;
}
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("outbox relay: replicas and idle polls", () => {
  let postgres: OwnPostgres;
  let nats: OwnNats;
  const cleanup: (() => Promise<void>)[] = [];
  before(async () => {
    [postgres, nats] = await Promise.all([startOwnPostgres(), startOwnNats()]);
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step();
    await Promise.all([postgres.close(), nats.close()]);
  });

  /** A pool on `schema`, closed after the tests. */
  const poolOn = (schema: string, poolMax = 2): Pool => {
    const pool = createPool({ url: postgres.url, schema, max: poolMax, logger });
    cleanup.push(() => pool.end());
    return pool;
  };
  /** A schema with an outbox shaped like the services' ones (after their migrations). */
  const outbox = async (schema: string, poolMax = 2): Promise<Pool> => {
    const pool = poolOn(schema, poolMax);
    await createOutboxTable(pool, schema);
    return pool;
  };

  it(
    "keeps each entity's events in order while four replicas drain a backlog in parallel",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const schema = "relay_order";
      const pool = await outbox(schema);
      const entities = 1500;
      const steps = 3;
      // The backlog: every entity's step 1, then every step 2, then every step 3, each step committed after the last.
      for (let step = 1; step <= steps; step++) {
        const values = Array.from(
          { length: entities },
          (_, entity) => `('${randomUUID()}', 'test.order.Step', '${entity}:${step}')`,
        );
        await pool.query(`INSERT INTO outbox (id, subject, payload) VALUES ${values.join(", ")}`);
      }
      const stream = "RELAY_ORDER";
      const replicas = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const publisher = await jetStreamPublisher(nats.url, stream, ["test.order.>"]);
          const relay = new OutboxRelay({
            pool: poolOn(schema),
            publish: publisher.publish,
            logger,
            intervalMs: 5,
            batchSize: 100,
          });
          return { publisher, relay };
        }),
      );
      const started = performance.now();
      for (const { relay } of replicas) relay.start();
      await eventually(
        async () => {
          const { rows } = await pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
          );
          assert.equal(Number(rows[0]!.n), 0);
        },
        { withinMs: 60_000, intervalMs: 100 },
      );
      const drainedMs = performance.now() - started;
      for (const { relay, publisher } of replicas) {
        await relay.stop();
        await publisher.close();
      }

      const stored = await storedMessages(nats.url, stream);
      const seen = new Map<string, number[]>();
      for (const message of stored) {
        const [entity, step] = text(message.data).split(":");
        seen.set(entity!, [...(seen.get(entity!) ?? []), Number(step)]);
      }
      const reversed = [...seen.values()].filter((order) => order.some((step, i) => i > 0 && step < order[i - 1]!));
      const published = replicas.map(({ relay }) => relay.polls);
      assert.equal(stored.length, entities * steps, "every event stored once");
      assert.equal(seen.size, entities);
      assert.equal(reversed.length, 0, `${reversed.length} of ${entities} entities out of order`);
      t.diagnostic(
        `relay order: ${entities * steps} events of ${entities} entities drained by 4 replicas in ${Math.round(drainedMs)} ms; ` +
          `out of order: ${reversed.length}; duplicates: ${stored.length - entities * steps}; polls per replica ${published.join("/")}`,
      );
    },
  );

  it("holds no more memory after thousands of idle polls", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const relay = new OutboxRelay({
      pool: await outbox("relay_idle"),
      publish: () => Promise.reject(new Error("nothing to publish")),
      logger,
      intervalMs: 1,
    });
    // Waits without eventually(): a failed check every 50 ms makes an AssertionError with its stack each time,
    // garbage the samples would count as the relay's.
    const heapAfter = async (polls: number) => {
      const until = Date.now() + 60_000;
      while (relay.polls < polls && Date.now() < until) await delay(50);
      assert.ok(relay.polls >= polls, `only ${relay.polls} polls in 60 s`);
      return { polls: relay.polls, heap: heapMb() * 1e6 };
    };
    relay.start();
    try {
      // Past the start-up allocations (code, caches) first; then samples every 1000 polls over 10 000, and the
      // slope of the heap over them (least squares), which a single noisy sample does not swing.
      const samples = [];
      for (let polls = 3000; polls <= 13_000; polls += 1000) samples.push(await heapAfter(polls));
      const perPoll = slope(samples.map((sample) => [sample.polls, sample.heap]));
      // The leak this guards against kept one abort listener (about 577 bytes) per empty poll: 5.8 MB over the
      // window. The heap of a test process swings by up to ~1.5 MB between collections (slopes of -95 to +160
      // bytes per poll measured with no leak; about 3 in a process of its own), so the bound is half the leak.
      assert.ok(perPoll < 290, `${perPoll.toFixed(1)} bytes retained per idle poll`);
      const first = samples[0]!;
      const last = samples[samples.length - 1]!;
      t.diagnostic(
        `idle relay: heap ${(first.heap / 1e6).toFixed(2)} MB after ${first.polls} polls, ` +
          `${(last.heap / 1e6).toFixed(2)} MB after ${last.polls}: ${perPoll.toFixed(1)} bytes per poll (least squares)`,
      );
    } finally {
      await relay.stop();
    }
  });
});
