/**
 * Regular expressions of the contracts (CEL `matches()`, `string.pattern`) as JavaScript RegExps, for the patterns
 * whose every construct means the same in RE2 — the engine protovalidate evaluates them with
 * (https://github.com/google/re2/wiki/Syntax) — and in JavaScript: ASCII literals, character classes of ASCII
 * literals and ranges, groups, alternation, `^` and `$` (both engines without the multi-line flag: start and end
 * of the text only), and the quantifiers `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` (greedy; at most 1000, RE2's
 * limit). Both engines test for a match anywhere in the text, as `matches()` does. A pattern with anything else
 * (`.`, escapes, negated classes, lazy quantifiers, flags…) gets undefined: protovalidate stays its judge.
 *
 * V8's RegExp matches a short anchored pattern in tens of nanoseconds; protovalidate's RE2 (a JavaScript port)
 * takes microseconds.
 */
export function re2SubsetRegExp(pattern: string): RegExp | undefined {
  const parser = new Parser(pattern);
  if (!parser.alternation() || parser.at < pattern.length) return undefined;
  try {
    return new RegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

/** ASCII characters that are literals outside classes in both syntaxes. */
const LITERAL = /^[A-Za-z0-9_/:@,=%~#&!<>;"' -]$/;
/** … and inside classes (where `^` first, `]`, `[` and `\` are not). */
const CLASS_LITERAL = /^[A-Za-z0-9_./:@,=%~#&!<>;"' +*?(){}|$^-]$/;
const MAX_REPEAT = 1000;

/** A recognizer of the subset; each method consumes what it recognizes and says whether it did. */
class Parser {
  at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  alternation(): boolean {
    if (!this.sequence()) return false;
    while (this.peek() === "|") {
      this.at++;
      if (!this.sequence()) return false;
    }
    return true;
  }

  private sequence(): boolean {
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") return true;
      if (c === "^" || c === "$") {
        this.at++;
        continue;
      }
      if (!this.atom() || !this.quantifier()) return false;
    }
  }

  private atom(): boolean {
    const c = this.peek();
    if (c === "(") {
      this.at++;
      if (this.text.startsWith("?:", this.at)) this.at += 2;
      if (++this.depth > 100 || !this.alternation() || this.peek() !== ")") return false;
      this.depth--;
      this.at++;
      // A group takes `*`, `+` or `?` only: counted repetitions of groups multiply, and RE2 refuses programs past its
      // size limit that JavaScript would run.
      return this.peek() !== "{";
    }
    if (c === "[") return this.characterClass();
    if (c !== undefined && LITERAL.test(c)) {
      this.at++;
      return true;
    }
    return false;
  }

  private characterClass(): boolean {
    this.at++; // [
    if (this.peek() === "^" || this.peek() === "]") return false; // negation, or RE2's leading-] literal
    let members = 0;
    for (;;) {
      const c = this.peek();
      if (c === undefined) return false;
      if (c === "]") {
        this.at++;
        return members > 0;
      }
      if (!CLASS_LITERAL.test(c)) return false;
      // `-` is a literal only first or last; elsewhere it must be a range's (RE2 refuses `[a-z-0]`).
      if (c === "-" && members > 0 && this.text[this.at + 1] !== "]") return false;
      this.at++;
      members++;
      // A range a-z: both ends literals, in order.
      if (this.peek() === "-" && this.text[this.at + 1] !== "]") {
        const to = this.text[this.at + 1];
        if (c === "-" || to === undefined || to === "-" || !CLASS_LITERAL.test(to) || to < c) return false;
        this.at += 2;
      }
    }
  }

  private quantifier(): boolean {
    const c = this.peek();
    if (c === "*" || c === "+" || c === "?") {
      this.at++;
    } else if (c === "{") {
      const match = /^\{(\d{1,4})(,(\d{1,4})?)?\}/.exec(this.text.slice(this.at));
      if (!match) return false;
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === undefined ? min : Number(match[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || max < min) return false;
      this.at += match[0].length;
    } else {
      return true;
    }
    // A second quantifier (lazy `?`, or an error in RE2) is out.
    const next = this.peek();
    return next !== "*" && next !== "+" && next !== "?" && next !== "{";
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }
}
