/**
 * @lattice/kit/internal — what the kit's own modules, its command-line tools and its tests share. Not part of the
 * public API: it follows no compatibility promise, and services should not need it.
 */
export { adaptService, type AdaptOptions } from "./rpc/adapt-service.js";
export { ServerCallContext, type RawServerCall } from "./rpc/server-call-context.js";
export { methodInfo, methodKind } from "./rpc/method.js";
export { compose } from "./interceptors/interceptor.js";
export { applyGrpcJsPatches, grpcJsPatches, TRAILERS_GRACE_MS } from "./rpc/grpc-js-patches.js";
export { keepRequestBytes, requestBytes, UndecodableRequest } from "./validation/request-bytes.js";
export {
  checkWire,
  DEFAULT_MAX_ITEMS,
  MAX_DEPTH,
  type WireIssue,
  type WireIssueReason,
} from "./validation/wire-check.js";
export { loggingInterceptor } from "./interceptors/logging.js";
export { metricsInterceptor } from "./interceptors/metrics.js";
export { recoveryInterceptor } from "./interceptors/recovery.js";
export { forwardRequestIdInterceptor } from "./interceptors/request-id.js";
export { usableRequestId } from "./context/request-id.js";
export { runInCall } from "./context/call-scope.js";
export { ClientCallContext } from "./client/client-call-context.js";
export { cancelOnAbort, earliest, toMetadata } from "./client/call-options.js";
export { anyToDetail, detailToAny } from "./errors/details.js";
export { isServiceError, STATUS_DETAILS_KEY } from "./errors/grpc-error.js";
export { isExpectedError } from "./errors/to-grpc-error.js";
export { DEFAULT_LATENCY_BUCKETS, MethodStats, ServerMetrics } from "./metrics/server-metrics.js";
export { RpcStats } from "./metrics/rpc-stats.js";
export { clientMetricsInterceptor, PREVIOUS_ATTEMPTS_HEADER, type MethodStatsSource } from "./interceptors/metrics.js";
export { descriptorFiles, loadDescriptorSet, reflectionServices } from "./reflection/reflection.js";
export { healthService } from "./health/health-service.js";
export { startHealthServer, type HealthServer } from "./health/health-server.js";
export { startAdminServer, type AdminServer } from "./admin/admin-server.js";
export { grpcAddress } from "./server/address.js";
export { loadConfigOrExit, EXIT_CONFIG } from "./config.js";
export { databaseConfig } from "./db/open-database.js";
export { outboxConfig, startOutboxRelay } from "./outbox/start-relay.js";
export { ensureStream } from "./outbox/jetstream.js";
export { clientConfigShape, clientSettingsFor, targetPrefix } from "./client/client-settings.js";
export { enableXdsFor, isXdsTarget } from "./client/discovery.js";
export { BREAKER_STATE_VALUE, ClientMetrics } from "./metrics/client-metrics.js";
export { asDatabaseError } from "./db/connection-errors.js";
export { backoffDelay, sleep, type BackoffOptions } from "./resilience/backoff.js";
export { OutageLog, type OutageLogOptions } from "./resilience/outage-log.js";
export { DatabaseHealth, type DatabaseHealthOptions } from "./db/database-health.js";
export { callBounds, type CallBounds } from "./db/call-bounds.js";
export { sendCancelRequest, type BackendKey } from "./db/cancel-request.js";
export { publishDeadLetter, type DeadLetter } from "./outbox/dead-letters.js";
export { DataPathMetrics } from "./metrics/data-path-metrics.js";
export { installTracing, kitTracer } from "./telemetry/tracing.js";
export { metadataGetter, metadataSetter, recordGetter, recordSetter } from "./telemetry/carriers.js";
export { tracedClientClass, describeStatement, type DatabaseTarget } from "./telemetry/db-spans.js";
export {
  eventTraceHeaders,
  withEventCreation,
  withEventProcessing,
  withEventSend,
  type EventTraceContext,
  type MessageHeaders,
} from "./telemetry/messaging-spans.js";
export { EventMetrics } from "./metrics/event-metrics.js";
export { registerOutboxMetrics } from "./metrics/outbox-metrics.js";
export { registerPoolMetrics, type PoolCounts } from "./metrics/pool-metrics.js";
