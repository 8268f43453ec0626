import { setTimeout as delay } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { GrpcError } from "../errors/grpc-error.js";
import { eventually, type EventuallyOptions } from "./wait.js";

/** How a call ended, for fault tests that count outcomes. */
export interface CallOutcome {
  /** "OK", or the name of the status code it failed with (e.g. "Unavailable"). */
  readonly code: string;
  /** How long it took, in ms. */
  readonly ms: number;
  readonly error: GrpcError | undefined;
}

/** Waits for `call` and tells how it ended; throws only if it failed with something that is not a GrpcError. */
export async function outcomeOf(call: Promise<unknown>): Promise<CallOutcome> {
  const started = performance.now();
  try {
    await call;
    return { code: "OK", ms: performance.now() - started, error: undefined };
  } catch (error) {
    if (!(error instanceof GrpcError)) throw error;
    return { code: error.codeName, ms: performance.now() - started, error };
  }
}

/** How many outcomes had each code, e.g. { OK: 3, Unavailable: 2 }. */
export function tally(outcomes: readonly CallOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { code } of outcomes) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

/** The HTTP status of a GET (e.g. an admin port's /readyz); 0 when nothing answered. */
export async function httpStatus(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** A probe run over and over in the background, e.g. liveness while a dependency is broken. */
export interface Sampler<T> {
  /** Stops and resolves with every result, in order. */
  stop(): Promise<T[]>;
}

/**
 * Runs `probe` every `intervalMs` until stopped (see Sampler). Its timer does not keep the process alive, so a test
 * that fails before stop() still ends.
 */
export function sample<T>(probe: () => Promise<T>, intervalMs = 100): Sampler<T> {
  const results: T[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      results.push(await probe());
      await delay(intervalMs, undefined, { ref: false });
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return results;
    },
  };
}

/** Milliseconds from `since` (a performance.now() value) until `check` passes (see eventually). */
export async function msUntil(check: () => unknown, since: number, options: EventuallyOptions = {}): Promise<number> {
  await eventually(check, { intervalMs: 20, ...options });
  return performance.now() - since;
}

let collect: (() => void) | undefined;

/**
 * The process's heap in use after a full garbage collection, in MB: what a fault test compares before and after a
 * fault to see that nothing piled up (a few hundred KB either way is noise).
 */
export function heapMb(): number {
  if (!collect) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
  collect();
  return process.memoryUsage().heapUsed / 1e6;
}

/**
 * Measures the heap in use (see heapMb) now, and again when the test has ended (its cleanups after its own), and
 * writes both to the test's diagnostics: "heap in use A MB before the fault, B MB after recovery".
 */
export function reportHeapAcrossFault(t: { diagnostic(message: string): void; after(hook: () => void): void }): void {
  const before = heapMb();
  t.after(() =>
    t.diagnostic(`heap in use ${before.toFixed(1)} MB before the fault, ${heapMb().toFixed(1)} MB after recovery`),
  );
}
