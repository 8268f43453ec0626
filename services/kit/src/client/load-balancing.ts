import type { ChannelOptions } from "@grpc/grpc-js";
import type { BaseConfig } from "../config.js";

export type LoadBalancingPolicy = BaseConfig["GRPC_LB_POLICY"];

/**
 * Channel options choosing how a client spreads calls over the addresses its target resolves to, through the
 * service config grpc-js reads (the same JSON a resolver may supply; this one is the default when it supplies none).
 */
export function loadBalancingOptions(policy: LoadBalancingPolicy): ChannelOptions {
  return { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ [policy]: {} }] }) };
}
