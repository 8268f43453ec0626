import {
  HealthService,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
} from "@lattice/proto/grpc/health/v1/health";
import { GrpcError } from "../errors/grpc-error.js";
import { Status } from "../errors/status-codes.js";
import type { CallContext } from "../rpc/call-context.js";
import type { ServiceImplementation } from "../rpc/implementation.js";
import { ServingStatus, type HealthRegistry } from "./health-registry.js";

/** grpc.health.v1.Health (Check, Watch, List) over a HealthRegistry. */
export function healthService(registry: HealthRegistry): ServiceImplementation<typeof HealthService> {
  return {
    check(request: HealthCheckRequest): HealthCheckResponse {
      const status = registry.get(request.service);
      if (status === undefined) throw new GrpcError(Status.NOT_FOUND, `unknown service "${request.service}"`);
      return { status };
    },

    async *watch(request: HealthCheckRequest, ctx: CallContext): AsyncGenerator<HealthCheckResponse> {
      for await (const status of registry.watch(request.service, ctx.signal)) yield { status };
      if (registry.isClosed && !ctx.cancelled) throw new GrpcError(Status.UNAVAILABLE, "server is shutting down");
    },

    list(): HealthListResponse {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const [service, status] of registry.list()) statuses[service] = { status };
      return { statuses };
    },
  };
}

export { HealthService, ServingStatus };
