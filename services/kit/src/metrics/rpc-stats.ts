import type { Metric, Registry } from "prom-client";
import { codeName, Status } from "../errors/status-codes.js";
import type { MethodInfo } from "../rpc/method.js";

/** go-grpc-prometheus's default buckets (Prometheus DefBuckets), in seconds, so dashboards made for Go work. */
export const DEFAULT_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Counts for one method on one side. Recording a call is a few additions on plain numbers: prom-client's own
 * counters hash their labels on every increment, which costs more than the rest of the interceptor chain together.
 * The numbers become Prometheus series only when scraped.
 */
export class MethodStats {
  started = 0;
  readonly handled = new Map<Status, number>([[Status.OK, 0]]);
  /** Messages received: requests on a server, responses on a client. */
  msgReceived = 0;
  /** Messages sent: responses on a server, requests on a client. */
  msgSent = 0;
  /** Retried attempts: on a server, calls that arrived as a retry; on a client, attempts beyond a call's first. */
  retries = 0;
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

/** Which end of the calls a set of stats counts, and the help texts of its series. */
const SIDES = {
  server: {
    started: "Total number of RPCs started on the server.",
    handled: "Total number of RPCs completed on the server, regardless of success or failure.",
    received: "Total number of RPC stream messages received on the server.",
    sent: "Total number of gRPC stream messages sent by the server.",
    seconds: "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    retries: "RPCs that arrived as a retry or hedge of an earlier attempt (grpc-previous-rpc-attempts set).",
  },
  client: {
    started: "Total number of RPCs started on the client.",
    handled: "Total number of RPCs completed by the client, regardless of success or failure.",
    received: "Total number of RPC stream messages received by the client.",
    sent: "Total number of gRPC stream messages sent by the client.",
    seconds: "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
    retries:
      "Attempts the client made beyond each call's first (retries and hedges), as its last attempt reports them.",
  },
} as const;

/**
 * The per-method RPC metrics of one side, named and labelled as go-grpc-prometheus names them, so its dashboards
 * work unchanged: grpc_{server,client}_started_total, _handled_total{grpc_code}, _msg_received_total,
 * _msg_sent_total and _handling_seconds (labels grpc_type, grpc_service, grpc_method); plus
 * grpc_{server,client}_retries_total.
 */
export class RpcStats {
  private readonly methods = new Map<string, MethodStats>();

  constructor(
    registry: Registry,
    private readonly side: keyof typeof SIDES,
    private readonly bounds: readonly number[] = DEFAULT_LATENCY_BUCKETS,
  ) {
    const help = SIDES[side];
    const prefix = `grpc_${side}`;
    const all = () => [...this.methods.values()];
    const each = (value: (m: MethodStats) => number) => () => all().map((m) => ({ labels: m.labels, value: value(m) }));
    register(
      registry,
      `${prefix}_started_total`,
      help.started,
      "counter",
      each((m) => m.started),
    );
    register(registry, `${prefix}_handled_total`, help.handled, "counter", () =>
      all().flatMap((m) =>
        [...m.handled].map(([code, value]) => ({ labels: { ...m.labels, grpc_code: codeName(code) }, value })),
      ),
    );
    register(
      registry,
      `${prefix}_msg_received_total`,
      help.received,
      "counter",
      each((m) => m.msgReceived),
    );
    register(
      registry,
      `${prefix}_msg_sent_total`,
      help.sent,
      "counter",
      each((m) => m.msgSent),
    );
    register(registry, `${prefix}_handling_seconds`, help.seconds, "histogram", () =>
      all().flatMap((m) => this.histogramValues(`${prefix}_handling_seconds`, m)),
    );
    register(
      registry,
      `${prefix}_retries_total`,
      help.retries,
      "counter",
      each((m) => m.retries),
    );
  }

  /** The stats of one method, created on first use (interceptors ask once per method, when the chain is built). */
  forMethod(method: MethodInfo): MethodStats {
    let stats = this.methods.get(method.path);
    if (!stats) {
      const labels = { grpc_type: method.kind, grpc_service: method.service, grpc_method: method.name };
      stats = new MethodStats(labels, this.bounds);
      this.methods.set(method.path, stats);
    }
    return stats;
  }

  private histogramValues(name: string, m: MethodStats): Series[] {
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
}

/** A metric whose series are computed at scrape time; prom-client serialises whatever `values` returns. */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: "counter" | "histogram",
  values: () => Series[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: "sum" as const,
    get: () => Promise.resolve({ name, help, type, aggregator: "sum" as const, values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as unknown as Metric);
}
