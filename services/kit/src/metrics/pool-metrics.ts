import { Gauge, type Registry } from "prom-client";

/** Connections of a pool by state, read when scraped. */
export interface PoolCounts {
  /** Connections open, in use or idle. */
  readonly total: number;
  readonly idle: number;
  /** Callers waiting for a connection: the pool is exhausted while this stays above 0. */
  readonly waiting: number;
  /** The most connections the pool opens. */
  readonly max: number;
}

const registered = new WeakSet<Registry>();

/**
 * The database pool's saturation, read at scrape time from `read` (nothing is recorded per statement):
 * lattice_db_pool_connections{state="in_use"|"idle"}, lattice_db_pool_max_connections and
 * lattice_db_pool_waiting_requests. One pool per registry (a service has one); a second call is ignored.
 */
export function registerPoolMetrics(registry: Registry, read: () => PoolCounts): void {
  if (registered.has(registry)) return;
  registered.add(registry);
  const registers = [registry];
  new Gauge({
    name: "lattice_db_pool_connections",
    help: "Database connections open, by state: in_use (checked out) or idle.",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = read();
      this.set({ state: "in_use" }, counts.total - counts.idle);
      this.set({ state: "idle" }, counts.idle);
    },
  });
  new Gauge({
    name: "lattice_db_pool_max_connections",
    help: "The most connections the database pool opens.",
    registers,
    collect() {
      this.set(read().max);
    },
  });
  new Gauge({
    name: "lattice_db_pool_waiting_requests",
    help: "Statements and transactions waiting for a free database connection.",
    registers,
    collect() {
      this.set(read().waiting);
    },
  });
}
