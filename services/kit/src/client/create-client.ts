import { once } from "node:events";
import {
  Client as GrpcClient,
  credentials as grpcCredentials,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  type Metadata,
  type ServiceError,
  type StatusObject,
} from "@grpc/grpc-js";
import { pino } from "pino";
import { currentCall, enableCallScope } from "../context/call-scope.js";
import { GrpcError, isServiceError } from "../errors/grpc-error.js";
import { compose, type Interceptor, type Next } from "../interceptors/interceptor.js";
import { clientMetricsInterceptor } from "../interceptors/metrics.js";
import { forwardRequestIdInterceptor } from "../interceptors/request-id.js";
import type { Logger } from "../logger.js";
import { forwardTokenInterceptor } from "../security/forward-token.js";
import { clientTracingInterceptor } from "../telemetry/rpc-spans.js";
import { tracingEnabled } from "../telemetry/tracing.js";
import type { CallContext } from "../rpc/call-context.js";
import type {
  AnyMethodDefinition,
  AnyServiceDefinition,
  IsRequestStream,
  IsResponseStream,
  RequestOf,
  ResponseOf,
} from "../rpc/definition.js";
import { methodInfo, type MethodInfo } from "../rpc/method.js";
import { WITHOUT_CHANNELZ } from "../rpc/channelz.js";
import { cancelOnAbort, earliest, toMetadata, type CallOptions } from "./call-options.js";
import { ClientCallContext, NEVER_ABORTS } from "./client-call-context.js";
import { DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS, type LoadBalancingPolicy } from "./load-balancing.js";
import { circuitBreakers, type BreakerSettings } from "./circuit-breaker.js";
import { enableXdsFor, isXdsTarget } from "./discovery.js";
import { markedAfterHeaders, replayAfterHeaders } from "./replay-after-headers.js";
import { retryabilityOf, serviceConfigFor, type RetrySettings } from "./retry-policy.js";
import { contractRegistry } from "../contracts/registry.js";
import type { ClientMetrics } from "../metrics/client-metrics.js";

export type UnaryCall<Req, Res> = (request: Req, options?: CallOptions) => Promise<Res>;
export type ServerStreamCall<Req, Res> = (request: Req, options?: CallOptions) => AsyncIterable<Res>;
export type ClientStreamCall<Req, Res> = (
  requests: AsyncIterable<Req> | Iterable<Req>,
  options?: CallOptions,
) => Promise<Res>;
export type BidiStreamCall<Req, Res> = (
  requests: AsyncIterable<Req> | Iterable<Req>,
  options?: CallOptions,
) => AsyncIterable<Res>;

export type MethodCall<M> =
  IsRequestStream<M> extends true
    ? IsResponseStream<M> extends true
      ? BidiStreamCall<RequestOf<M>, ResponseOf<M>>
      : ClientStreamCall<RequestOf<M>, ResponseOf<M>>
    : IsResponseStream<M> extends true
      ? ServerStreamCall<RequestOf<M>, ResponseOf<M>>
      : UnaryCall<RequestOf<M>, ResponseOf<M>>;

/**
 * A client with one promise- or iterator-based function per method; failures reject with GrpcError. Streaming
 * calls start when their result is first iterated; leaving the loop early cancels the call.
 */
export type ServiceClient<D extends AnyServiceDefinition> = { readonly [K in keyof D]: MethodCall<D[K]> } & {
  /** The underlying grpc-js client, for what this API does not cover. */
  readonly grpcClient: GrpcClient;
  close(): void;
};

export interface ClientOptions {
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** The name of the service called, for metric labels and messages (e.g. "payment"); the address by default. */
  name?: string;
  /**
   * pick_first (grpc-js's default) or round_robin over every address the target resolves to. Ignored for xDS
   * targets: the control plane chooses.
   */
  loadBalancing?: LoadBalancingPolicy;
  /**
   * Shortest time (ms) between two DNS lookups of a `dns:` target; DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS (1 s) when
   * not given, instead of grpc-js's 30 s, so a client finds the replicas a rolling restart started as soon as it
   * loses a connection to one it stopped.
   */
  dnsMinResolutionIntervalMs?: number;
  /** Deadline (ms) of unary and client-streaming calls that get none from their options or the call they serve. */
  defaultTimeoutMs?: number;
  /** The same for server- and bidi-streaming calls. */
  streamTimeoutMs?: number;
  /**
   * Retries (and hedging) of the methods their contracts say are safe to repeat, through the gRPC service config
   * (gRFC A6; see serviceConfigFor). None when not given. xDS targets take their retry policy from the control plane.
   */
  retry?: RetrySettings;
  /** A circuit breaker per method (see circuitBreakers); none when not given. */
  breaker?: BreakerSettings;
  /**
   * The calling service's client metrics (go-grpc-prometheus's grpc_client_* series, retries, breakers); none when
   * not given. connect() gives the service's own.
   */
  metrics?: ClientMetrics;
  /**
   * Client interceptors, outermost first, after the kit's own (request-id forwarding). They see the request, the
   * call's context (headers to send, deadline, signal) and the response or error — the same Interceptor type as on
   * servers.
   */
  interceptors?: readonly Interceptor[];
  /** Logger of calls made outside a server call (inside one, the server call's logger is used). */
  logger?: Logger;
  /**
   * Pass on the verified bearer token of the server call being handled (forwardTokenInterceptor). For clients of
   * Lattice services, which verify it again; connect() sets it. Off by default, so a token never reaches another
   * system by accident.
   */
  forwardToken?: boolean;
}

const SILENT = pino({ level: "silent" });

/**
 * A typed client for `definition` at `address` (any grpc-js target: "host:port", "dns:///name:port", "unix:…").
 *
 * A call made while a server call is being handled (inside a handler, or anything it started) inherits that call's
 * remaining deadline — the earlier of it and the call's own — and is cancelled when that call is, so deadlines and
 * cancellation propagate downstream without being passed by hand; its request id is forwarded in `x-request-id`.
 * While tracing is on, every call is a CLIENT span whose W3C trace context travels in the call's metadata.
 */
export function createClient<D extends AnyServiceDefinition>(
  definition: D,
  address: string,
  options: ClientOptions = {},
): ServiceClient<D> {
  enableCallScope();
  enableXdsFor(address);
  const infos = Object.values(definition).map((def) => methodInfo(def.path, def.requestStream, def.responseStream));
  const client = new GrpcClient(address, options.credentials ?? grpcCredentials.createInsecure(), {
    ...WITHOUT_CHANNELZ,
    // After a connection fails or a server says GOAWAY, look the name up again soon, not after grpc-js's 30 s:
    // after an outage the old addresses are gone, and a replica that drained has left the DNS records.
    "grpc.dns_min_time_between_resolutions_ms":
      options.dnsMinResolutionIntervalMs ?? DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS,
    ...serviceConfigOptions(address, infos, options),
    ...options.channelOptions,
  });
  const target = options.name ?? address;
  const breakers = options.breaker
    ? circuitBreakers(target, options.breaker, { metrics: options.metrics, logger: options.logger })
    : undefined;
  const interceptors = [
    forwardRequestIdInterceptor(),
    // After the request id (the span carries it), before the breaker (a call it refuses is a failed span too).
    ...(tracingEnabled() ? [clientTracingInterceptor(address)] : []),
    // Before the breaker: a call it refuses is a call the caller made, and failed.
    ...(options.metrics ? [clientMetricsInterceptor(options.metrics)] : []),
    ...(options.forwardToken ? [forwardTokenInterceptor()] : []),
    ...(breakers ? [breakers.interceptor] : []),
    ...(options.interceptors ?? []),
  ];
  const methods: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(definition)) {
    if (key === "close" || key === "grpcClient") throw new Error(`method name "${key}" clashes with the client API`);
    const method = methodInfo(def.path, def.requestStream, def.responseStream);
    const run = compose(interceptors, method, terminal(client, def, replayBackoffMs(address, method, options)));
    const start = (input: unknown, callOptions: CallOptions = {}) =>
      run(input, callContext(method, address, callOptions, options));
    methods[key] = method.responseStream
      ? (input: unknown, callOptions?: CallOptions) => lazyStream(() => start(input, callOptions))
      : start;
  }
  const close = () => {
    breakers?.shutdown();
    client.close();
  };
  return Object.assign(methods, { grpcClient: client, close }) as ServiceClient<D>;
}

/**
 * The service config the channel starts with: balancing and retries. Set even without retries when a policy is
 * given, and then the only one: TXT lookups for another are turned off. xDS targets get theirs from the control plane.
 */
function serviceConfigOptions(address: string, methods: readonly MethodInfo[], options: ClientOptions): ChannelOptions {
  if (isXdsTarget(address) || (!options.retry && !options.loadBalancing)) return {};
  const registry = options.retry ? contractRegistry() : undefined;
  const config = registry
    ? serviceConfigFor(methods, registry, options.retry, options.loadBalancing)
    : { loadBalancingConfig: [{ [options.loadBalancing!]: {} }] };
  return { "grpc.service_config": JSON.stringify(config), "grpc.service_config_disable_resolution": 1 };
}

/** The context of one client call, with the deadline, cancellation and logger it inherits from the call it serves. */
function callContext(method: MethodInfo, peer: string, call: CallOptions, client: ClientOptions): CallContext {
  const parent = currentCall();
  const own = call.deadline ?? (call.timeoutMs === undefined ? undefined : new Date(Date.now() + call.timeoutMs));
  let deadline = earliest(own, parent?.deadline);
  const fallback = method.responseStream ? client.streamTimeoutMs : client.defaultTimeoutMs;
  if (!deadline && fallback !== undefined) deadline = new Date(Date.now() + fallback);
  const parentSignal = parent?.signal;
  const signal =
    call.signal && parentSignal ? AbortSignal.any([call.signal, parentSignal]) : (call.signal ?? parentSignal);
  const log = client.logger ?? parent?.log ?? SILENT;
  return new ClientCallContext(method, peer, toMetadata(call.metadata), deadline, signal, log);
}

type Done = (error: ServiceError | null, response?: unknown) => void;

/**
 * The backoff before replaying a unary call that failed after its response headers (replayAfterHeaders), or
 * undefined where none is made: retries off, an xDS target (its control plane owns the retry policy), streams, and
 * methods that are not safe to send twice.
 */
function replayBackoffMs(address: string, method: MethodInfo, options: ClientOptions): number | undefined {
  const retry = options.retry;
  if (!retry || retry.maxAttempts <= 1 || isXdsTarget(address) || method.requestStream || method.responseStream)
    return undefined;
  return retryabilityOf(contractRegistry(), method) === "unsafe" ? undefined : retry.initialBackoffMs;
}

/**
 * The grpc-js call at the end of the chain, for each kind of method; unary calls safe to send again get one replay
 * when they fail after their response headers (`replayMs`: its backoff; see replayAfterHeaders).
 */
function terminal(client: GrpcClient, def: AnyMethodDefinition, replayMs?: number): Next {
  const { path, requestSerialize: serialize, responseDeserialize: deserialize } = def;
  const callOptions = (ctx: CallContext) => (ctx.deadline ? { deadline: ctx.deadline } : {});
  if (!def.requestStream && !def.responseStream) {
    const unary: Next = (request, ctx) =>
      answerOf(ctx, (done) =>
        client.makeUnaryRequest(path, serialize, deserialize, request, ctx.requestHeader, callOptions(ctx), done),
      );
    return replayMs === undefined ? unary : replayAfterHeaders(unary, replayMs);
  }
  if (!def.requestStream)
    return async (request, ctx) =>
      readAll(
        ctx,
        client.makeServerStreamRequest(path, serialize, deserialize, request, ctx.requestHeader, callOptions(ctx)),
      );
  if (!def.responseStream)
    return (requests, ctx) =>
      answerOf(ctx, (done) => {
        const call = client.makeClientStreamRequest(
          path,
          serialize,
          deserialize,
          ctx.requestHeader,
          callOptions(ctx),
          done,
        );
        writeAll(call, requests as AsyncIterable<unknown>);
        return call;
      });
  return async (requests, ctx) => {
    const call = client.makeBidiStreamRequest(path, serialize, deserialize, ctx.requestHeader, callOptions(ctx));
    writeAll(call, requests as AsyncIterable<unknown>);
    return readAll(ctx, call);
  };
}

interface MetadataEvents {
  on(event: "metadata", listener: (metadata: Metadata) => void): unknown;
  on(event: "status", listener: (status: StatusObject) => void): unknown;
}

/**
 * Copies the response headers and trailers into the call's context as they arrive. Returns whether the headers
 * have come (a call that fails after them may have been processed: see markedAfterHeaders).
 */
function recordMetadata(ctx: CallContext, call: MetadataEvents): () => boolean {
  let headers = false;
  call.on("metadata", (metadata) => {
    headers = true;
    ctx.responseHeader.merge(metadata);
  });
  call.on("status", (status) => ctx.responseTrailer.merge(status.metadata));
  return () => headers;
}

/** The single answer of a unary or client-streaming call; `start` makes the call with the callback it is given. */
function answerOf(ctx: CallContext, start: (done: Done) => { cancel(): void } & MetadataEvents): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    let headersCame = () => false;
    const call = start((error, response) => {
      stop();
      if (!error) resolve(response);
      else if (headersCame()) reject(markedAfterHeaders(GrpcError.fromServiceError(error)));
      else reject(GrpcError.fromServiceError(error));
    });
    headersCame = recordMetadata(ctx, call);
    if (ctx.signal !== NEVER_ABORTS) stop = cancelOnAbort(call, ctx.signal);
  });
}

/** Sends requests as fast as the server takes them, then half-closes; a failing source cancels the call. */
function writeAll(
  call: ClientWritableStream<unknown> | ClientDuplexStream<unknown, unknown>,
  requests: AsyncIterable<unknown> | Iterable<unknown>,
): void {
  void (async () => {
    try {
      for await (const request of requests) {
        if (call.destroyed) return;
        if (!call.write(request)) await once(call, "drain");
      }
      call.end();
    } catch {
      call.cancel();
    }
  })();
}

/** Yields responses; ends with GrpcError on a non-OK status; leaving the loop early cancels the call. */
async function* readAll(
  ctx: CallContext,
  call: ClientReadableStream<unknown> | ClientDuplexStream<unknown, unknown>,
): AsyncGenerator {
  recordMetadata(ctx, call);
  const stop = ctx.signal === NEVER_ABORTS ? () => {} : cancelOnAbort(call, ctx.signal);
  let complete = false;
  try {
    for await (const response of call) yield response;
    complete = true;
  } catch (error) {
    complete = true;
    throw isServiceError(error) ? GrpcError.fromServiceError(error) : error;
  } finally {
    stop();
    if (!complete) call.cancel();
  }
}

/** An AsyncIterable that starts the call on first iteration and yields what it streams. */
function lazyStream(start: () => Promise<unknown>): AsyncIterable<unknown> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* (await start()) as AsyncIterable<unknown>;
    },
  };
}
