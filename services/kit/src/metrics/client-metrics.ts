import { Counter, Gauge, type Registry } from "prom-client";
import type { MethodInfo } from "../rpc/method.js";
import { RpcStats, type MethodStats } from "./rpc-stats.js";

/** The states of a circuit breaker as the state gauge reports them. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATE_VALUE;

type Labels = Record<"target" | "grpc_service" | "grpc_method", string>;

/**
 * Metrics of the calls a service makes, registered into the service's registry (served on /metrics): the
 * go-grpc-prometheus client series (grpc_client_started_total, _handled_total, _handling_seconds,
 * _msg_received_total, _msg_sent_total, labelled by grpc_type, grpc_service, grpc_method), the retries grpc-js made
 * (grpc_client_retries_total) and the circuit breakers'. The breakers' are written against prom-client 15
 * (opossum-prometheus pins prom-client 12 and has no state gauge); their `target` is the name of the service called
 * (e.g. "payment"), or the address when the client has no name for it.
 */
export class ClientMetrics {
  private static readonly byRegistry = new WeakMap<Registry, ClientMetrics>();
  readonly breakerState: Gauge<keyof Labels>;
  readonly breakerTransitions: Counter<keyof Labels | "state">;
  readonly breakerRejections: Counter<keyof Labels>;
  private readonly rpc: RpcStats;

  private constructor(registry: Registry) {
    this.rpc = new RpcStats(registry, "client");
    const labelNames = ["target", "grpc_service", "grpc_method"] as const;
    this.breakerState = new Gauge({
      name: "grpc_client_circuit_breaker_state",
      help: "State of the circuit breaker of a target's method: 0 closed, 1 half-open, 2 open.",
      labelNames,
      registers: [registry],
    });
    this.breakerTransitions = new Counter({
      name: "grpc_client_circuit_breaker_transitions_total",
      help: "Times the circuit breaker of a target's method entered a state.",
      labelNames: [...labelNames, "state"],
      registers: [registry],
    });
    this.breakerRejections = new Counter({
      name: "grpc_client_circuit_breaker_rejections_total",
      help: "Calls refused without being sent because the circuit breaker was open.",
      labelNames,
      registers: [registry],
    });
  }

  /** The client metrics of `registry`, made on first use (every client of a service shares them). */
  static of(registry: Registry): ClientMetrics {
    let metrics = ClientMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new ClientMetrics(registry);
      ClientMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  /** The call counts of one method, shared by every client of this registry that calls it. */
  forMethod(method: MethodInfo): MethodStats {
    return this.rpc.forMethod(method);
  }

  static labels(target: string, method: MethodInfo): Labels {
    return { target, grpc_service: method.service, grpc_method: method.name };
  }
}
