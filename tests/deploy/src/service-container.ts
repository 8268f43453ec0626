import { containerLogs, isRunning, jsonLogs, publishedAddress, runContainer, stopContainer } from "./containers.js";
import { waitServing } from "./health.js";
import { serviceImage, type ServiceName } from "./images.js";

export interface ServiceContainer {
  readonly name: string;
  /** The gRPC port as published on 127.0.0.1. */
  readonly grpcAddress: string;
  /** The plaintext health port (grpc.health.v1 only, for kubelet probes) as published on 127.0.0.1. */
  readonly healthAddress: string;
  /** SIGTERM, then the exit code once the container has stopped. */
  stop(): Promise<number>;
  /** Messages ("msg") of the service's JSON log lines so far. */
  messages(): Promise<string[]>;
}

/** How long `podman stop` waits after SIGTERM before SIGKILL: well past the drain the tests configure. */
export const stopTimeoutSeconds = 15;

/**
 * Starts a service's image as a read-only, non-root container with its gRPC port published on 127.0.0.1 and waits
 * until gRPC health reports SERVING through that port. On failure the message carries the container's logs.
 */
export async function startServiceContainer(
  service: ServiceName,
  options: { name: string; network: string; env?: Record<string, string> },
): Promise<ServiceContainer> {
  const { name } = options;
  await runContainer({
    name,
    image: serviceImage(service),
    network: options.network,
    publish: [50051, 8091],
    readOnly: true,
    // A short drain keeps the test quick; the shutdown sequence is the same.
    env: { LOG_FORMAT: "json", SHUTDOWN_DRAIN_MS: "500", ...options.env },
  });
  let grpcAddress: string, healthAddress: string;
  try {
    grpcAddress = await publishedAddress(name, 50051);
    healthAddress = await publishedAddress(name, 8091);
    await waitServing(grpcAddress, { alive: () => isRunning(name) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${service} container ${name} did not serve: ${message}\n${await containerLogs(name)}`, {
      cause: error,
    });
  }
  return {
    name,
    grpcAddress,
    healthAddress,
    stop: () => stopContainer(name, stopTimeoutSeconds),
    messages: async () => (await jsonLogs(name)).map((line) => String(line["msg"])),
  };
}
