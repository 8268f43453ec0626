import { Gauge, type Registry } from "prom-client";

/** What the outbox gauges need of a pool: one statement (pg.Pool has it). */
export interface Queryable {
  query(text: string): Promise<{ rows: unknown[] }>;
}

/** A scrape gives up on the outbox statement after this long (ms), reporting NaN rather than waiting. */
const QUERY_TIMEOUT_MS = 2_000;

const registered = new WeakSet<Registry>();

/**
 * How far the outbox relay is behind, measured in the table itself at scrape time, so a relay that is stuck, dead or
 * without NATS shows as growing lag rather than as silence: lattice_outbox_lag_seconds (age of the oldest event not
 * yet published; 0 when none waits) and lattice_outbox_backlog_events (events not yet published). One statement per
 * scrape, on the partial index of unpublished rows; when it fails or takes longer than 2 s both read NaN.
 */
export function registerOutboxMetrics(registry: Registry, pool: Queryable): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  // Both gauges are collected in the same scrape: they share one statement.
  let shared: { at: number; result: Promise<{ lag: number; backlog: number }> } | undefined;
  const measure = () => {
    const now = Date.now();
    if (!shared || now - shared.at > 1_000) shared = { at: now, result: readOutbox(pool) };
    return shared.result;
  };
  const registers = [registry];
  new Gauge({
    name: "lattice_outbox_lag_seconds",
    help: "Age of the oldest event in the outbox not yet published (0 when none waits).",
    registers,
    async collect() {
      this.set((await measure()).lag);
    },
  });
  new Gauge({
    name: "lattice_outbox_backlog_events",
    help: "Events in the outbox not yet published.",
    registers,
    async collect() {
      this.set((await measure()).backlog);
    },
  });
}

async function readOutbox(pool: Queryable): Promise<{ lag: number; backlog: number }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = pool.query(
      `SELECT count(*)::int AS backlog,
              COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS lag
         FROM outbox WHERE published_at IS NULL`,
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("outbox query timed out")), QUERY_TIMEOUT_MS);
    });
    const { rows } = await Promise.race([query, timeout]);
    const row = rows[0] as { backlog: number; lag: number } | undefined;
    return row ? { lag: Math.max(0, row.lag), backlog: row.backlog } : { lag: 0, backlog: 0 };
  } catch {
    return { lag: Number.NaN, backlog: Number.NaN };
  } finally {
    clearTimeout(timer);
  }
}
