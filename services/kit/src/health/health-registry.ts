import { HealthCheckResponse_ServingStatus as ServingStatus } from "@lattice/proto/grpc/health/v1/health";

export { ServingStatus };

/** The overall status: what a health check without a service name asks for. */
export const OVERALL = "";
/** Kubernetes readiness: stays NOT_SERVING until the service can take traffic, and turns first on shutdown. */
export const READINESS = "readiness";
/** Kubernetes liveness: SERVING while the process works at all, so draining pods are not restarted. */
export const LIVENESS = "liveness";

/**
 * Serving status per service name, watched by the gRPC health service and the admin port. Statuses are real: they
 * start NOT_SERVING and become SERVING only when the server says it is ready. While a dependency the service cannot
 * work without is unavailable (setDependency), every status but liveness reads NOT_SERVING: load balancers stop
 * sending calls the service would fail, and the kubelet does not restart a process a restart would not cure.
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly unavailable = new Set<string>();
  private changed = deferred();
  private closed = false;

  constructor() {
    this.statuses.set(OVERALL, ServingStatus.NOT_SERVING);
    this.statuses.set(READINESS, ServingStatus.NOT_SERVING);
    this.statuses.set(LIVENESS, ServingStatus.SERVING);
  }

  get(service: string): ServingStatus | undefined {
    const status = this.statuses.get(service);
    if (status === ServingStatus.SERVING && service !== LIVENESS && this.unavailable.size > 0)
      return ServingStatus.NOT_SERVING;
    return status;
  }

  isServing(service: string): boolean {
    return this.get(service) === ServingStatus.SERVING;
  }

  /** Every known service and its status. */
  list(): ReadonlyMap<string, ServingStatus> {
    return new Map([...this.statuses.keys()].map((service) => [service, this.get(service)!]));
  }

  /**
   * Records whether a dependency the service needs (e.g. "postgres") is available. While any is not, every status
   * but liveness reads NOT_SERVING; what was set stays recorded and returns when they all are available again.
   */
  setDependency(dependency: string, available: boolean): void {
    const changed = available ? this.unavailable.delete(dependency) : !this.unavailable.has(dependency);
    if (!available) this.unavailable.add(dependency);
    if (changed) this.notify();
  }

  /** The dependencies currently reported unavailable. */
  unavailableDependencies(): string[] {
    return [...this.unavailable];
  }

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    this.notify();
  }

  /** Marks every service but liveness, so readiness and the overall status turn together. */
  setAll(status: ServingStatus): void {
    for (const service of this.statuses.keys()) if (service !== LIVENESS) this.statuses.set(service, status);
    this.notify();
  }

  /**
   * Yields the status of `service` now and again on every change (SERVICE_UNKNOWN while it is not registered),
   * until `signal` aborts or the registry is closed.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    let last: ServingStatus | undefined;
    while (!signal.aborted && !this.closed) {
      const current = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
      if (current !== last) {
        last = current;
        yield current;
        continue;
      }
      await untilAborted(this.changed.promise, signal);
    }
  }

  /** Ends every watch (at shutdown, so open Watch streams do not hold the server open). */
  close(): void {
    this.closed = true;
    this.notify();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private notify(): void {
    const previous = this.changed;
    this.changed = deferred();
    previous.resolve();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
