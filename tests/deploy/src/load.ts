import { performance } from "node:perf_hooks";
import { Status, statusOf } from "@lattice/kit";

/** What a load run saw: every call, the failures by status code name, and the calls' latencies. */
export interface LoadReport {
  readonly calls: number;
  readonly failed: number;
  /** Failures by gRPC status code name (e.g. UNAVAILABLE), with the first message seen for each. */
  readonly failures: ReadonlyMap<string, { count: number; message: string }>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** A load that runs until stopped. */
export interface Load {
  /** Calls made so far. */
  readonly calls: number;
  /** Stops the callers, waits for the calls in flight and reports. */
  stop(): Promise<LoadReport>;
}

/**
 * Starts `callers` concurrent loops, each making `call` again as soon as the last one ends (no pause: steady
 * load), until stop() or, as a bound on a test that forgets to stop it, maxMs. `call` gets the caller's number
 * and a sequence number unique across callers.
 */
export function startLoad(options: {
  callers: number;
  call: (caller: number, sequence: number) => Promise<unknown>;
  maxMs?: number;
}): Load {
  let stopped = false;
  let sequence = 0;
  const latencies: number[] = [];
  const failures = new Map<string, { count: number; message: string }>();
  const bound = setTimeout(() => (stopped = true), options.maxMs ?? 60_000);
  const loops = Array.from({ length: options.callers }, async (_, caller) => {
    while (!stopped) {
      const started = performance.now();
      try {
        await options.call(caller, sequence++);
      } catch (error) {
        const code = codeOf(error);
        const seen = failures.get(code);
        if (seen) seen.count++;
        else failures.set(code, { count: 1, message: error instanceof Error ? error.message : String(error) });
      }
      latencies.push(performance.now() - started);
    }
  });
  return {
    get calls() {
      return latencies.length;
    },
    async stop() {
      stopped = true;
      clearTimeout(bound);
      await Promise.all(loops);
      const failed = [...failures.values()].reduce((sum, { count }) => sum + count, 0);
      return { calls: latencies.length, failed, failures, ...percentiles(latencies) };
    },
  };
}

/** The status code name of a failed call: a kit GrpcError, a grpc-js ServiceError, or anything else thrown. */
function codeOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "number")
    return Status[error.code] ?? `CODE_${error.code}`;
  return Status[statusOf(error)];
}

/** p50, p99 and the maximum of `samples` (ms); zeros when there are none. */
export function percentiles(samples: readonly number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  if (samples.length === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1]! };
}

/** One line for a test's diagnostics: "name: N calls, F failed (CODE: n, …), p50 x ms, p99 y ms, max z ms". */
export function describeLoad(name: string, report: LoadReport): string {
  const codes = [...report.failures].map(([code, { count, message }]) => `${code}: ${count}, e.g. "${message}"`);
  const failed = codes.length > 0 ? ` (${codes.join("; ")})` : "";
  const ms = (value: number) => value.toFixed(value < 10 ? 2 : 0);
  return (
    `${name}: ${report.calls} calls, ${report.failed} failed${failed}, ` +
    `p50 ${ms(report.p50Ms)} ms, p99 ${ms(report.p99Ms)} ms, max ${ms(report.maxMs)} ms`
  );
}
