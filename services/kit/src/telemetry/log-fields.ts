import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import { tracingEnabled } from "./tracing.js";

const NONE: Readonly<Record<string, string>> = Object.freeze({});

/**
 * `trace_id` and `span_id` of the span active where a line is logged — the call being handled, the event being
 * processed — so a trace is found from any of its log lines and the other way round. The logger's pino mixin; with
 * tracing off it returns at once.
 */
export function traceLogFields(): Readonly<Record<string, string>> {
  if (!tracingEnabled()) return NONE;
  const span = trace.getSpanContext(context.active());
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : NONE;
}

/**
 * pino's default merge with one shortcut: a line outside any span is written as it is, with no object made for it
 * (the default merge copies the line's fields into the mixin's object, which therefore has to be new every time).
 * The line's own fields win over the mixin's, as by default.
 */
export function mergeTraceLogFields(line: object, fields: object): object {
  return fields === NONE ? line : Object.assign(fields, line);
}
