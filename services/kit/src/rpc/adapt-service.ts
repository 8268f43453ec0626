import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { runInCall } from "../context/call-scope.js";
import { toGrpcError } from "../errors/to-grpc-error.js";
import { compose, type Interceptor, type Next } from "../interceptors/interceptor.js";
import type { Logger } from "../logger.js";
import { cancellationError, type CallContext } from "./call-context.js";
import type { AnyServiceDefinition } from "./definition.js";
import type { ServiceImplementation } from "./implementation.js";
import { methodInfo, type MethodInfo } from "./method.js";
import { ServerCallContext } from "./server-call-context.js";
import { Contract } from "../validation/contract.js";
import { UndecodableRequest } from "../validation/request-bytes.js";
import { undecodableError } from "../validation/request-validator.js";

export interface AdaptOptions {
  interceptors: readonly Interceptor[];
  logger: Logger;
}

type Writable = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type Readable = ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;
type AnyFunction = (input: unknown, ctx: CallContext) => unknown;

/**
 * Turns a ServiceImplementation into the handlers grpc-js calls. The interceptor chain is composed once per method
 * here; per call there is one context object, the chain, and the handler, run in the call's scope (currentCall).
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
  // One child logger per method, made here once; calls only add a request id when they carry one.
  const logger = options.logger.child({ "grpc.service": method.service, "grpc.method": method.name });
  const run = compose(options.interceptors, method, terminal(method, fn));
  switch (method.kind) {
    case "unary":
      return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const ctx = new ServerCallContext(call, method, logger);
        runInCall(ctx, () => answer(call, ctx, run(call.request, ctx), callback));
      };
    case "client_stream":
      return (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const ctx = new ServerCallContext(call, method, logger);
        runInCall(ctx, () => answer(call, ctx, run(requestsOf(call, ctx), ctx), callback));
      };
    case "server_stream":
      return (call: ServerWritableStream<unknown, unknown>) => {
        const ctx = new ServerCallContext(call, method, logger);
        runInCall(ctx, () => void stream(call, ctx, run(call.request, ctx)));
      };
    case "bidi_stream":
      return (call: ServerDuplexStream<unknown, unknown>) => {
        const ctx = new ServerCallContext(call, method, logger);
        runInCall(ctx, () => void stream(call, ctx, run(requestsOf(call, ctx), ctx)));
      };
  }
}

/**
 * The handler at the end of the chain. A call whose caller has gone did not succeed, even if the handler finished:
 * it ends CANCELLED or DEADLINE_EXCEEDED, and interceptors see that. A request the deserializer could not decode
 * (keepRequestBytes) never reaches the handler: when no validation interceptor answered it first, it is answered
 * here, INVALID_ARGUMENT naming the field where the contract describes the method.
 */
function terminal(method: MethodInfo, fn: AnyFunction): Next {
  const decoded = method.requestStream ? rejectingUndecodable(method) : rejectUndecodable(method);
  if (!method.responseStream) {
    return async (input, ctx) => {
      const response = await fn(decoded(input), ctx);
      if (ctx.cancelled) throw cancellationError(ctx);
      return response;
    };
  }
  return async (input, ctx) => untilCancelled(fn(decoded(input), ctx) as AsyncIterable<unknown>, ctx);
}

function rejectUndecodable(method: MethodInfo): (input: unknown) => unknown {
  return (input) => {
    if (input instanceof UndecodableRequest)
      throw undecodableError(input, Contract.lattice().requestSchema(method.path));
    return input;
  };
}

function rejectingUndecodable(method: MethodInfo): (input: unknown) => unknown {
  return (input) =>
    (async function* () {
      let position = 0;
      for await (const request of input as AsyncIterable<unknown>) {
        position++;
        if (request instanceof UndecodableRequest)
          throw undecodableError(request, Contract.lattice().requestSchema(method.path), position);
        yield request;
      }
    })();
}

async function* untilCancelled(responses: AsyncIterable<unknown>, ctx: CallContext): AsyncGenerator {
  for await (const response of responses) {
    if (ctx.cancelled) throw cancellationError(ctx);
    yield response;
  }
  if (ctx.cancelled) throw cancellationError(ctx);
}

/** Sends the single response of a unary or client-streaming call, with the headers and trailers set for it. */
function answer(
  call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
  ctx: ServerCallContext,
  result: Promise<unknown>,
  callback: sendUnaryData<unknown>,
): void {
  result.then(
    (response) => {
      if (ctx.pendingHeader) call.sendMetadata(ctx.pendingHeader);
      ctx.finish();
      callback(null, response, ctx.pendingTrailer);
    },
    (error: unknown) => {
      if (ctx.pendingHeader) call.sendMetadata(ctx.pendingHeader);
      const status = toGrpcError(error).toServiceError(ctx.pendingTrailer);
      ctx.finish();
      callback(status);
    },
  );
}

/**
 * Sends responses as the client takes them: when grpc-js's buffer is full (the client stopped reading and HTTP/2
 * flow control pushed back), the producer is not asked for the next message until the buffer drains. Ends the
 * call with OK and the trailers, or with the status of the error the stream ended in.
 */
async function stream(call: Writable, ctx: ServerCallContext, result: Promise<unknown>): Promise<void> {
  let headerSent = false;
  const sendHeader = () => {
    if (!headerSent && ctx.pendingHeader) call.sendMetadata(ctx.pendingHeader);
    headerSent = true;
  };
  try {
    for await (const response of (await result) as AsyncIterable<unknown>) {
      if (call.cancelled) throw cancellationError(ctx);
      sendHeader();
      if (!call.write(response)) await drained(call, ctx);
    }
    sendHeader();
    ctx.finish();
    call.end(ctx.pendingTrailer);
  } catch (error) {
    if (call.destroyed) return;
    sendHeader();
    const status = toGrpcError(error).toServiceError(ctx.pendingTrailer);
    ctx.finish();
    call.emit("error", status);
  }
}

/**
 * The client's messages. Leaving the loop must not destroy the call (Node's default for `for await` over a
 * stream): a bidi call still has to send its status afterwards. A client that cancels also ends the request
 * side, and grpc-js reports the cancellation a tick later; waiting for it keeps a handler from taking a cancelled
 * stream for a complete one.
 */
async function* requestsOf(call: Readable, ctx: CallContext): AsyncGenerator {
  yield* call.iterator({ destroyOnReturn: false });
  await new Promise((resolve) => setImmediate(resolve));
  if (call.cancelled) throw cancellationError(ctx);
}

/**
 * Resolves when grpc-js's buffer drains; rejects with the call's cancellation (CANCELLED or DEADLINE_EXCEEDED) when
 * the call ends first, e.g. at its deadline while the client does not read.
 */
function drained(call: Writable, ctx: ServerCallContext): Promise<void> {
  const signal = ctx.signal;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(cancellationError(ctx));
    const onDrain = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      call.off("drain", onDrain);
      reject(cancellationError(ctx));
    };
    call.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
