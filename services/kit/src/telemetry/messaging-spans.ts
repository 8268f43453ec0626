import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from "@opentelemetry/api";
import { recordGetter, recordSetter } from "./carriers.js";
import { kitTracer, tracingEnabled } from "./tracing.js";

/**
 * The trace context an event was created in, as stored in its outbox row and sent in its message headers: W3C
 * `traceparent` and `tracestate`, or null when nothing was traced.
 */
export interface EventTraceContext {
  readonly traceparent: string | null;
  readonly tracestate: string | null;
}

const NONE: EventTraceContext = { traceparent: null, tracestate: null };

/** The message headers NATS gives a consumer (nats' MsgHdrs). */
export interface MessageHeaders {
  get(key: string): string;
  keys(): string[];
}

const messageHeadersGetter: TextMapGetter<MessageHeaders> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => carrier.get(key) || undefined,
};

/** messaging.* shared by every span of one event. */
function eventAttributes(
  operation: "create" | "send" | "process",
  subject: string,
  id: string | undefined,
): Attributes {
  return {
    "messaging.system": "nats",
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    "messaging.destination.name": subject,
    ...(id ? { "messaging.message.id": id } : {}),
  };
}

/**
 * Runs `write` (the INSERT into the outbox) in a PRODUCER span `create <subject>`, child of the active span, and
 * hands it that span's context to store with the event: the event's creation context, which its message carries to
 * every consumer. Outside a traced call, or with tracing off, `write` gets nulls and no span is made.
 */
export async function withEventCreation<T>(
  event: { readonly id: string; readonly subject: string; readonly size: number },
  write: (trace: EventTraceContext) => Promise<T>,
): Promise<T> {
  const parent = context.active();
  if (!tracingEnabled() || !trace.getSpan(parent)) return write(NONE);
  const span = kitTracer().startSpan(
    `create ${event.subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: { ...eventAttributes("create", event.subject, event.id), "messaging.message.body.size": event.size },
    },
    parent,
  );
  const active = trace.setSpan(parent, span);
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier, recordSetter);
  return settle(span, () =>
    context.with(active, () =>
      write({ traceparent: carrier["traceparent"] ?? null, tracestate: carrier["tracestate"] ?? null }),
    ),
  );
}

/** The headers a relay publishes an event with: its stored creation context, unchanged. */
export function eventTraceHeaders(event: Partial<EventTraceContext>): Record<string, string> | undefined {
  if (!event.traceparent) return undefined;
  return { traceparent: event.traceparent, ...(event.tracestate ? { tracestate: event.tracestate } : {}) };
}

/**
 * Runs `publish` in a PRODUCER span `send <subject>`, child of the event's creation context and linked to it (the
 * relay publishes long after the call that wrote the event ended, in a process of its own). Events written outside
 * a trace, and every event while tracing is off, are published without a span.
 */
export async function withEventSend<T>(
  event: { readonly id: string; readonly subject: string } & Partial<EventTraceContext>,
  publish: () => Promise<T>,
): Promise<T> {
  const headers = eventTraceHeaders(event);
  if (!tracingEnabled() || !headers) return publish();
  const creation = propagation.extract(ROOT_CONTEXT, headers, recordGetter);
  const span = kitTracer().startSpan(
    `send ${event.subject}`,
    { kind: SpanKind.PRODUCER, attributes: eventAttributes("send", event.subject, event.id), links: linkTo(creation) },
    creation,
  );
  return settle(span, () => context.with(trace.setSpan(creation, span), publish));
}

/**
 * Runs `handle` in a CONSUMER span `process <subject>`, continuing the trace of the event's creation context from
 * its message headers (child of it, and linked to it, as the messaging conventions ask of a message processed alone).
 * The consumer group is the durable consumer's name; a redelivered message says how many times it came before.
 */
export async function withEventProcessing<T>(
  message: {
    readonly subject: string;
    readonly headers: MessageHeaders | undefined;
    readonly size: number;
    readonly deliveryCount: number;
  },
  consumerGroup: string,
  handle: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return handle();
  const creation = message.headers
    ? propagation.extract(ROOT_CONTEXT, message.headers, messageHeadersGetter)
    : ROOT_CONTEXT;
  const id = message.headers?.get("Nats-Msg-Id") || undefined;
  const span = kitTracer().startSpan(
    `process ${message.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...eventAttributes("process", message.subject, id),
        "messaging.consumer.group.name": consumerGroup,
        "messaging.message.body.size": message.size,
        ...(message.deliveryCount > 1 ? { "messaging.nats.delivery_count": message.deliveryCount } : {}),
      },
      links: linkTo(creation),
    },
    creation,
  );
  return settle(span, () => context.with(trace.setSpan(creation, span), handle));
}

function linkTo(creation: Context): Link[] {
  const spanContext = trace.getSpanContext(creation);
  return spanContext ? [{ context: spanContext }] : [];
}

/** Runs `work`, ending `span` with its outcome. */
async function settle<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.setAttribute("error.type", error instanceof Error ? error.name : "error");
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}
