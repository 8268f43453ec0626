import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Registry } from "prom-client";
import {
  createLogger,
  createPool,
  inTransaction,
  jetStreamPublisher,
  OutboxRelay,
  startEventConsumer,
  writeOutboxEvent,
  type Pool,
} from "@lattice/kit";
import { EventMetrics, registerOutboxMetrics, registerPoolMetrics } from "@lattice/kit/internal";
import {
  createOutboxTable,
  dropSchema,
  eventually,
  recordSpans,
  testDatabaseUrl,
  testNatsUrl,
  uniqueSchema,
  type ReadableSpan,
  type RecordedSpans,
} from "@lattice/kit/testing";

const logger = createLogger({ service: "data-tracing-test", level: "silent", format: "json" });

/** One sample's value from a registry's exposition. */
async function sample(registry: Registry, name: string, labels = ""): Promise<number> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  assert.ok(line, `${name}{${labels}} is exported`);
  return Number(line.split(" ")[1]);
}

describe("tracing and metrics of the data path: statements, the outbox, NATS, consumers", () => {
  const schema = uniqueSchema("data_tracing");
  const stream = schema.toUpperCase();
  const subject = `test.${schema}.Happened`;
  let recorded: RecordedSpans;
  let pool: Pool;
  before(async () => {
    recorded = recordSpans("data-tracing-test");
    pool = createPool({ url: testDatabaseUrl(), schema });
    await createOutboxTable(pool, schema);
  });
  after(async () => {
    try {
      await pool.end();
      await dropSchema(schema);
    } finally {
      await recorded.stop();
    }
  });

  /** Runs `work` in a root span of the test's own, as a handler runs in its call's span. */
  async function inSpan<T>(
    name: string,
    work: () => Promise<T>,
  ): Promise<{ result: T; root: ReadableSpan["spanContext"] }> {
    const span = trace.getTracer("test").startSpan(name);
    try {
      const result = await context.with(trace.setSpan(context.active(), span), work);
      return { result, root: () => span.spanContext() };
    } finally {
      span.end();
    }
  }

  it("makes a span per statement within a traced call, with the database conventions, and none outside one", async () => {
    recorded.reset();
    await pool.query("SELECT 1 AS untraced");
    const { root } = await inSpan("handler", async () => {
      await pool.query("SELECT count(*) FROM outbox WHERE published_at IS NULL");
      await pool.query("SELECT * FROM no_such_table").catch(() => undefined);
    });
    const spans = recorded.spans().filter((span) => span.attributes["db.system.name"] === "postgresql");
    assert.equal(spans.length, 2, "the statement outside a span made none");
    const [count, missing] = spans;
    assert.equal(count!.name, "SELECT outbox");
    assert.equal(count!.kind, SpanKind.CLIENT);
    assert.equal(count!.parentSpanContext?.spanId, root().spanId);
    assert.equal(count!.attributes["db.operation.name"], "SELECT");
    assert.equal(count!.attributes["db.collection.name"], "outbox");
    assert.match(String(count!.attributes["db.namespace"]), new RegExp(`\\|${schema}$`));
    assert.equal(count!.attributes["db.query.text"], "SELECT count(*) FROM outbox WHERE published_at IS NULL");
    assert.equal(count!.attributes["server.address"], "127.0.0.1");
    assert.equal(count!.attributes["db.response.returned_rows"], 1);
    assert.equal(missing!.status.code, SpanStatusCode.ERROR);
    assert.equal(missing!.attributes["db.response.status_code"], "42P01");
    assert.equal(missing!.attributes["error.type"], "42P01");
  });

  it("carries an event's trace from the outbox write through NATS to the consumer, and counts redeliveries", async () => {
    recorded.reset();
    const { result: eventId, root } = await inSpan("CreateOrder", () =>
      inTransaction(pool, (client) => writeOutboxEvent(client, { subject, payload: Buffer.from("event") })),
    );
    const stored = await pool.query<{ traceparent: string | null }>("SELECT traceparent FROM outbox WHERE id = $1", [
      eventId,
    ]);
    const creation = recorded.spans().find((span) => span.name === `create ${subject}`);
    assert.ok(creation, "the write is a create span");
    assert.equal(creation.kind, SpanKind.PRODUCER);
    assert.equal(creation.parentSpanContext?.spanId, root().spanId);
    assert.equal(creation.attributes["messaging.operation.type"], "create");
    assert.equal(creation.attributes["messaging.message.id"], eventId);
    const { traceId, spanId } = creation.spanContext();
    assert.equal(stored.rows[0]!.traceparent, `00-${traceId}-${spanId}-01`, "the row holds the create span's context");
    const insert = recorded.spans().find((span) => span.name === "INSERT outbox");
    assert.equal(insert?.parentSpanContext?.spanId, spanId, "the INSERT is the create span's child");

    const registry = new Registry();
    registerOutboxMetrics(registry, pool);
    assert.equal(await sample(registry, "lattice_outbox_backlog_events"), 1);
    assert.ok((await sample(registry, "lattice_outbox_lag_seconds")) > 0);

    // Consumed by a consumer that fails the first delivery: the second one is a redelivery.
    const metrics = EventMetrics.of(registry);
    const processed: (string | undefined)[] = [];
    let deliveries = 0;
    const stop = await startEventConsumer({
      natsUrl: testNatsUrl(),
      stream,
      subjects: [`test.${schema}.>`],
      durable: `${schema}_consumer`,
      logger,
      eventMetrics: metrics,
      handle: async () => {
        deliveries++;
        processed.push(trace.getActiveSpan()?.spanContext().traceId);
        if (deliveries === 1) throw new Error("first delivery fails");
      },
    });
    const publisher = await jetStreamPublisher(testNatsUrl(), stream, [`test.${schema}.>`]);
    try {
      assert.equal(await new OutboxRelay({ pool, publish: publisher.publish, logger }).drainOnce(), 1);
      await eventually(() => assert.equal(deliveries, 2), { withinMs: 10_000 });
      const spans = await eventually(() => {
        const all = recorded.spans();
        assert.equal(all.filter((span) => span.name === `process ${subject}`).length, 2);
        return all;
      });
      const send = spans.find((span) => span.name === `send ${subject}`);
      assert.ok(send, "the relay's publish is a send span");
      assert.equal(send.kind, SpanKind.PRODUCER);
      assert.equal(send.spanContext().traceId, traceId);
      assert.equal(send.parentSpanContext?.spanId, spanId);
      assert.deepEqual(
        send.links.map((link) => link.context.spanId),
        [spanId],
      );
      const [failed, succeeded] = spans.filter((span) => span.name === `process ${subject}`);
      for (const process of [failed!, succeeded!]) {
        assert.equal(process.kind, SpanKind.CONSUMER);
        assert.equal(process.spanContext().traceId, traceId, "the consumer continues the trace");
        assert.equal(process.parentSpanContext?.spanId, spanId, "child of the event's creation");
        assert.equal(process.attributes["messaging.consumer.group.name"], `${schema}_consumer`);
        assert.equal(process.attributes["messaging.message.id"], eventId);
        assert.equal(process.attributes["messaging.destination.name"], subject);
      }
      assert.equal(failed!.status.code, SpanStatusCode.ERROR);
      assert.equal(succeeded!.status.code, SpanStatusCode.UNSET);
      assert.equal(succeeded!.attributes["messaging.nats.delivery_count"], 2);
      assert.deepEqual(processed, [traceId, traceId], "the handler runs in the process span");
      assert.equal(await sample(registry, "lattice_events_redelivered_total", `stream="${stream}"`), 1);
      await eventually(async () => assert.equal(await sample(registry, "lattice_outbox_backlog_events"), 0));
      assert.equal(await sample(registry, "lattice_outbox_lag_seconds"), 0);
    } finally {
      await stop();
      await (await publisher.connection.jetstreamManager()).streams.delete(stream);
      await publisher.close();
    }
  });

  it("reports the pool's connections in use, idle and the callers waiting for one", async () => {
    const registry = new Registry();
    const small = createPool({ url: testDatabaseUrl(), schema, max: 1 });
    registerPoolMetrics(registry, () => ({ ...small.stats, max: 1 }));
    try {
      // A transaction holds the only connection until `release` is called.
      let release!: () => void;
      const releasing = new Promise<void>((resolve) => (release = resolve));
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      const transaction = small.transaction(async () => {
        held();
        await releasing;
      });
      await holding;
      const waiting = small.query("SELECT 1");
      await eventually(async () => assert.equal(await sample(registry, "lattice_db_pool_waiting_requests"), 1));
      assert.equal(await sample(registry, "lattice_db_pool_connections", 'state="in_use"'), 1);
      assert.equal(await sample(registry, "lattice_db_pool_max_connections"), 1);
      release();
      await transaction;
      await waiting;
      assert.equal(await sample(registry, "lattice_db_pool_connections", 'state="in_use"'), 0);
      assert.equal(await sample(registry, "lattice_db_pool_connections", 'state="idle"'), 1);
      assert.equal(await sample(registry, "lattice_db_pool_waiting_requests"), 0);
    } finally {
      await small.end();
    }
  });
});
