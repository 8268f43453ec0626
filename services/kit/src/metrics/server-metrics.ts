import { Registry, collectDefaultMetrics, type Metric } from "prom-client";
import { Status, codeName } from "../errors/status-codes.js";
import { DataPathMetrics } from "./data-path-metrics.js";
import type { MethodInfo } from "../rpc/method.js";

/** go-grpc-prometheus's default buckets (Prometheus DefBuckets), in seconds, so dashboards made for Go work. */
export const DEFAULT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ServerMetricsOptions {
  /** Registry to register into; a new one by default, so several servers in one process do not collide. */
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop lag, GC); on by default. */
  defaultMetrics?: boolean;
  latencyBuckets?: number[];
}

/**
 * Counts for one method. Recording a call is a few additions on plain numbers: prom-client's own counters hash
 * their labels on every increment, which costs more than the rest of the interceptor chain together. The numbers
 * become Prometheus series only when scraped.
 */
export class MethodStats {
  started = 0;
  readonly handled = new Map<Status, number>([[Status.OK, 0]]);
  /** Non-cumulative: bucket i counts observations in (bounds[i-1], bounds[i]]; the last one is +Inf. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<"grpc_type" | "grpc_service" | "grpc_method", string>>,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  finished(code: Status, seconds: number): void {
    this.handled.set(code, (this.handled.get(code) ?? 0) + 1);
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** One series of a metric as prom-client serialises it. */
interface Series {
  labels: Readonly<Record<string, string | number>>;
  value: number;
  /** For histograms: name_bucket, name_sum or name_count. */
  metricName?: string;
}

/** The per-RPC metrics, named and labelled as go-grpc-prometheus names them. */
export class ServerMetrics {
  readonly registry: Registry;
  private readonly bounds: readonly number[];
  private readonly methods = new Map<string, MethodStats>();
  private dataPathMetrics: DataPathMetrics | undefined;

  constructor(options: ServerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.bounds = options.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const all = () => [...this.methods.values()];
    this.register("grpc_server_started_total", "Total number of RPCs started on the server.", "counter", () =>
      all().map((m) => ({ labels: m.labels, value: m.started })),
    );
    this.register(
      "grpc_server_handled_total",
      "Total number of RPCs completed on the server, regardless of success or failure.",
      "counter",
      () =>
        all().flatMap((m) =>
          [...m.handled].map(([code, value]) => ({ labels: { ...m.labels, grpc_code: codeName(code) }, value })),
        ),
    );
    this.register(
      "grpc_server_handling_seconds",
      "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      "histogram",
      () => all().flatMap((m) => this.histogramValues(m)),
    );
  }

  /** The stats of one method, created on first use (the interceptor asks once per method, at registration). */
  forMethod(method: MethodInfo): MethodStats {
    let stats = this.methods.get(method.path);
    if (!stats) {
      const labels = { grpc_type: method.kind, grpc_service: method.service, grpc_method: method.name };
      stats = new MethodStats(labels, this.bounds);
      this.methods.set(method.path, stats);
    }
    return stats;
  }

  /** The data path's metrics (dependencies, outbox, consumers), registered on first use. */
  get dataPath(): DataPathMetrics {
    this.dataPathMetrics ??= new DataPathMetrics(this.registry);
    return this.dataPathMetrics;
  }

  /** Prometheus text exposition of everything in the registry. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private histogramValues(m: MethodStats): Series[] {
    const name = "grpc_server_handling_seconds";
    const values: Series[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += m.buckets[i]!;
      const le = i < this.bounds.length ? this.bounds[i]! : "+Inf";
      values.push({ labels: { ...m.labels, le }, value: cumulative, metricName: `${name}_bucket` });
    }
    values.push({ labels: m.labels, value: m.sum, metricName: `${name}_sum` });
    values.push({ labels: m.labels, value: m.count, metricName: `${name}_count` });
    return values;
  }

  /** A metric whose series are computed at scrape time; prom-client serialises whatever `get` returns. */
  private register(name: string, help: string, type: "counter" | "histogram", values: () => Series[]): void {
    const metric = {
      name,
      help,
      type,
      aggregator: "sum" as const,
      get: () => Promise.resolve({ name, help, type, aggregator: "sum" as const, values: values() }),
      reset: () => undefined,
    };
    this.registry.registerMetric(metric as unknown as Metric);
  }
}
