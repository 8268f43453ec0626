import { connect, headers as natsHeaders, nanos, type JetStreamClient, type MsgHdrs, type NatsConnection } from "nats";
import { eventTraceHeaders, withEventSend } from "../telemetry/messaging-spans.js";
import type { NatsLink } from "./nats-link.js";
import type { OutboxEvent, Publish } from "./relay.js";

export interface JetStreamPublisher {
  readonly publish: Publish;
  readonly connection: NatsConnection;
  close(): Promise<void>;
}

/**
 * Publishes events to NATS JetStream, creating (or keeping) a stream for `subjects`. The event id goes in the
 * Nats-Msg-Id header, so a relay that sends an event twice (it died before recording the first send) stores it
 * once; the trace context it was written in goes in `traceparent`/`tracestate`, and the publish is a `send` span. One
 * plain connection, opened now (it rejects if the broker cannot be reached): for tools and tests. Services publish
 * through linkPublisher, which outlives outages.
 */
export async function jetStreamPublisher(url: string, stream: string, subjects: string[]): Promise<JetStreamPublisher> {
  const connection = await connect({ servers: url, name: `lattice-outbox-${stream}` });
  await ensureStream(connection, stream, subjects);
  const js = connection.jetstream();
  return {
    connection,
    publish: (event: OutboxEvent) =>
      withEventSend(event, async () => {
        await js.publish(event.subject, event.payload, { msgID: event.id, headers: traceHeadersOf(event) });
      }),
    close: () => connection.drain(),
  };
}

/**
 * Publishes through a NatsLink, as jetStreamPublisher does. Rejects while the link is down (the relay waits for
 * it); after each (re)connection it makes sure the stream exists before the first publish, since a broker
 * restarted without its storage has lost it.
 */
export function linkPublisher(link: NatsLink, stream: string, subjects: string[]): Publish {
  let ready: { generation: number; js: JetStreamClient } | undefined;
  return async (event) => {
    const nc = link.current;
    if (!nc) throw new Error("NATS is not connected");
    if (ready?.generation !== link.generation) {
      await ensureStream(nc, stream, subjects);
      ready = { generation: link.generation, js: nc.jetstream() };
    }
    const { js } = ready;
    await withEventSend(event, async () => {
      await js.publish(event.subject, event.payload, { msgID: event.id, headers: traceHeadersOf(event) });
    });
  };
}

export interface StreamSettings {
  /** Messages older than this are removed (ms); kept until the stream's other limits by default. */
  maxAgeMs?: number;
}

/**
 * Creates the stream unless it exists, or adds `subjects` it lacks. Publishers and consumers of a stream both call it,
 * so whichever starts first makes it, with the same settings; a consumer that declares only some of a stream's
 * events never narrows it.
 */
export async function ensureStream(
  connection: NatsConnection,
  stream: string,
  subjects: string[],
  settings: StreamSettings = {},
): Promise<void> {
  const manager = await connection.jetstreamManager();
  let info;
  try {
    info = await manager.streams.info(stream);
  } catch {
    // Copies are recognised for an hour: far longer than a relay takes to come back after a crash.
    await manager.streams.add({
      name: stream,
      subjects,
      duplicate_window: nanos(60 * 60 * 1000),
      ...(settings.maxAgeMs === undefined ? {} : { max_age: nanos(settings.maxAgeMs) }),
    });
    return;
  }
  const missing = subjects.filter((subject) => !info.config.subjects.includes(subject));
  if (missing.length > 0) await manager.streams.update(stream, { subjects: [...info.config.subjects, ...missing] });
}

/** The event's stored trace context as NATS message headers; undefined when it has none. */
function traceHeadersOf(event: OutboxEvent): MsgHdrs | undefined {
  const trace = eventTraceHeaders(event);
  if (!trace) return undefined;
  const headers = natsHeaders();
  for (const [key, value] of Object.entries(trace)) headers.set(key, value);
  return headers;
}
