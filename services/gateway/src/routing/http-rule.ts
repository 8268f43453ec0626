import { getOption, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";

/** One HTTP binding of a method: what a `google.api.HttpRule` (or one of its additional_bindings) says. */
export interface HttpBinding {
  /** Upper-case HTTP method: GET, PUT, POST, DELETE, PATCH, or a custom rule's kind as written. */
  readonly httpMethod: string;
  /** The path template, e.g. "/v1/{name=orders/*}:cancel". */
  readonly template: string;
  /** "" (no body), "*" (the whole request message) or a top-level field name of the request. */
  readonly body: string;
  /** "" (the whole response message) or a top-level field name of the response. */
  readonly responseBody: string;
  /** 0 for the rule itself, 1… for its additional_bindings, in order: named in messages. */
  readonly index: number;
}

// The HttpRule message as @bufbuild/protobuf v2 represents it (oneof `pattern` as a case/value pair). The
// extension is resolved from the registry, so its value arrives without a generated type.
interface HttpRuleShape {
  readonly pattern:
    | { readonly case: "get" | "put" | "post" | "delete" | "patch"; readonly value: string }
    | { readonly case: "custom"; readonly value: { readonly kind: string; readonly path: string } }
    | { readonly case: undefined; readonly value?: undefined };
  readonly body: string;
  readonly responseBody: string;
  readonly additionalBindings: readonly HttpRuleShape[];
}

/** Thrown when a rule cannot be served (no pattern, nested additional bindings); names the method. */
export class HttpRuleError extends Error {
  override readonly name = "HttpRuleError";
}

/**
 * The HTTP bindings `google.api.http` declares for `method`: the rule and its additional_bindings; none when the
 * method has no rule. `registry` must hold google/api/annotations.proto (the contracts' descriptor set does).
 */
export function httpBindings(registry: FileRegistry, method: DescMethod): HttpBinding[] {
  const extension = registry.getExtension("google.api.http");
  if (!extension) throw new HttpRuleError("the descriptor set lacks google/api/annotations.proto (google.api.http)");
  if (!method.proto.options) return [];
  const value: unknown = getOption(method, extension);
  const rule = value as HttpRuleShape | undefined;
  if (!rule?.pattern.case) return [];
  const bindings = [bindingOf(method, rule, 0)];
  rule.additionalBindings.forEach((extra, i) => {
    if (extra.additionalBindings.length > 0)
      throw new HttpRuleError(`${method.toString()}: additional_bindings must not nest (binding ${i + 1})`);
    bindings.push(bindingOf(method, extra, i + 1));
  });
  return bindings;
}

function bindingOf(method: DescMethod, rule: HttpRuleShape, index: number): HttpBinding {
  const { pattern } = rule;
  let httpMethod: string;
  let template: string;
  switch (pattern.case) {
    case "custom":
      httpMethod = pattern.value.kind;
      template = pattern.value.path;
      break;
    case undefined:
      throw new HttpRuleError(`${method.toString()}: binding ${index} has no pattern (get, post, … or custom)`);
    default:
      httpMethod = pattern.case.toUpperCase();
      template = pattern.value;
  }
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(httpMethod))
    throw new HttpRuleError(`${method.toString()}: "${httpMethod}" is not an HTTP method name`);
  return { httpMethod, template, body: rule.body, responseBody: rule.responseBody, index };
}
