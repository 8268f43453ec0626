import { once } from "node:events";
import {
  Client as GrpcClient,
  credentials as grpcCredentials,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientWritableStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { GrpcError, isServiceError } from "../errors/grpc-error.js";
import type {
  AnyMethodDefinition,
  AnyServiceDefinition,
  IsRequestStream,
  IsResponseStream,
  RequestOf,
  ResponseOf,
} from "../rpc/definition.js";
import { cancelOnAbort, toGrpcCallOptions, toMetadata, type CallOptions } from "./call-options.js";
import { loadBalancingOptions, type LoadBalancingPolicy } from "./load-balancing.js";

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

/** A client with one promise- or iterator-based function per method; failures reject with GrpcError. */
export type ServiceClient<D extends AnyServiceDefinition> = { readonly [K in keyof D]: MethodCall<D[K]> } & {
  /** The underlying grpc-js client, for what this API does not cover. */
  readonly grpcClient: GrpcClient;
  close(): void;
};

export interface ClientOptions {
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** pick_first (grpc-js's default) or round_robin over every address the target resolves to. */
  loadBalancing?: LoadBalancingPolicy;
  /** Deadline for calls that set none; unlimited by default. */
  defaultTimeoutMs?: number;
}

export function createClient<D extends AnyServiceDefinition>(
  definition: D,
  address: string,
  options: ClientOptions = {},
): ServiceClient<D> {
  const client = new GrpcClient(address, options.credentials ?? grpcCredentials.createInsecure(), {
    ...(options.loadBalancing ? loadBalancingOptions(options.loadBalancing) : {}),
    ...options.channelOptions,
  });
  const methods: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(definition)) {
    if (key === "close" || key === "grpcClient") throw new Error(`method name "${key}" clashes with the client API`);
    methods[key] = callFor(client, def, options.defaultTimeoutMs);
  }
  return Object.assign(methods, { grpcClient: client, close: () => client.close() }) as ServiceClient<D>;
}

function callFor(client: GrpcClient, def: AnyMethodDefinition, defaultTimeoutMs: number | undefined): unknown {
  const { path, requestSerialize: serialize, responseDeserialize: deserialize } = def;
  const prepare = (options: CallOptions = {}) =>
    [toMetadata(options.metadata), toGrpcCallOptions(options, defaultTimeoutMs)] as const;

  if (!def.requestStream && !def.responseStream) {
    return (request: unknown, options?: CallOptions) =>
      answerOf(options?.signal, (done) =>
        client.makeUnaryRequest(path, serialize, deserialize, request, ...prepare(options), done),
      );
  }
  if (!def.requestStream) {
    return (request: unknown, options?: CallOptions) => {
      const call = client.makeServerStreamRequest(path, serialize, deserialize, request, ...prepare(options));
      return readAll(call, options?.signal);
    };
  }
  if (!def.responseStream) {
    return (requests: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions) =>
      answerOf(options?.signal, (done) => {
        const call = client.makeClientStreamRequest(path, serialize, deserialize, ...prepare(options), done);
        writeAll(call, requests);
        return call;
      });
  }
  return (requests: AsyncIterable<unknown> | Iterable<unknown>, options?: CallOptions) => {
    const call = client.makeBidiStreamRequest(path, serialize, deserialize, ...prepare(options));
    writeAll(call, requests);
    return readAll(call, options?.signal);
  };
}

/** The single answer of a unary or client-streaming call; `start` makes the call with the callback it is given. */
function answerOf(
  signal: AbortSignal | undefined,
  start: (done: (error: ServiceError | null, response?: unknown) => void) => { cancel(): void },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const call = start((error, response) => {
      stop();
      if (error) reject(GrpcError.fromServiceError(error));
      else resolve(response);
    });
    stop = cancelOnAbort(call, signal);
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
async function* readAll<T>(
  call: AsyncIterable<T> & { cancel(): void },
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  const stop = cancelOnAbort(call, signal);
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
