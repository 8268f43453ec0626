import { probeHealth, ProbeExit } from "@lattice/kit";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { probeTiming, type ProbeKind, type ProbeTiming } from "./chart-contract.js";
import type { GrpcProbe } from "./manifests.js";

/**
 * One gRPC probe as the kubelet runs it: a fresh plaintext connection, grpc.health.v1.Health/Check with the probe's
 * `service`, the whole attempt bounded by timeoutSeconds. Success only for SERVING; NOT_SERVING, NOT_FOUND, a
 * refused connection or a timeout are failures. The same check as the images' health-probe command.
 */
export async function grpcProbe(address: string, service: string, timeoutMs: number): Promise<ProbeAttempt> {
  const result = await probeHealth({ address, service, timeoutMs });
  return { ok: result.exitCode === ProbeExit.SERVING, detail: result.message };
}

export interface ProbeAttempt {
  readonly ok: boolean;
  readonly detail: string;
}

/** What happened, in milliseconds since the container started. */
export type ProbeEvent =
  | {
      readonly at: number;
      readonly type: "probe";
      readonly probe: ProbeKind;
      readonly ok: boolean;
      readonly detail: string;
    }
  | { readonly at: number; readonly type: "started" | "ready" | "unready" | "restart" | "startup-failed" };

export interface ProbeTarget {
  /** The container's probe port → the loopback port it is served on here. */
  readonly address: (containerPort: number) => string;
  readonly probes: Partial<Record<ProbeKind, GrpcProbe>>;
}

/**
 * The kubelet's probe workers for one container (pkg/kubelet/prober semantics): each probe runs at once and then
 * every periodSeconds, not before initialDelaySeconds after the container start; readiness and liveness do nothing
 * until the startup probe has succeeded; a result counts only after successThreshold / failureThreshold equal results
 * in a row; readiness starts as not ready; failureThreshold liveness failures (or startup failures) mean a restart.
 *
 * Unlike the kubelet, which stops liveness and startup probing once a pod is being deleted, liveness keeps running
 * through termination here: a stricter check that the process stays live while it drains.
 */
export class KubeletProber {
  readonly events: ProbeEvent[] = [];
  private readonly startedAt = performance.now();
  private startupSucceeded = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly workers: Promise<void>[] = [];

  constructor(private readonly target: ProbeTarget) {
    if (!target.probes.startupProbe) this.startupSucceeded = true;
    for (const kind of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
      const probe = target.probes[kind];
      if (probe) this.workers.push(this.worker(kind, probe));
    }
  }

  /** Milliseconds since the container started. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  private record(event: ProbeEvent) {
    this.events.push(event);
  }

  private async worker(kind: ProbeKind, probe: GrpcProbe): Promise<void> {
    const timing: ProbeTiming = probeTiming(probe);
    const grpc = probe.grpc;
    if (!grpc || typeof grpc.port !== "number") throw new Error(`${kind} is not a grpc probe on a numeric port`);
    const address = this.target.address(grpc.port);
    let lastResult: boolean | undefined;
    let run = 0;
    let ready = false;
    let nextTick = 0;
    while (!this.stopped) {
      const due = this.now() >= timing.initialDelaySeconds * 1000 && (kind === "startupProbe" || this.startupSucceeded);
      if (due) {
        const attempt = await grpcProbe(address, grpc.service ?? "", timing.timeoutSeconds * 1000);
        // stop() may have been called while the probe was in flight.
        if (this.isStopped()) return;
        this.record({ at: this.now(), type: "probe", probe: kind, ok: attempt.ok, detail: attempt.detail });
        run = attempt.ok === lastResult ? run + 1 : 1;
        lastResult = attempt.ok;
        const threshold = attempt.ok ? timing.successThreshold : timing.failureThreshold;
        if (run >= threshold) {
          if (kind === "startupProbe") {
            this.record({ at: this.now(), type: attempt.ok ? "started" : "startup-failed" });
            if (attempt.ok) this.startupSucceeded = true;
            return;
          }
          if (kind === "readinessProbe" && attempt.ok !== ready) {
            ready = attempt.ok;
            this.record({ at: this.now(), type: ready ? "ready" : "unready" });
          }
          if (kind === "livenessProbe" && !attempt.ok) {
            this.record({ at: this.now(), type: "restart" });
            run = 0;
          }
        }
      }
      // Ticks keep their period whatever a probe took, like time.Ticker.
      nextTick += timing.periodSeconds * 1000;
      const wait = nextTick - this.now();
      if (wait > 0) await sleep(wait, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  /** Stops probing (the container has exited) and waits for probes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all(this.workers);
  }

  first(type: ProbeEvent["type"], probe?: ProbeKind, ok?: boolean): ProbeEvent | undefined {
    return this.events.find(
      (e) => e.type === type && (probe === undefined || (e.type === "probe" && e.probe === probe && e.ok === ok)),
    );
  }

  /** The timeline, one line per event, for assertion messages. */
  describe(): string {
    return this.events
      .map(
        (e) =>
          `${(e.at / 1000).toFixed(2)}s ${e.type === "probe" ? `${e.probe} ${e.ok ? "ok" : "FAIL"} ${e.detail}` : e.type}`,
      )
      .join("\n");
  }
}
