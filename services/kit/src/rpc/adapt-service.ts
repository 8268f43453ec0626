import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { toGrpcError } from "../errors/to-grpc-error.js";
import { compose, type Interceptor } from "../interceptors/interceptor.js";
import type { Logger } from "../logger.js";
import { cancellationError, type CallContext } from "./call-context.js";
import type { AnyServiceDefinition } from "./definition.js";
import type { ServiceImplementation } from "./implementation.js";
import { methodInfo, type MethodInfo } from "./method.js";
import { ServerCallContext } from "./server-call-context.js";

export interface AdaptOptions {
  interceptors: readonly Interceptor[];
  logger: Logger;
}

type Writable = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type Stream = Writable | ServerReadableStream<unknown, unknown>;
type AnyFunction = (input: unknown, ctx: CallContext) => unknown;

/**
 * Turns a ServiceImplementation into the handlers grpc-js calls. The interceptor chain is composed once per
 * method here; per call there is one context object and the chain itself.
 */
export function adaptService<D extends AnyServiceDefinition>(
  definition: D,
  implementation: ServiceImplementation<D>,
  options: AdaptOptions,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const [key, def] of Object.entries(definition)) {
    const fn = (implementation as Record<string, AnyFunction | undefined>)[key];
    if (typeof fn !== "function") throw new Error(`${def.path} has no implementation (expected "${key}")`);
    const method = methodInfo(def.path, def.requestStream, def.responseStream);
    handlers[key] = adaptMethod(method, fn.bind(implementation), options);
  }
  return handlers;
}

function adaptMethod(method: MethodInfo, fn: AnyFunction, options: AdaptOptions): UntypedHandleCall {
  const { interceptors } = options;
  // One child logger per method, made here once; calls only add a request id when they carry one.
  const logger = options.logger.child({ "grpc.service": method.service, "grpc.method": method.name });
  switch (method.kind) {
    case "unary": {
      const run = compose(interceptors, method, async (ctx) => unlessCancelled(ctx, await fn(ctx.request, ctx)));
      return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const ctx = new ServerCallContext(call, method, logger, call.request);
        run(ctx).then(
          (response) => callback(null, response),
          (error: unknown) => callback(toGrpcError(error).toServiceError()),
        );
      };
    }
    case "client_stream": {
      const run = compose(interceptors, method, async (ctx) => unlessCancelled(ctx, await fn(requestsOf(ctx), ctx)));
      return (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        run(withStream(call, method, logger)).then(
          (response) => callback(null, response),
          (error: unknown) => callback(toGrpcError(error).toServiceError()),
        );
      };
    }
    case "server_stream": {
      const run = compose(interceptors, method, async (ctx) =>
        writeAll(streamOf(ctx) as Writable, fn(ctx.request, ctx), ctx),
      );
      return (call: ServerWritableStream<unknown, unknown>) => finish(call, run(withStream(call, method, logger)));
    }
    case "bidi_stream": {
      const run = compose(interceptors, method, async (ctx) =>
        writeAll(streamOf(ctx) as Writable, fn(requestsOf(ctx), ctx), ctx),
      );
      return (call: ServerDuplexStream<unknown, unknown>) => finish(call, run(withStream(call, method, logger)));
    }
  }
}

// Streaming terminals need the grpc-js stream; it travels on the context under a private key, so the chain can be
// composed once per method instead of once per call.
const STREAM = Symbol("lattice.stream");

function withStream(call: Stream, method: MethodInfo, logger: Logger): ServerCallContext {
  const request = "request" in call ? call.request : undefined;
  const ctx = new ServerCallContext(call, method, logger, request);
  ctx.values.set(STREAM, call);
  return ctx;
}

function streamOf(ctx: CallContext): Stream {
  return ctx.values.get(STREAM) as Stream;
}

/**
 * The client's messages. Leaving the loop must not destroy the call (Node's default for `for await` over a
 * stream): a bidi call still has to send its status afterwards. A client that cancels also ends the request
 * side, and grpc-js reports the cancellation a tick later; waiting for it keeps a handler from taking a cancelled
 * stream for a complete one.
 */
async function* requestsOf(ctx: CallContext): AsyncGenerator {
  const stream = ctx.values.get(STREAM) as
    ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
  yield* stream.iterator({ destroyOnReturn: false });
  await new Promise((resolve) => setImmediate(resolve));
  if (stream.cancelled) throw cancellationError(ctx);
}

/** Ends the stream with OK, or with the status of the error the chain ended in. */
function finish(call: Writable, done: Promise<unknown>): void {
  done.then(
    () => call.end(),
    (error: unknown) => {
      if (!call.destroyed) call.emit("error", toGrpcError(error).toServiceError());
    },
  );
}

/**
 * Sends responses as the client takes them: when grpc-js's buffer is full (the client stopped reading and HTTP/2
 * flow control pushed back), the producer is not asked for the next message until the buffer drains.
 */
async function writeAll(call: Writable, responses: unknown, ctx: CallContext): Promise<void> {
  for await (const response of responses as AsyncIterable<unknown>) {
    if (call.cancelled) throw cancellationError(ctx);
    if (!call.write(response)) await drained(call, ctx.signal);
  }
  unlessCancelled(ctx, undefined);
}

/** A call whose caller has gone did not succeed, even if the handler finished: it ends CANCELLED or DEADLINE_EXCEEDED. */
function unlessCancelled<T>(ctx: CallContext, result: T): T {
  if (ctx.cancelled) throw cancellationError(ctx);
  return result;
}

function drained(call: Writable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("call ended while waiting for the client to read"));
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      call.off("drain", onDrain);
      reject(new Error("call ended while waiting for the client to read"));
    };
    call.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
