import type { BaseConfig } from "../config.js";

/**
 * How a client spreads calls over the addresses its target resolves to: pick_first (one connection; behind a mesh
 * proxy or a ClusterIP Service, which balance per request) or round_robin (every address of a `dns:///` target to a
 * headless Service). GRPC_LB_POLICY sets it for a service's clients.
 */
export type LoadBalancingPolicy = BaseConfig["GRPC_LB_POLICY"];
