import type { Pool } from "./pool.js";

/** What the watch reports to: the server's readiness (LatticeServer.dependencyDown / dependencyUp). */
export interface DependencySink {
  dependencyDown(name: string, reason: string): void;
  dependencyUp(name: string): void;
}

export interface WatchDatabaseOptions {
  /** How often to ask the database; 0 turns the watch off. */
  readonly intervalMs: number;
  /** A check that takes longer counts as failed. */
  readonly timeoutMs: number;
  /** Consecutive failed checks before readiness turns NOT_SERVING (one success turns it back). */
  readonly failures: number;
}

/**
 * Asks the database `SELECT 1` every intervalMs, one check at a time, and reports it down after `failures` failed
 * checks in a row and up again at the first one that succeeds. A service that cannot reach its database cannot
 * take traffic: readiness says so, the pod leaves its Services' endpoints, and liveness (untouched) keeps the
 * kubelet from restarting a process that will work again as soon as the database answers. Returns a stop function.
 */
export function watchDatabase(pool: Pool, sink: DependencySink, options: WatchDatabaseOptions): () => void {
  if (options.intervalMs <= 0) return () => undefined;
  let failed = 0;
  let down = false;
  let checking = false;
  let stopped = false;
  const check = async () => {
    if (checking || stopped) return;
    checking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pool.query("SELECT 1"),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
        }),
      ]);
      failed = 0;
      if (down) {
        down = false;
        sink.dependencyUp("database");
      }
    } catch (error) {
      failed += 1;
      if (!down && failed >= options.failures) {
        down = true;
        sink.dependencyDown("database", error instanceof Error ? error.message : String(error));
      }
    } finally {
      clearTimeout(timer);
      checking = false;
    }
  };
  const interval = setInterval(() => void check(), options.intervalMs);
  interval.unref();
  return () => {
    stopped = true;
    clearInterval(interval);
  };
}
