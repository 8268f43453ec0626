import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { createLogger, jetStreamPublisher, OutboxRelay, type Pool } from "@lattice/kit";
import { createOutboxTable, dropSchema, eventually, testNatsUrl, testPool, uniqueSchema } from "@lattice/kit/testing";

const logger = createLogger({ service: "outbox-test", level: "silent", format: "json" });
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** A fresh schema with an outbox table shaped like the services' ones, and a JetStream stream of its own. */
async function setup() {
  const schema = uniqueSchema("outbox_test");
  const pool = testPool(schema);
  await createOutboxTable(pool, schema);
  const subject = `test.${schema}.Happened`;
  const publisher = await jetStreamPublisher(testNatsUrl(), schema.toUpperCase(), [`test.${schema}.>`]);
  cleanup.push(async () => {
    await (await publisher.connection.jetstreamManager()).streams.delete(schema.toUpperCase());
    await publisher.close();
    await pool.end();
    await dropSchema(schema);
  });
  const stored = async () =>
    (await (await publisher.connection.jetstreamManager()).streams.info(schema.toUpperCase())).state.messages;
  const insert = (id: string) =>
    pool.query("INSERT INTO outbox (id, subject, payload) VALUES ($1, $2, $3)", [id, subject, Buffer.from(id)]);
  return { pool, publisher, stored, insert };
}

async function unpublished(pool: Pool): Promise<number> {
  return Number(
    (await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")).rows[0]!.n,
  );
}

describe("outbox relay to NATS JetStream", () => {
  it("publishes waiting events and marks them, once", async () => {
    const { pool, publisher, stored, insert } = await setup();
    for (let i = 0; i < 3; i++) await insert(randomUUID());
    const relay = new OutboxRelay({ pool, publish: publisher.publish, logger });
    assert.equal(await relay.drainOnce(), 3);
    assert.equal(await relay.drainOnce(), 0);
    assert.equal(await stored(), 3);
    assert.equal(await unpublished(pool), 0);
  });

  it("loses nothing and duplicates nothing when the relay dies between publishing and recording it", async () => {
    const { pool, publisher, stored, insert } = await setup();
    await insert(randomUUID());
    const dying = new OutboxRelay({
      pool,
      logger,
      publish: async (event) => {
        await publisher.publish(event);
        throw new Error("relay killed after the broker acknowledged, before the outbox was updated");
      },
    });
    await assert.rejects(dying.drainOnce(), /relay killed/);
    assert.equal(await unpublished(pool), 1, "the event is still waiting");

    const restarted = new OutboxRelay({ pool, publish: publisher.publish, logger });
    assert.equal(await restarted.drainOnce(), 1, "sent again after the restart");
    assert.equal(await stored(), 1, "JetStream kept one copy, by event id");
    assert.equal(await unpublished(pool), 0);
  });

  it("keeps polling in the background until stopped", async () => {
    const { pool, publisher, stored, insert } = await setup();
    const relay = new OutboxRelay({ pool, publish: publisher.publish, logger, intervalMs: 20 });
    relay.start();
    await insert(randomUUID());
    await eventually(async () => assert.ok((await stored()) > 0, "nothing published yet"));
    await relay.stop();
    assert.equal(await stored(), 1);
  });
});
