import { randomUUID } from "node:crypto";
import type { PoolClient } from "../db/pool.js";
import { withEventCreation } from "../telemetry/messaging-spans.js";

/** An event to record in the outbox, in the transaction of the change it reports. */
export interface NewOutboxEvent {
  /** The event's full protobuf message name, e.g. "lattice.payment.v1.PaymentSucceeded" (the message subject). */
  readonly subject: string;
  /** The encoded event. */
  readonly payload: Uint8Array;
  /** The broker's de-duplication id; a new UUID by default. */
  readonly id?: string;
}

/**
 * Writes one event to the service's `outbox` table with `client`, the transaction's connection, so the event
 * commits or rolls back with the change it reports; the relay publishes it afterwards. While tracing is on and a call
 * is being traced, the write is a `create <subject>` span whose W3C context (traceparent, tracestate) is stored with
 * the event: the relay publishes it in the message's headers and consumers continue the trace from it. Resolves
 * with the event's id.
 */
export async function writeOutboxEvent(client: PoolClient, event: NewOutboxEvent): Promise<string> {
  const id = event.id ?? randomUUID();
  await withEventCreation({ id, subject: event.subject, size: event.payload.byteLength }, (trace) =>
    client.query("INSERT INTO outbox (id, subject, payload, traceparent, tracestate) VALUES ($1, $2, $3, $4, $5)", [
      id,
      event.subject,
      Buffer.from(event.payload),
      trace.traceparent,
      trace.tracestate,
    ]),
  );
  return id;
}
