import { credentials, Metadata, type ChannelOptions, type ServiceError } from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import { createClient, declaredConfigSchema, loadConfig, type ServiceClient } from "@lattice/kit";
import { ClientMetrics, clientSettingsFor } from "@lattice/kit/internal";
import { testDeclaration } from "@lattice/kit/testing";
import {
  PaymentServiceClient,
  PaymentServiceService,
  type ChargeRequest,
  type ChargeResponse,
  type GetPaymentRequest,
  type GetPaymentResponse,
} from "@lattice/proto/lattice/payment/v1/payment";

/** What services/order/package.json declares: the services it serves and calls. */
const orderDeclaration = testDeclaration("order", {
  grpcServices: ["lattice.order.v1.OrderService"],
  calls: ["user", "payment"],
});

/**
 * A PaymentService client made the way the order service makes its own (the kit's SetupContext.connect): the
 * order declaration's configuration schema reads `env` (CLIENT_* and PAYMENT_CLIENT_* keys, the kit's defaults for
 * the rest), GRPC_LB_POLICY=round_robin as the chart's dns mode sets it, the target as PAYMENT_SERVICE_ADDRESS,
 * and the breakers' metrics go to `registry`.
 */
export function paymentClientAsOrderMakesIt(
  target: string,
  options: { env?: Record<string, string>; registry: Registry },
): ServiceClient<typeof PaymentServiceService> {
  const config = loadConfig(declaredConfigSchema(orderDeclaration, {}), {
    GRPC_LB_POLICY: "round_robin",
    USER_SERVICE_ADDRESS: "user.invalid:50051",
    PAYMENT_SERVICE_ADDRESS: target,
    ...options.env,
  });
  const settings = clientSettingsFor(config, "payment");
  return createClient(PaymentServiceService, target, {
    name: "payment",
    loadBalancing: config.GRPC_LB_POLICY,
    metrics: ClientMetrics.of(options.registry),
    defaultTimeoutMs: settings.timeoutMs,
    streamTimeoutMs: settings.streamTimeoutMs,
    dnsMinResolutionIntervalMs: settings.dnsMinResolutionIntervalMs,
    retry: settings.retry,
    breaker: settings.breaker,
  });
}

/** The two calls the chaos tests make, as promises that reject with grpc-js's ServiceError. */
export interface PlainPaymentClient {
  getPayment(request: GetPaymentRequest, timeoutMs: number): Promise<GetPaymentResponse>;
  charge(request: ChargeRequest, timeoutMs: number): Promise<ChargeResponse>;
  close(): void;
}

/**
 * The generated grpc-js client with grpc-js's defaults and no retry policy, round_robin like the other: what a
 * caller without Lattice's client gets. (grpc-js still makes its transparent retries of calls that never reached
 * a server.)
 */
export function plainPaymentClient(target: string, channelOptions: ChannelOptions = {}): PlainPaymentClient {
  const client = new PaymentServiceClient(target, credentials.createInsecure(), {
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    ...channelOptions,
  });
  const deadline = (timeoutMs: number) => ({ deadline: new Date(Date.now() + timeoutMs) });
  const settle =
    <T>(resolve: (value: T) => void, reject: (error: ServiceError) => void) =>
    (error: ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response);
  return {
    getPayment: (request, timeoutMs) =>
      new Promise((resolve, reject) =>
        client.getPayment(request, new Metadata(), deadline(timeoutMs), settle(resolve, reject)),
      ),
    charge: (request, timeoutMs) =>
      new Promise((resolve, reject) =>
        client.charge(request, new Metadata(), deadline(timeoutMs), settle(resolve, reject)),
      ),
    close: () => client.close(),
  };
}
