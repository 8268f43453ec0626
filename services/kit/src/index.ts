/**
 * @lattice/kit — the public API services are written against. Everything exported here is deliberate and documented;
 * what the kit needs between its own modules (adapters, codecs, descriptor reading) is in "@lattice/kit/internal",
 * which may change at any time.
 */

// Running a service
export { defineService } from "./server/service-module.js";
export type {
  Database,
  ReceivedEvent,
  ServiceDefinitionOptions,
  ServiceEvents,
  ServiceModule,
  SetupContext,
  Teardown,
} from "./server/service-module.js";
export { runService } from "./server/run-service.js";
export { startService, type RunningService, type StartOptions } from "./server/start-service.js";
export { LatticeServer, type LatticeServerOptions, type ServerConfig } from "./server/lattice-server.js";
export {
  DeclarationError,
  loadServiceDeclarations,
  peerAddressVariable,
  readDeclaration,
  serviceDeclaration,
  streamSubjects,
  type DeclarationBlock,
  type ServiceDeclaration,
} from "./declaration/service-declaration.js";
export { declaredConfigSchema } from "./declaration/declared-config.js";

// Configuration and logs
export { baseConfigSchema, ConfigError, loadConfig, millis, port, type BaseConfig } from "./config.js";
export { createLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.js";

// Handlers, calls and context
export type {
  BidiStreamMethod,
  ClientStreamMethod,
  MethodImplementation,
  ServerStreamMethod,
  ServiceImplementation,
  UnaryMethod,
} from "./rpc/implementation.js";
export type { AnyServiceDefinition } from "./rpc/definition.js";
export { cancellationError, deriveCall, remainingMs } from "./rpc/call-context.js";
export type { CallContext, CallOverrides, CallSide } from "./rpc/call-context.js";
export type { MethodInfo, MethodKind } from "./rpc/method.js";
export { ContextValues, createContextKey, type ContextKey } from "./context/context-values.js";
export { currentCall } from "./context/call-scope.js";
export { REQUEST_ID_HEADER } from "./context/request-id.js";

// Interceptors
export type { Interceptor, Next } from "./interceptors/interceptor.js";
export {
  INFRASTRUCTURE_SERVICES,
  infrastructureMethods,
  inServices,
  methods,
  not,
  selectMethods,
  type MethodMatcher,
} from "./interceptors/select.js";
export { mapFailure, whenFinished } from "./interceptors/outcome.js";
export { defaultLevelForCode, type CallLogLevel, type LoggingOptions } from "./interceptors/logging.js";

// Security: TLS, bearer tokens, method policies, rate limits (docs/security.md)
export { securityConfigShape, securityConfigIssues, type SecurityConfig } from "./security/config.js";
export { parseRateLimits, ruleFor, type RateLimitRule } from "./security/rate-limit-rules.js";
export {
  isCaller,
  LINKERD_CLIENT_ID_HEADER,
  linkerdClientIdentity,
  parseSubjectAltName,
  type AuthContextLike,
  type PeerIdentity,
} from "./security/peer-identity.js";
export {
  AUTH_ERROR_DOMAIN,
  AUTHORIZATION_HEADER,
  authInterceptor,
  PRINCIPAL,
  principalOf,
  type AuthOptions,
} from "./security/auth-interceptor.js";
export {
  createTokenVerifier,
  KeysUnavailable,
  TokenRejected,
  type Principal,
  type TokenVerifier,
} from "./security/jwt.js";
export { DEFAULT_POLICY, methodPolicies, type MethodPolicy } from "./security/method-policies.js";
export { forwardTokenInterceptor } from "./security/forward-token.js";
export {
  callerKey,
  RateLimitMetrics,
  rateLimitInterceptor,
  TokenBuckets,
  type MeshIdentity,
} from "./security/rate-limit.js";
export { serverSecurityInterceptors, type ServerSecurityOptions } from "./security/server-security.js";
export { TransportSecurity, type TlsMode } from "./security/transport.js";
export { CertificateFiles, type CertificateFilesOptions } from "./security/certificate-files.js";

// Errors
export {
  AlreadyExistsError,
  ConflictError,
  DomainError,
  NotFoundError,
  OutcomeUnknownError,
  PreconditionError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from "./errors/domain.js";
export { GrpcError, type GrpcErrorOptions } from "./errors/grpc-error.js";
export type { ErrorDetail, KnownDetailType } from "./errors/details.js";
export { codeName, Status } from "./errors/status-codes.js";
export { statusOf } from "./errors/status-of.js";
export { toGrpcError } from "./errors/to-grpc-error.js";

// Clients
export { createClient } from "./client/create-client.js";
export type { ClientOptions, MethodCall, ServiceClient } from "./client/create-client.js";
export type { CallOptions } from "./client/call-options.js";
export { DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS, type LoadBalancingPolicy } from "./client/load-balancing.js";
export {
  DEFAULT_RETRY_SETTINGS,
  retryabilityOf,
  serviceConfigFor,
  type Retryability,
  type RetrySettings,
} from "./client/retry-policy.js";
export {
  circuitBreakers,
  DEFAULT_BREAKER_SETTINGS,
  DEPENDENCY_FAILURES,
  type BreakerSettings,
  type CircuitBreakers,
} from "./client/circuit-breaker.js";
export { clientSettingKeys, type TargetClientSettings } from "./client/client-settings.js";
export { contractRegistry } from "./contracts/registry.js";

// Health
export { LIVENESS, OVERALL, READINESS, HealthRegistry, ServingStatus } from "./health/health-registry.js";
export { HealthService } from "./health/health-service.js";
export { probeHealth, ProbeExit, type ProbeExitCode, type ProbeOptions, type ProbeResult } from "./health/probe.js";

// Data: PostgreSQL, the outbox, events
export {
  CLIENT_TIMEOUT_MARGIN_MS,
  createPool,
  inTransaction,
  isPgError,
  PgError,
  POOL_DEFAULTS,
  type Pool,
  type PoolClient,
  type PoolOptions,
  type PoolStats,
} from "./db/pool.js";
export { DATABASE_RETRY_AFTER_MS, isConnectionError } from "./db/connection-errors.js";
export { PgListener, type ChangeListener, type PgListenerOptions } from "./db/listener.js";
export { migrate, type MigrateOptions } from "./db/migrate.js";
export { openDatabase, type OpenDatabaseOptions } from "./db/open-database.js";
export { OutboxRelay, type OutboxEvent, type OutboxRelayOptions, type Publish } from "./outbox/relay.js";
export { jetStreamPublisher, linkPublisher, type JetStreamPublisher } from "./outbox/jetstream.js";
export { NatsLink, NATS_LINK_DEFAULTS, type NatsLinkOptions } from "./outbox/nats-link.js";
export { CONSUMER_DEFAULTS, startEventConsumer, type EventConsumerOptions } from "./outbox/consume.js";
export { PoisonEventError } from "./outbox/poison-event-error.js";
export {
  DEAD_LETTER_MAX_AGE_MS,
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECTS,
  DeadLetterHeader,
  type DeadLetterReason,
} from "./outbox/dead-letters.js";
export { writeOutboxEvent, type NewOutboxEvent } from "./outbox/write-event.js";

// Tracing (OpenTelemetry, W3C trace context; docs/observability.md)
export { tracingConfigShape, tracingSettings, type TracingConfig, type TracingSettings } from "./telemetry/config.js";
export { startTracing, stopTracing, tracingEnabled, TRACER_NAME, type Tracing } from "./telemetry/tracing.js";
export { clientTracingInterceptor, REQUEST_ID_ATTRIBUTE, serverTracingInterceptor } from "./telemetry/rpc-spans.js";
export { httpServerSpan, type HttpRequestLike, type HttpServerSpan } from "./telemetry/http-spans.js";
export { traceLogFields } from "./telemetry/log-fields.js";
export type { HeaderRecord } from "./telemetry/carriers.js";

// Request fields
export { resourceName, UUID_PATTERN, type ResourceName, type ResourceNameOptions } from "./names/resource-name.js";
export { pageTokenOf, parsePageToken } from "./paging/page-token.js";
export { codePointLength } from "./validation/text.js";

// Contract validation
export { validationInterceptor, type ValidationOptions } from "./validation/validation-interceptor.js";
export { Contract } from "./validation/contract.js";
