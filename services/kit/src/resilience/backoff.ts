/** Exponential backoff: how long to wait before attempt `attempt + 1` after `attempt` failures. */
export interface BackoffOptions {
  /** The first wait, in ms. */
  readonly initialMs: number;
  /** No wait is longer, in ms. */
  readonly maxMs: number;
  /** Spread, as a share of each wait (0.2: ±20%), so replicas that lost a dependency together do not return in step. */
  readonly jitter?: number;
}

/** The wait (ms) after `failures` consecutive failures (1 for the first): initial × 2^(failures−1), capped, jittered. */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(options.initialMs * 2 ** exponent, options.maxMs);
  const jitter = options.jitter ?? 0.2;
  return Math.max(0, Math.round(base * (1 - jitter + Math.random() * 2 * jitter)));
}

/**
 * Whether `signal` has aborted, read through a call: loops check it again after every await, and TypeScript's
 * narrowing of `signal.aborted` does not know that an await can change it.
 */
export function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * Waits `ms`, or less if `signal` aborts (then it resolves too: callers check the signal). Leaves nothing behind:
 * the timer is cleared on abort and the abort listener removed when the timer fires, so a loop that sleeps
 * millions of times holds no more memory than one that sleeps once.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
