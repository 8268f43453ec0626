import { re2SubsetRegExp } from "./re2-subset.js";

/**
 * The few CEL expressions the contracts write on fields, recognised by their text and evaluated directly: the
 * compiled rules (compiled-rules.ts) use them instead of the CEL interpreter, which costs about a microsecond per
 * expression. An expression written any other way (other spacing included) is not recognised, and the method's
 * requests are left to protovalidate.
 *
 * What `this` is: the field's value — a string for a string field, the list of paths for a
 * google.protobuf.FieldMask field (the generated code's shape, `string[]`).
 */
export type IdiomTarget = "string" | "fieldMask";

/** A recognised expression: true when it evaluates to true (no violation) for `value`. */
export type IdiomCheck = (value: unknown) => boolean;

/**
 * CEL's strings extension `trim()` removes these (Unicode White_Space) from both ends, per UTF-16 code unit
 * (cel-es ext/strings.ts, which protovalidate-es evaluates with).
 */
const WHITE_SPACE = new Set([
  0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** `this.trim() != ''`: true when some code unit is not white space. */
function notBlank(value: unknown): boolean {
  if (typeof value !== "string") return false;
  for (let i = 0; i < value.length; i++) if (!WHITE_SPACE.has(value.charCodeAt(i))) return true;
  return false;
}

/** The check for `expression` on a value of `target`, or undefined when it is not one of the idioms. */
export function celIdiom(expression: string, target: IdiomTarget): IdiomCheck | undefined {
  if (target === "fieldMask") {
    if (expression === "this.paths.size() > 0") return (value) => Array.isArray(value) && value.length > 0;
    return undefined;
  }
  if (expression === "this.trim() != ''" || expression === 'this.trim() != ""') return notBlank;
  // this.matches('…') with a literal free of quotes and backslashes (CEL would unescape those).
  const match = /^this\.matches\('([^'\\]*)'\)$/.exec(expression) ?? /^this\.matches\("([^"\\]*)"\)$/.exec(expression);
  if (match) {
    const regexp = re2SubsetRegExp(match[1]!);
    if (regexp) return (value) => typeof value === "string" && regexp.test(value);
  }
  return undefined;
}
