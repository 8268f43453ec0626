import { createClient } from "@lattice/kit";
import { eventually } from "@lattice/kit/testing";
import { HealthCheckResponse_ServingStatus, HealthService } from "@lattice/proto/grpc/health/v1/health";

/** gRPC health status of `service` at address, or the error's message when the check itself fails. */
export async function checkHealth(address: string, service = ""): Promise<HealthCheckResponse_ServingStatus | string> {
  const client = createClient(HealthService, address, { defaultTimeoutMs: 2_000 });
  try {
    return (await client.check({ service })).status;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    client.close();
  }
}

/**
 * Polls gRPC health at address until `service` is SERVING. Fails when `alive` says the server is gone or after
 * timeoutMs, with the last answer in the message.
 */
export async function waitServing(
  address: string,
  options: { service?: string; timeoutMs?: number; alive?: () => Promise<boolean> } = {},
): Promise<void> {
  // A stopped server ends the wait at once: it will not become SERVING.
  let stopped: string | undefined;
  await eventually(
    async () => {
      const last = await checkHealth(address, options.service);
      if (last === HealthCheckResponse_ServingStatus.SERVING) return;
      if (options.alive && !(await options.alive())) {
        stopped = String(last);
        return;
      }
      throw new Error(`${address} is not SERVING after the wait: ${String(last)}`);
    },
    { withinMs: options.timeoutMs ?? 60_000, intervalMs: 200 },
  );
  if (stopped !== undefined) throw new Error(`the server at ${address} stopped: ${stopped}`);
}
