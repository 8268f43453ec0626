import type { DescField, DescMessage, FileRegistry } from "@bufbuild/protobuf";
import type { Route } from "../routing/routes.js";
import { PATH_MESSAGE_TYPES } from "../routing/routes.js";
import { SchemaCollector, type JsonSchema } from "./schemas.js";

/** What goes in the document's info object. */
export interface DocumentInfo {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
}

/** Media type of a server stream's NDJSON lines when the client asks for it (Accept: application/x-ndjson). */
export const NDJSON_TYPE = "application/x-ndjson";

const STATUS = "google.rpc.Status";
// Nested query parameters are listed this deep; deeper ones work but are not listed.
const MAX_QUERY_DEPTH = 4;

/**
 * The OpenAPI 3.1 document of the REST routes, from the same descriptors and rules the gateway serves, so the two
 * cannot disagree: each route's path (path variables as parameters, a `{name=orders/*}` variable as the literal
 * segments it requires plus a parameter for its `*`), its query parameters (every field bound nowhere else, by JSON
 * name, nested ones dotted), its request body (`body: "*"` minus the path's fields, or the `body` field), its answer
 * (the message or `response_body`; for a server stream one NDJSON line and Server-Sent Events), and
 * google.rpc.Status for every error. `registry` must hold google.rpc.Status.
 */
export function openApiDocument(registry: FileRegistry, routes: readonly Route[], info: DocumentInfo): JsonSchema {
  const schemas = new SchemaCollector();
  const status = registry.getMessage(STATUS);
  if (!status) throw new Error(`the descriptor set lacks ${STATUS}`);
  const statusRef = schemas.message(status);
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort(
    (a, b) => a.binding.template.localeCompare(b.binding.template) || a.label.localeCompare(b.label),
  );
  for (const route of sorted) {
    const { path, parameters } = pathOf(route, schemas);
    const operation: Record<string, unknown> = {
      operationId: operationId(route),
      tags: [route.method.parent.name],
      summary: `${route.method.parent.typeName}.${route.method.name}`,
    };
    const query = route.binding.body === "*" ? [] : queryParameters(route, schemas);
    if (parameters.length + query.length > 0) operation["parameters"] = [...parameters, ...query];
    const body = requestBody(route, schemas);
    if (body) operation["requestBody"] = body;
    operation["responses"] = {
      "200": { description: "OK", content: responseContent(route, schemas, statusRef) },
      default: errorResponse(route, statusRef),
    };
    const item = (paths[path] ??= {});
    item[route.binding.httpMethod.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    paths,
    components: { schemas: Object.fromEntries([...schemas.components].sort(([a], [b]) => a.localeCompare(b))) },
  };
}

function operationId(route: Route): string {
  const base = `${route.method.parent.name}_${route.method.name}`;
  return route.binding.index === 0 ? base : `${base}_${route.binding.index + 1}`;
}

interface Parameter {
  readonly name: string;
  readonly in: "path" | "query";
  readonly required?: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
  readonly style?: string;
  readonly explode?: boolean;
}

/** The OpenAPI path of a route's template and its path parameters. */
function pathOf(route: Route, schemas: SchemaCollector): { path: string; parameters: Parameter[] } {
  const { template } = route;
  const parts: string[] = [];
  const parameters: Parameter[] = [];
  let i = 0;
  for (const variable of template.variables) {
    for (; i < variable.start; i++) parts.push(literalOf(template.segments[i]!));
    const fieldPath = variable.fieldPath.join(".");
    const fields = route.pathFields.get(fieldPath)!;
    const leaf = fields[fields.length - 1]!;
    const span = template.segments.slice(variable.start, variable.end);
    const wildcards = span.filter((s) => s.kind !== "literal").length;
    let n = 0;
    for (const segment of span) {
      if (segment.kind === "literal") {
        parts.push(segment.value);
        continue;
      }
      n++;
      // Dots are legal in a parameter name, but URI-template tools (and some generators) read them as operators.
      const base = fieldPath.replaceAll(".", "_");
      const name = wildcards === 1 ? base : `${base}_${n}`;
      parts.push(`{${name}}`);
      const pattern = variable.singleSegment ? undefined : variablePattern(span);
      parameters.push({
        name,
        in: "path",
        required: true,
        description: pattern
          ? `Sets ${fieldPath} to ${pattern}, this parameter standing for its ${segment.kind === "multi" ? "** (any segments)" : "*"}.`
          : `Sets ${fieldPath}.`,
        schema: variable.singleSegment
          ? { ...pathValueSchema(leaf, schemas), minLength: 1 }
          : { type: "string", minLength: 1 },
      });
    }
    i = variable.end;
  }
  for (; i < template.segments.length; i++) parts.push(literalOf(template.segments[i]!));
  return { path: "/" + parts.join("/") + (template.verb ? `:${template.verb}` : ""), parameters };
}

function literalOf(segment: Route["template"]["segments"][number]): string {
  // A bare * or ** outside a variable sets no field; it still has to be in the path.
  return segment.kind === "literal" ? segment.value : segment.kind === "wildcard" ? "{_}" : "{__}";
}

function variablePattern(span: Route["template"]["segments"]): string {
  return span.map((s) => (s.kind === "literal" ? s.value : s.kind === "wildcard" ? "*" : "**")).join("/");
}

function pathValueSchema(field: DescField, schemas: SchemaCollector): JsonSchema {
  const schema = schemas.field(field);
  // Path values are text: a string-typed schema for everything (numbers and booleans arrive as their digits).
  if (field.fieldKind === "scalar" && (schema["type"] === "integer" || schema["type"] === "number"))
    return { type: "string", pattern: "^-?[0-9]+$" };
  if (field.fieldKind === "scalar" && schema["type"] === "boolean") return { type: "string", enum: ["true", "false"] };
  return schema;
}

/** Query parameters: every field not bound to the path or the body, nested message fields dotted. */
function queryParameters(route: Route, schemas: SchemaCollector): Parameter[] {
  const bound = [...route.pathFields.keys()];
  if (route.bodyField) bound.push(route.bodyField.name);
  const parameters: Parameter[] = [];
  const walk = (message: DescMessage, protoPrefix: string, jsonPrefix: string, depth: number, seen: Set<string>) => {
    for (const field of message.fields) {
      const protoPath = protoPrefix + field.name;
      const jsonPath = jsonPrefix + field.jsonName;
      if (bound.some((b) => b === protoPath || protoPath.startsWith(b + "."))) continue;
      if (bound.some((b) => b.startsWith(protoPath + "."))) {
        // A message part of which is bound to the path: its other fields are still query parameters.
        if (field.fieldKind === "message") walk(field.message, protoPath + ".", jsonPath + ".", depth + 1, seen);
        continue;
      }
      const schema = querySchema(field, schemas);
      if (schema) {
        parameters.push({
          name: jsonPath,
          in: "query",
          schema,
          ...(field.fieldKind === "list" ? { style: "form", explode: true } : {}),
        });
      } else if (field.fieldKind === "message" && depth < MAX_QUERY_DEPTH && !seen.has(field.message.typeName)) {
        walk(field.message, protoPath + ".", jsonPath + ".", depth + 1, new Set([...seen, field.message.typeName]));
      }
    }
  };
  walk(route.method.input, "", "", 0, new Set([route.method.input.typeName]));
  return parameters;
}

/** A query parameter's schema; undefined for a field a query value cannot set as a whole (messages, maps). */
function querySchema(field: DescField, schemas: SchemaCollector): JsonSchema | undefined {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return schemas.field(field);
    case "message":
      return PATH_MESSAGE_TYPES.has(field.message.typeName) ? schemas.field(field) : undefined;
    case "list":
      if (field.listKind === "message" && !PATH_MESSAGE_TYPES.has(field.message.typeName)) return undefined;
      return schemas.field(field);
    case "map":
      return undefined;
  }
}

function requestBody(route: Route, schemas: SchemaCollector): Record<string, unknown> | undefined {
  const { body } = route.binding;
  if (body === "") return undefined;
  let schema: JsonSchema;
  if (route.bodyField) schema = schemas.field(route.bodyField);
  else {
    const topLevelBound = [...route.pathFields.keys()].filter((p) => !p.includes("."));
    // The whole message, but the fields the path sets (the path wins over the body for them).
    schema =
      topLevelBound.length > 0
        ? schemas.objectSchema(route.method.input, (f) => !topLevelBound.includes(f.name))
        : schemas.message(route.method.input);
  }
  return { required: true, content: { "application/json": { schema } } };
}

function responseContent(route: Route, schemas: SchemaCollector, statusRef: JsonSchema): Record<string, unknown> {
  const message = route.responseBodyField
    ? schemas.field(route.responseBodyField)
    : schemas.message(route.method.output);
  if (route.method.methodKind !== "server_streaming") return { "application/json": { schema: message } };
  return {
    [NDJSON_TYPE]: {
      schema: {
        description: 'One line of the stream: {"result": message}, or {"error": google.rpc.Status} when it fails.',
        type: "object",
        properties: { result: message, error: statusRef },
      },
    },
    "text/event-stream": {
      schema: {
        type: "string",
        description:
          "Server-Sent Events: each message's JSON as the data of a default event, then one `status` event " +
          "with google.rpc.Status (code 0 when the stream ended well).",
      },
    },
  };
}

/**
 * Errors: google.rpc.Status as JSON. A server stream whose call fails before its first message answers the same HTTP
 * status with its own framing: `{"error": Status}` as one NDJSON line (labelled application/x-ndjson when asked for,
 * application/json otherwise, as grpc-gateway does), or a `status` event.
 */
function errorResponse(route: Route, statusRef: JsonSchema): Record<string, unknown> {
  const description = "An error: google.rpc.Status, with the HTTP status of its code";
  if (route.method.methodKind !== "server_streaming")
    return { description, content: { "application/json": { schema: statusRef } } };
  // A request the gateway cannot bind is refused before the call starts, as a plain Status (grpc-gateway does the
  // same); a call that fails before its first message ends with the stream's error line.
  const line = { type: "object", properties: { error: statusRef }, required: ["error"] };
  const either = { anyOf: [statusRef, line] };
  return {
    description,
    content: {
      "application/json": { schema: either },
      [NDJSON_TYPE]: { schema: either },
      "text/event-stream": { schema: { type: "string" } },
    },
  };
}
