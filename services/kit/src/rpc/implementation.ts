import type { CallContext } from "./call-context.js";
import type { AnyServiceDefinition, IsRequestStream, IsResponseStream, RequestOf, ResponseOf } from "./definition.js";

/** One request in, one response out. */
export type UnaryMethod<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res> | Res;
/** One request in, responses out as they are produced; the next one is pulled only when the client can take it. */
export type ServerStreamMethod<Req, Res> = (request: Req, ctx: CallContext) => AsyncIterable<Res> | Iterable<Res>;
/** Requests in until the client half-closes, one response out. */
export type ClientStreamMethod<Req, Res> = (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res> | Res;
/** Requests in and responses out, independently. */
export type BidiStreamMethod<Req, Res> = (
  requests: AsyncIterable<Req>,
  ctx: CallContext,
) => AsyncIterable<Res> | Iterable<Res>;

export type MethodImplementation<M> =
  IsRequestStream<M> extends true
    ? IsResponseStream<M> extends true
      ? BidiStreamMethod<RequestOf<M>, ResponseOf<M>>
      : ClientStreamMethod<RequestOf<M>, ResponseOf<M>>
    : IsResponseStream<M> extends true
      ? ServerStreamMethod<RequestOf<M>, ResponseOf<M>>
      : UnaryMethod<RequestOf<M>, ResponseOf<M>>;

/**
 * A service written against a generated definition: every method is a plain async function (or async generator
 * for streamed responses) typed from the contract. No grpc-js call objects, callbacks or stream events.
 */
export type ServiceImplementation<D extends AnyServiceDefinition> = {
  readonly [K in keyof D]: MethodImplementation<D[K]>;
};
