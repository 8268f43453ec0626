import { Registry, collectDefaultMetrics } from "prom-client";
import { DataPathMetrics } from "./data-path-metrics.js";
import type { MethodInfo } from "../rpc/method.js";
import { DEFAULT_LATENCY_BUCKETS, MethodStats, RpcStats } from "./rpc-stats.js";

export { DEFAULT_LATENCY_BUCKETS, MethodStats };

export interface ServerMetricsOptions {
  /** Registry to register into; a new one by default, so several servers in one process do not collide. */
  registry?: Registry;
  /** Process metrics (CPU, memory, event loop lag, GC); on by default. */
  defaultMetrics?: boolean;
  latencyBuckets?: number[];
}

/**
 * A service's registry (served on /metrics) with the per-RPC metrics of its server, named and labelled as
 * go-grpc-prometheus names them (see RpcStats), and Node's process metrics.
 */
export class ServerMetrics {
  readonly registry: Registry;
  private readonly rpc: RpcStats;
  private dataPathMetrics: DataPathMetrics | undefined;

  constructor(options: ServerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.rpc = new RpcStats(this.registry, "server", options.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS);
  }

  /** The stats of one method, created on first use (the interceptor asks once per method, at registration). */
  forMethod(method: MethodInfo): MethodStats {
    return this.rpc.forMethod(method);
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
}
