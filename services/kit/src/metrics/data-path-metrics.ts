import { Counter, Gauge, type Registry } from "prom-client";

/**
 * Metrics of the data path: whether each dependency answers, what the outbox relay publishes and what consumers do
 * with events. Low-rate (one update per outage, batch or event), so prom-client's own counters are cheap enough.
 */
export class DataPathMetrics {
  /** 1 while a dependency answers, 0 while it does not (dependency: postgres, postgres_listen, nats). */
  readonly dependencyUp: Gauge<"dependency">;
  /** Outages of each dependency: transitions from answering to not answering. */
  readonly dependencyOutages: Counter<"dependency">;
  /** Events the outbox relay published (the broker acknowledged them). */
  readonly outboxPublished: Counter;
  /** Outbox batches that failed (broker or database), and were left for the next attempt. */
  readonly outboxFailures: Counter;
  /** Events a consumer finished with, by outcome: handled, retried (nak with backoff), dead_lettered. */
  readonly eventsConsumed: Counter<"stream" | "outcome">;
  /** Events dead-lettered, by reason: poison (can never succeed) or exhausted (out of deliveries). */
  readonly eventsDeadLettered: Counter<"stream" | "reason">;
  private readonly state = new Map<string, boolean>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.dependencyUp = new Gauge({
      name: "lattice_dependency_up",
      help: "1 while the dependency answers, 0 while it does not.",
      labelNames: ["dependency"],
      registers,
    });
    this.dependencyOutages = new Counter({
      name: "lattice_dependency_outages_total",
      help: "Times the dependency stopped answering.",
      labelNames: ["dependency"],
      registers,
    });
    this.outboxPublished = new Counter({
      name: "lattice_outbox_published_total",
      help: "Events the outbox relay published and the broker acknowledged.",
      registers,
    });
    this.outboxFailures = new Counter({
      name: "lattice_outbox_failures_total",
      help: "Outbox batches that failed and were left for the next attempt.",
      registers,
    });
    this.eventsConsumed = new Counter({
      name: "lattice_events_consumed_total",
      help: "Events consumed, by outcome: handled, retried, dead_lettered.",
      labelNames: ["stream", "outcome"],
      registers,
    });
    this.eventsDeadLettered = new Counter({
      name: "lattice_events_dead_lettered_total",
      help: "Events dead-lettered, by reason: poison or exhausted.",
      labelNames: ["stream", "reason"],
      registers,
    });
  }

  /** Records that `dependency` answers (true) or not; counts an outage when it stops. */
  setDependency(dependency: string, up: boolean): void {
    const previous = this.state.get(dependency);
    this.state.set(dependency, up);
    this.dependencyUp.set({ dependency }, up ? 1 : 0);
    if (!up && previous !== false) this.dependencyOutages.inc({ dependency });
  }
}
