import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import pg from "pg";
import { kitTracer } from "./tracing.js";

/** Where a pool's connections go, for the db.* and server.* attributes of its statements' spans. */
export interface DatabaseTarget {
  /** postgres://user:password@host:port/database (the password never reaches a span). */
  readonly url: string;
  /** The service's schema: its sessions' search_path. */
  readonly schema: string;
}

/** Longest statement text recorded on a span (db.query.text); longer ones are cut. */
const MAX_QUERY_TEXT = 2048;

type QueryFunction = (...args: unknown[]) => unknown;

/**
 * A pg.Client class whose statements get a CLIENT span each, child of the active span — and none at all outside a
 * traced call (the outbox relay's polling, migrations at start), so background work makes no stray traces. Handed
 * to pg.Pool as its `Client` option: the kit's own pools use it and nothing in pg is patched. Attributes follow the
 * database conventions: db.system.name, db.namespace ("database|schema", as for PostgreSQL), db.operation.name,
 * db.collection.name when the statement names one table, db.query.text (the kit's statements are parameterized, so
 * the text holds no values), server.address and server.port; a failed statement records its SQLSTATE
 * (db.response.status_code, error.type).
 */
export function tracedClientClass(target: DatabaseTarget): typeof pg.Client {
  const base = serverAttributes(target);
  // Read once, as a plain function of the prototype: it is always called with a client as `this` below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = pg.Client.prototype.query as unknown as QueryFunction;
  class TracedClient extends pg.Client {}
  const traced: QueryFunction = function (this: pg.Client, ...args: unknown[]) {
    const text = statementText(args[0]);
    const parent = context.active();
    if (text === undefined || !trace.getSpan(parent)?.isRecording()) return original.apply(this, args);
    const span = startStatementSpan(text, base, parent);
    const active = trace.setSpan(parent, span);
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === "function") {
      args[last] = (error: unknown, result: unknown) => {
        endStatementSpan(span, error, result);
        (callback as (error: unknown, result: unknown) => void)(error, result);
      };
      return context.with(active, () => original.apply(this, args));
    }
    const result = context.with(active, () => original.apply(this, args));
    if (result instanceof Promise)
      return result.then(
        (value: unknown) => {
          endStatementSpan(span, undefined, value);
          return value;
        },
        (error: unknown) => {
          endStatementSpan(span, error, undefined);
          throw error;
        },
      );
    // A Submittable (cursor, stream): its end is not seen here; the span marks when it was sent.
    endStatementSpan(span, undefined, undefined);
    return result;
  };
  (TracedClient.prototype as unknown as { query: QueryFunction }).query = traced;
  return TracedClient;
}

function serverAttributes(target: DatabaseTarget): Attributes {
  const attributes: Attributes = { "db.system.name": "postgresql" };
  try {
    const url = new URL(target.url);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    attributes["db.namespace"] = database === "" ? target.schema : `${database}|${target.schema}`;
    if (url.hostname !== "") attributes["server.address"] = url.hostname.replace(/^\[|\]$/g, "");
    attributes["server.port"] = url.port === "" ? 5432 : Number(url.port);
  } catch {
    attributes["db.namespace"] = target.schema;
  }
  return attributes;
}

function statementText(first: unknown): string | undefined {
  if (typeof first === "string") return first;
  if (typeof first === "object" && first !== null && typeof (first as { text?: unknown }).text === "string")
    return (first as { text: string }).text;
  return undefined;
}

/** The statement's operation and, when it names one table plainly, that table: "INSERT outbox". */
export function describeStatement(text: string): { operation: string | undefined; collection: string | undefined } {
  const trimmed = text.replace(/^\s*(--[^\n]*\n\s*)*/, "");
  const operation = /^([A-Za-z]+)/.exec(trimmed)?.[1]?.toUpperCase();
  const table =
    /^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][\w.]*)/i.exec(trimmed)?.[1] ??
    (operation === "SELECT" ? /\bFROM\s+([A-Za-z_][\w.]*)/i.exec(trimmed)?.[1] : undefined);
  return { operation, collection: table?.toLowerCase() };
}

function startStatementSpan(text: string, base: Attributes, parent: ReturnType<typeof context.active>): Span {
  const { operation, collection } = describeStatement(text);
  const attributes: Attributes = {
    ...base,
    "db.query.text": text.length > MAX_QUERY_TEXT ? text.slice(0, MAX_QUERY_TEXT) : text,
  };
  if (operation) attributes["db.operation.name"] = operation;
  if (collection) attributes["db.collection.name"] = collection;
  // The conventions' name: "{operation} {target}", the target being the table or else the namespace.
  const target = collection ?? (base["db.namespace"] as string | undefined);
  const name = operation ? (target ? `${operation} ${target}` : operation) : "postgresql";
  return kitTracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
}

function endStatementSpan(span: Span, error: unknown, result: unknown): void {
  if (error !== undefined && error !== null) {
    const code = (error as { code?: unknown }).code;
    const sqlState = typeof code === "string" ? code : undefined;
    if (sqlState) span.setAttribute("db.response.status_code", sqlState);
    span.setAttribute("error.type", sqlState ?? (error instanceof Error ? error.name : "error"));
    span.setStatus({ code: SpanStatusCode.ERROR, ...(error instanceof Error ? { message: error.message } : {}) });
  } else if (typeof result === "object" && result !== null) {
    // Rows a query returned; pg's rowCount of an INSERT or UPDATE counts rows changed, which is not that.
    const { rows, command } = result as { rows?: unknown; command?: unknown };
    if (command === "SELECT" && Array.isArray(rows)) span.setAttribute("db.response.returned_rows", rows.length);
  }
  span.end();
}
