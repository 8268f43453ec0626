import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect } from "nats";
import { createLogger, DEAD_LETTER_STREAM, DeadLetterHeader, PoisonEventError, startEventConsumer } from "@lattice/kit";
import { ensureStream } from "@lattice/kit/internal";
import { eventually, startOwnNats, storedMessages, type OwnNats } from "@lattice/kit/testing";

/** No test here may hang: a fault left unhandled would otherwise wait as long as the fault lasts. */
const TEST_TIMEOUT_MS = 60_000;

const logger = createLogger({ service: "consumer-test", level: "silent", format: "json" });
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("event consumer: poison and failing events", () => {
  let nats: OwnNats;
  const cleanup: (() => Promise<void>)[] = [];
  before(async () => {
    nats = await startOwnNats();
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step();
    await nats.close();
  });

  /** Publishes `payloads` to a new stream of their own; resolves with its name and subject. */
  const streamOf = async (name: string, payloads: string[]) => {
    const subject = `test.${name.toLowerCase()}.Happened`;
    const nc = await connect({ servers: nats.url });
    try {
      await ensureStream(nc, name, [`test.${name.toLowerCase()}.>`]);
      const js = nc.jetstream();
      for (const payload of payloads) await js.publish(subject, new TextEncoder().encode(payload));
    } finally {
      await nc.close();
    }
    return { stream: name, subject: `test.${name.toLowerCase()}.>` };
  };
  const deadLetters = async (consumer: string) =>
    (await storedMessages(nats.url, DEAD_LETTER_STREAM)).filter(
      (message) => message.headers[DeadLetterHeader.CONSUMER] === consumer,
    );

  it(
    "dead-letters poison at once, so a flood of it cannot hold back valid events",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const poison = 1500;
      const { stream, subject } = await streamOf("POISON", [...Array<string>(poison).fill("poison"), "valid"]);
      const deliveries = new Map<string, number>();
      let validAt: number | undefined;
      const started = performance.now();
      const stop = await startEventConsumer({
        natsUrl: nats.url,
        stream,
        subjects: [subject],
        durable: "poison-test",
        logger,
        handle: async (_, data) => {
          const payload = text(data);
          deliveries.set(payload, (deliveries.get(payload) ?? 0) + 1);
          if (payload === "poison") throw new PoisonEventError("does not decode");
          validAt = performance.now();
        },
      });
      cleanup.push(stop);
      await eventually(() => assert.ok(validAt !== undefined), { withinMs: 30_000, intervalMs: 50 });
      const letters = await eventually(
        async () => {
          const stored = await deadLetters("poison-test");
          assert.equal(stored.length, poison);
          return stored;
        },
        { withinMs: 30_000, intervalMs: 200 },
      );
      assert.equal(deliveries.get("poison"), poison, "each poison event was delivered once");
      assert.equal(letters[0]!.headers[DeadLetterHeader.REASON], "poison");
      assert.equal(letters[0]!.headers[DeadLetterHeader.STREAM], stream);
      assert.equal(letters[0]!.headers[DeadLetterHeader.SUBJECT], subject.replace(">", "Happened"));
      assert.equal(text(letters[0]!.data), "poison", "the dead letter keeps the event's data");
      await eventually(async () => assert.equal((await consumerInfo(stream, "poison-test")).num_ack_pending, 0));
      t.diagnostic(
        `poison: ${poison} undecodable events ahead of a valid one: the valid one was handled after ${Math.round(validAt! - started)} ms; ` +
          `each poison event delivered once, ${letters.length} dead-lettered, none pending`,
      );
    },
  );

  it(
    "backs off an event that keeps failing, and dead-letters it after its last allowed delivery",
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const { stream, subject } = await streamOf("FLAKY", ["failing", "fine"]);
      const attempts: number[] = [];
      let fine = 0;
      const stop = await startEventConsumer({
        natsUrl: nats.url,
        stream,
        subjects: [subject],
        durable: "flaky-test",
        logger,
        maxDeliveries: 5,
        retryBackoffMs: 100,
        handle: async (_, data) => {
          if (text(data) === "fine") {
            fine++;
            return;
          }
          attempts.push(performance.now());
          throw new Error("the database is down");
        },
      });
      cleanup.push(stop);
      const letters = await eventually(
        async () => {
          const stored = await deadLetters("flaky-test");
          assert.equal(stored.length, 1);
          return stored;
        },
        { withinMs: 20_000, intervalMs: 100 },
      );
      assert.equal(fine, 1, "the event behind it was handled meanwhile");
      assert.equal(attempts.length, 5, "delivered exactly maxDeliveries times");
      const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
      gaps.forEach((gap, i) => assert.ok(gap >= 100 * 2 ** i * 0.8 - 20, `gap ${i + 1}: ${Math.round(gap)} ms`));
      assert.equal(letters[0]!.headers[DeadLetterHeader.REASON], "exhausted");
      assert.equal(letters[0]!.headers[DeadLetterHeader.DELIVERIES], "5");
      await eventually(async () => assert.equal((await consumerInfo(stream, "flaky-test")).num_ack_pending, 0));
      t.diagnostic(
        `transient failure: 5 deliveries, gaps ${gaps.map((gap) => Math.round(gap)).join(", ")} ms, then dead-lettered (exhausted)`,
      );
    },
  );

  const consumerInfo = async (stream: string, durable: string) => {
    const nc = await connect({ servers: nats.url });
    try {
      return await (await nc.jetstreamManager()).consumers.info(stream, durable);
    } finally {
      await nc.close();
    }
  };
});
