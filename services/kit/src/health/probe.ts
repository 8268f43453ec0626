import { createClient } from "../client/create-client.js";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import { ServingStatus } from "./health-registry.js";
import { HealthService } from "./health-service.js";

/** Exit codes of the health-probe command; the same meanings as the widely used grpc_health_probe. */
export const ProbeExit = {
  SERVING: 0,
  BAD_ARGUMENTS: 1,
  CONNECTION_FAILED: 2,
  RPC_FAILED: 3,
  NOT_SERVING: 4,
} as const;
export type ProbeExitCode = (typeof ProbeExit)[keyof typeof ProbeExit];

export interface ProbeOptions {
  /** gRPC target, e.g. "127.0.0.1:8091". */
  address: string;
  /** Health service name: "" for the server, "readiness", "liveness" or a fully-qualified service. */
  service: string;
  timeoutMs: number;
}

export interface ProbeResult {
  exitCode: ProbeExitCode;
  /** One line for a person reading `kubectl exec` output. */
  message: string;
}

/** One grpc.health.v1.Health/Check, as kubelet's gRPC probe makes it: SERVING passes, anything else fails. */
export async function probeHealth(options: ProbeOptions): Promise<ProbeResult> {
  const client = createClient(HealthService, options.address);
  try {
    const { status } = await client.check({ service: options.service }, { timeoutMs: options.timeoutMs });
    const name = ServingStatus[status];
    return status === ServingStatus.SERVING
      ? { exitCode: ProbeExit.SERVING, message: `status: ${name}` }
      : { exitCode: ProbeExit.NOT_SERVING, message: `service "${options.service}" is ${name}` };
  } catch (error) {
    if (!(error instanceof GrpcError)) throw error;
    const unreachable = error.code === Status.UNAVAILABLE || error.code === Status.DEADLINE_EXCEEDED;
    return {
      exitCode: unreachable ? ProbeExit.CONNECTION_FAILED : ProbeExit.RPC_FAILED,
      message: `health check of ${options.address} failed: ${Status[error.code]}: ${error.message}`,
    };
  } finally {
    client.close();
  }
}
