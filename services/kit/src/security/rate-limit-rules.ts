import type { MethodInfo } from "../rpc/method.js";

/** One RATE_LIMITS entry: a token bucket of `burst` tokens refilled at `perSecond` tokens a second. */
export interface RateLimitRule {
  /** "*", "<package.Service>/*" or "<package.Service>/<Method>". */
  readonly selector: string;
  /** Tokens added per second (calls per second sustained); may be fractional, e.g. 0.5. */
  readonly perSecond: number;
  /** Bucket size: calls a caller may make at once after being idle. At least 1. */
  readonly burst: number;
}

const SELECTOR = /^(\*|[a-z][\w]*(\.[a-z0-9_]+)*\.[A-Z]\w*\/(\*|[A-Z]\w*))$/;
const NUMBER = /^\d+(\.\d+)?$/;

/**
 * Parses RATE_LIMITS: comma-separated `<selector>=<perSecond>[:<burst>]` (burst defaults to perSecond rounded up).
 * Throws an Error naming the bad entry.
 *
 *   parseRateLimits("*=100:200, lattice.payment.v1.PaymentService/Charge=5:10")
 */
export function parseRateLimits(text: string): RateLimitRule[] {
  const rules: RateLimitRule[] = [];
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const [selector = "", limit = ""] = entry.split("=", 2).map((part) => part.trim());
    const [rate = "", burstText] = limit.split(":", 2).map((part) => part.trim());
    if (!SELECTOR.test(selector))
      throw new Error(`"${entry}": the method must be *, <package.Service>/* or <package.Service>/<Method>`);
    if (!NUMBER.test(rate) || Number(rate) <= 0)
      throw new Error(`"${entry}": expected <method>=<tokens per second>[:<burst>] with a positive rate`);
    const perSecond = Number(rate);
    if (burstText !== undefined && !/^\d+$/.test(burstText)) throw new Error(`"${entry}": burst must be an integer`);
    const burst = burstText === undefined ? Math.ceil(perSecond) : Number(burstText);
    if (burst < 1) throw new Error(`"${entry}": burst must be at least 1`);
    if (rules.some((rule) => rule.selector === selector)) throw new Error(`"${selector}" has two rules`);
    rules.push({ selector, perSecond, burst });
  }
  return rules;
}

/** The rule that applies to `method`: its own, else its service's, else "*"; undefined when none does. */
export function ruleFor(rules: readonly RateLimitRule[], method: MethodInfo): RateLimitRule | undefined {
  const find = (selector: string) => rules.find((rule) => rule.selector === selector);
  return find(`${method.service}/${method.name}`) ?? find(`${method.service}/*`) ?? find("*");
}
