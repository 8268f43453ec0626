/**
 * google.api.http path templates (the grammar of google/api/http.proto):
 *
 *   Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   Verb     = ":" LITERAL ;
 *
 * A template compiles to a flat list of segment matchers plus the variables that capture spans of them, so matching
 * a request path is one pass over its segments with no backtracking (`**` may only come last).
 */

export type SegmentMatcher =
  { readonly kind: "literal"; readonly value: string } | { readonly kind: "wildcard" } | { readonly kind: "multi" };

/** A variable: the request field it sets (e.g. ["user", "name"]) and the segments it captures, [start, end). */
export interface TemplateVariable {
  readonly fieldPath: readonly string[];
  readonly start: number;
  /** Exclusive; for a span ending in `**`, every remaining segment. */
  readonly end: number;
  /** One `*` alone: its value is decoded fully (%2F included); a longer span keeps %2F encoded (http.proto). */
  readonly singleSegment: boolean;
}

export interface PathTemplate {
  readonly source: string;
  readonly segments: readonly SegmentMatcher[];
  readonly variables: readonly TemplateVariable[];
  /** "" when the template has no verb. */
  readonly verb: string;
}

/** The template cannot be parsed; the message says where. */
export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// What a literal may hold: the path characters of RFC 3986 except "/" and the template's own syntax.
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;=@%:]+$/;

/** Parses and checks a template; TemplateError names the problem. */
export function parseTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new TemplateError(`path template ${JSON.stringify(source)}: ${why}`);
  };
  if (!source.startsWith("/")) fail('must start with "/"');
  // The verb is what follows the last ":" outside braces and after the last "/".
  let depth = 0;
  let verbAt = -1;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "/" && depth === 0) verbAt = -1;
    else if (c === ":" && depth === 0) verbAt = i;
    if (depth < 0 || depth > 1) fail("unbalanced or nested braces");
  }
  if (depth !== 0) fail("unbalanced braces");
  const path = verbAt >= 0 ? source.slice(1, verbAt) : source.slice(1);
  const verb = verbAt >= 0 ? source.slice(verbAt + 1) : "";
  if (verbAt >= 0 && !LITERAL.test(verb)) fail(`bad verb ${JSON.stringify(verb)}`);

  const segments: SegmentMatcher[] = [];
  const variables: TemplateVariable[] = [];
  const bound = new Set<string>();
  for (const part of splitOutsideBraces(path)) {
    if (part.startsWith("{")) {
      if (!part.endsWith("}")) fail(`bad variable ${JSON.stringify(part)}`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf("=");
      const fieldPath = (eq >= 0 ? inner.slice(0, eq) : inner).split(".");
      if (!fieldPath.every((name) => IDENT.test(name))) fail(`bad field path in ${JSON.stringify(part)}`);
      const key = fieldPath.join(".");
      if (bound.has(key)) fail(`field ${key} is bound twice`);
      bound.add(key);
      const start = segments.length;
      const sub = eq >= 0 ? inner.slice(eq + 1).split("/") : ["*"];
      for (const s of sub) segments.push(plainSegment(s, fail));
      variables.push({
        fieldPath,
        start,
        end: segments.length,
        singleSegment: sub.length === 1 && sub[0] === "*",
      });
    } else {
      segments.push(plainSegment(part, fail));
    }
  }
  const multi = segments.findIndex((s) => s.kind === "multi");
  if (multi >= 0 && multi !== segments.length - 1) fail('"**" must be the last segment');
  return { source, segments, variables, verb };
}

function plainSegment(text: string, fail: (why: string) => never): SegmentMatcher {
  if (text === "*") return { kind: "wildcard" };
  if (text === "**") return { kind: "multi" };
  if (!LITERAL.test(text)) fail(`bad segment ${JSON.stringify(text)}`);
  return { kind: "literal", value: text };
}

function splitOutsideBraces(path: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const c of path) {
    if (c === "{") depth++;
    if (c === "}") depth--;
    if (c === "/" && depth === 0) {
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/**
 * The shape two templates must not share for one HTTP method: literals, `*` and `**` in order, and the verb;
 * variables' names do not matter, since the same request path would match both.
 */
export function templateShape(template: PathTemplate): string {
  const parts = template.segments.map((s) =>
    s.kind === "literal" ? decodeSegment(s.value) : s.kind === "wildcard" ? "*" : "**",
  );
  return "/" + parts.join("/") + (template.verb ? ":" + template.verb : "");
}

/**
 * Orders templates from the most to the least specific, so the first that matches a request is the one meant:
 * at the first segment where two differ a literal beats `*`, which beats `**`; a template that ends earlier beats
 * one that continues; a template with a verb beats one without (so `/v1/orders/x:watch` reaches the `:watch` route,
 * not a `/v1/{name=orders/*}` one that would take "x:watch" as the name).
 */
export function compareSpecificity(a: PathTemplate, b: PathTemplate): number {
  const rank = (s: SegmentMatcher) => (s.kind === "literal" ? 0 : s.kind === "wildcard" ? 1 : 2);
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const d = rank(a.segments[i]!) - rank(b.segments[i]!);
    if (d !== 0) return d;
  }
  if (a.segments.length !== b.segments.length) return a.segments.length - b.segments.length;
  return (b.verb ? 1 : 0) - (a.verb ? 1 : 0);
}

/** A request path that is not well-formed percent-encoding (HTTP 400, as grpc-gateway answers it). */
export class MalformedPathError extends Error {
  override readonly name = "MalformedPathError";
}

/** Percent-decodes one path segment; MalformedPathError on a bad escape or invalid UTF-8. */
export function decodeSegment(raw: string, keepSlash = false): string {
  if (!raw.includes("%")) return raw;
  const source = keepSlash ? raw.replace(/%2F/gi, "%252F") : raw;
  try {
    return decodeURIComponent(source);
  } catch {
    throw new MalformedPathError(`malformed escape in path segment ${JSON.stringify(raw)}`);
  }
}

/**
 * Matches a request path, already split on "/" (raw, still percent-encoded), against a template. Returns each
 * variable's value by dotted field path, or undefined when the path does not match.
 */
export function matchTemplate(template: PathTemplate, rawSegments: readonly string[]): Map<string, string> | undefined {
  let segments = rawSegments;
  if (template.verb) {
    const last = segments[segments.length - 1] ?? "";
    const suffix = ":" + template.verb;
    if (last.length <= suffix.length || !last.endsWith(suffix)) return undefined;
    segments = [...segments.slice(0, -1), last.slice(0, -suffix.length)];
  }
  const matchers = template.segments;
  const endsMulti = matchers[matchers.length - 1]?.kind === "multi";
  const fixed = endsMulti ? matchers.length - 1 : matchers.length;
  if (endsMulti ? segments.length < fixed : segments.length !== fixed) return undefined;
  for (let i = 0; i < fixed; i++) {
    const matcher = matchers[i]!;
    const segment = segments[i]!;
    if (segment === "") return undefined;
    if (matcher.kind === "literal" && decodeSegment(segment) !== decodeSegment(matcher.value)) return undefined;
  }
  if (endsMulti && segments.slice(fixed).some((s) => s === "")) return undefined;
  const values = new Map<string, string>();
  for (const variable of template.variables) {
    const end = variable.end === matchers.length && endsMulti ? segments.length : variable.end;
    const span = segments.slice(variable.start, end);
    const value = variable.singleSegment ? decodeSegment(span[0]!) : span.map((s) => decodeSegment(s, true)).join("/");
    values.set(variable.fieldPath.join("."), value);
  }
  return values;
}
