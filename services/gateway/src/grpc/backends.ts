import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { MethodDefinition } from "@grpc/grpc-js";
import type { CallContext, CallOptions, Interceptor, ServiceClient } from "@lattice/kit";

/** A method that forwards protobuf bytes as they are: the gateway decodes and encodes JSON itself, once. */
export type ByteMethodDefinition = MethodDefinition<Buffer, Buffer>;
export type ByteServiceDefinition = Readonly<Record<string, ByteMethodDefinition>>;

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * A grpc-js service definition of `service` whose messages are raw protobuf bytes, keyed by method name, so a
 * Lattice client (connect) calls it with the kit's deadlines, retries and breakers without decoding anything.
 */
export function byteDefinition(service: DescService): ByteServiceDefinition {
  const definition: Record<string, ByteMethodDefinition> = {};
  for (const method of service.methods)
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  return definition;
}

/**
 * The declared peer that owns a gRPC service, by the contracts' naming rule: `lattice.<package>.v<N>.<Service>` is
 * served by the service named <package> (snake_case as kebab-case: lattice.shipping_quote.v1 → shipping-quote), the
 * rule `npm run new-service` follows. Undefined for a service outside that scheme or not among `calls`.
 */
export function ownerOf(serviceTypeName: string, calls: readonly string[]): string | undefined {
  const match = /^lattice\.([a-z][a-z0-9_]*)\.v\d+\w*\.[A-Z]\w*$/.exec(serviceTypeName);
  const peer = match?.[1]?.replaceAll("_", "-");
  return peer !== undefined && calls.includes(peer) ? peer : undefined;
}

/** The call a backend answered, for the response metadata it carried. */
export type ObservedCall = Pick<CallContext, "responseHeader" | "responseTrailer">;

/**
 * Lets the gateway see the response headers and trailers of the calls it forwards. Installed as the innermost
 * client interceptor, it hands the context the grpc-js call fills in to whoever registered the request's bytes
 * (each request is its own Buffer, so the bytes identify the call).
 */
export class CallObserver {
  private readonly observers = new WeakMap<object, (call: ObservedCall) => void>();

  readonly interceptor: Interceptor = (next) => (input, ctx) => {
    if (typeof input === "object" && input !== null) {
      const observe = this.observers.get(input);
      if (observe) {
        // Read now, on this very context, so the metadata grpc-js records lands in the objects read later.
        observe({ responseHeader: ctx.responseHeader, responseTrailer: ctx.responseTrailer });
      }
    }
    return next(input, ctx);
  };

  /** Calls `observe` with the call `request` starts, when it starts. */
  watch(request: Buffer, observe: (call: ObservedCall) => void): void {
    this.observers.set(request, observe);
  }
}

/** Makes the byte-forwarding client of one service (in the gateway: SetupContext.connect to the owning peer). */
export type ClientFactory = (
  service: DescService,
  definition: ByteServiceDefinition,
  interceptors: readonly Interceptor[],
) => ServiceClient<ByteServiceDefinition>;

type UnaryByteCall = (request: Buffer, options?: CallOptions) => Promise<Buffer>;
type StreamByteCall = (request: Buffer, options?: CallOptions) => AsyncIterable<Buffer>;

/** What a forwarded call returns: the response (or responses) and the call, for its metadata. */
export interface Forwarded<T> {
  readonly result: T;
  /** Filled once the call has started; empty metadata before. */
  readonly call: () => ObservedCall | undefined;
}

/** The clients of every routed service, and forwarding of unary and server-streaming calls as bytes. */
export class Backends {
  private readonly clients = new Map<string, ServiceClient<ByteServiceDefinition>>();
  private readonly observer = new CallObserver();

  constructor(services: readonly DescService[], factory: ClientFactory) {
    for (const service of services)
      this.clients.set(service.typeName, factory(service, byteDefinition(service), [this.observer.interceptor]));
  }

  /** True when `method`'s service has a client here. */
  serves(method: DescMethod): boolean {
    return this.clients.has(method.parent.typeName);
  }

  /** Forwards a unary call; rejects with the kit's GrpcError as the backend (or the client) ended it. */
  unary(method: DescMethod, request: Buffer, options: CallOptions): Forwarded<Promise<Buffer>> {
    let observed: ObservedCall | undefined;
    this.observer.watch(request, (call) => (observed = call));
    const call = this.method(method) as UnaryByteCall;
    return { result: call(request, options), call: () => observed };
  }

  /** Forwards a server-streaming call; the stream ends with the call's GrpcError when it fails. */
  serverStream(method: DescMethod, request: Buffer, options: CallOptions): Forwarded<AsyncIterable<Buffer>> {
    let observed: ObservedCall | undefined;
    this.observer.watch(request, (call) => (observed = call));
    const call = this.method(method) as StreamByteCall;
    return { result: call(request, options), call: () => observed };
  }

  private method(method: DescMethod): unknown {
    const client = this.clients.get(method.parent.typeName);
    if (!client) throw new Error(`no client for ${method.parent.typeName}`);
    return (client as unknown as Record<string, unknown>)[method.name];
  }
}
