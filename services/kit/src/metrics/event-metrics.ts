import { Counter, type Registry } from "prom-client";

/**
 * Metrics of the events a service consumes, registered into its registry once (every consumer of the service shares
 * them). Low-rate — one update per redelivery — so prom-client's own counters are cheap enough.
 */
export class EventMetrics {
  private static readonly byRegistry = new WeakMap<Registry, EventMetrics>();
  /** Messages that came again: not acknowledged in time, refused (nak) or left by a consumer that died. */
  readonly redelivered: Counter<"stream">;

  private constructor(registry: Registry) {
    this.redelivered = new Counter({
      name: "lattice_events_redelivered_total",
      help: "Events delivered again to this service's consumer (after a failure, a timeout or a restart).",
      labelNames: ["stream"],
      registers: [registry],
    });
  }

  /** The event metrics of `registry`, made on first use. */
  static of(registry: Registry): EventMetrics {
    let metrics = EventMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new EventMetrics(registry);
      EventMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }
}
