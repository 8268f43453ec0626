import type { DescField, DescMessage, DescMethod, DescService, FileRegistry } from "@bufbuild/protobuf";
import { httpBindings, HttpRuleError, type HttpBinding } from "./http-rule.js";
import { parseTemplate, TemplateError, type PathTemplate } from "./path-template.js";

/** One REST route: an HTTP binding of a gRPC method, checked against the method's messages. */
export interface Route {
  readonly method: DescMethod;
  readonly binding: HttpBinding;
  readonly template: PathTemplate;
  /** The fields each path variable sets, outermost first, by dotted proto name (e.g. "user.name"). */
  readonly pathFields: ReadonlyMap<string, readonly DescField[]>;
  /** The request field the body fills (`body: "<field>"`); undefined for "*" or no body. */
  readonly bodyField: DescField | undefined;
  /** The response field sent as the body (`response_body`); undefined for the whole message. */
  readonly responseBodyField: DescField | undefined;
  /** e.g. "POST /v1/{name=orders/*}:cancel", for messages. */
  readonly label: string;
}

/** A route the contracts declare that cannot be served as written; the message names the method and binding. */
export class RouteError extends Error {
  override readonly name = "RouteError";
}

/** What routesOf skipped, and why (logged at start). */
export interface SkippedMethod {
  readonly method: string;
  readonly reason: string;
}

/**
 * The routes of `services`' methods, from their google.api.http rules. Throws RouteError (or the HttpRuleError /
 * TemplateError it wraps) for a rule that cannot work: a path variable or body naming a field the request lacks, a
 * repeated or message field bound to a path, a body field also bound to the path. Client- and bidi-streaming
 * methods with a rule are skipped and reported, not served.
 */
export function routesOf(
  registry: FileRegistry,
  services: readonly DescService[],
): { routes: Route[]; skipped: SkippedMethod[] } {
  const routes: Route[] = [];
  const skipped: SkippedMethod[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      let bindings: HttpBinding[];
      try {
        bindings = httpBindings(registry, method);
      } catch (error) {
        if (error instanceof HttpRuleError) throw new RouteError(error.message);
        throw error;
      }
      if (bindings.length === 0) continue;
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        skipped.push({
          method: `${method.parent.typeName}.${method.name}`,
          reason: `${method.methodKind} methods are not served over REST`,
        });
        continue;
      }
      for (const binding of bindings) routes.push(routeOf(method, binding));
    }
  }
  return { routes, skipped };
}

function routeOf(method: DescMethod, binding: HttpBinding): Route {
  const label = `${binding.httpMethod} ${binding.template}`;
  const where = `${method.parent.typeName}.${method.name} (${label})`;
  let template: PathTemplate;
  try {
    template = parseTemplate(binding.template);
  } catch (error) {
    if (error instanceof TemplateError) throw new RouteError(`${where}: ${error.message}`);
    throw error;
  }
  const pathFields = new Map<string, readonly DescField[]>();
  for (const variable of template.variables) {
    const fields = resolveFieldPath(method.input, variable.fieldPath, where);
    const leaf = fields[fields.length - 1]!;
    if (leaf.fieldKind === "list" || leaf.fieldKind === "map")
      throw new RouteError(`${where}: path variable ${variable.fieldPath.join(".")} is a repeated field`);
    if (leaf.fieldKind === "message" && !PATH_MESSAGE_TYPES.has(leaf.message.typeName))
      throw new RouteError(`${where}: path variable ${variable.fieldPath.join(".")} is a message field`);
    pathFields.set(variable.fieldPath.join("."), fields);
  }
  let bodyField: DescField | undefined;
  if (binding.body !== "" && binding.body !== "*") {
    bodyField = method.input.fields.find((f) => f.name === binding.body);
    if (!bodyField) throw new RouteError(`${where}: body "${binding.body}" is not a field of ${method.input.typeName}`);
    if ([...pathFields.keys()].some((p) => p === bodyField!.name))
      throw new RouteError(`${where}: field ${bodyField.name} is bound to both the path and the body`);
  }
  let responseBodyField: DescField | undefined;
  if (binding.responseBody !== "") {
    responseBodyField = method.output.fields.find((f) => f.name === binding.responseBody);
    if (!responseBodyField)
      throw new RouteError(
        `${where}: response_body "${binding.responseBody}" is not a field of ${method.output.typeName}`,
      );
  }
  return { method, binding, template, pathFields, bodyField, responseBodyField, label };
}

/** Message types a path segment can set: those whose JSON form is one string or number. */
export const PATH_MESSAGE_TYPES = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.BoolValue",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);

/**
 * The fields a dotted path goes through, by proto name, each but the last a singular message field. Throws
 * RouteError naming the first step that does not exist.
 */
export function resolveFieldPath(message: DescMessage, path: readonly string[], where: string): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of path.entries()) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (!current || !field)
      throw new RouteError(`${where}: ${path.slice(0, i + 1).join(".")} is not a field of ${message.typeName}`);
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}
