import type { AnyMethodDefinition, AnyServiceDefinition } from "../rpc/definition.js";

/**
 * The hook where requests are deserialized. grpc-js calls a definition's requestDeserialize (ts-proto's decode)
 * once per request message; the kit wraps it so that
 *
 * - the bytes of every decoded message are kept beside it (requestBytes), for the validator, which decodes them a
 *   second time with the contract's descriptors (a ts-proto message no longer says what was on the wire: invalid
 *   UTF-8 has been replaced by U+FFFD, unknown fields dropped);
 * - bytes the generated decoder cannot decode (an int64 beyond 2^53, a truncated field, groups nested past the
 *   recursion limit) become an UndecodableRequest value instead of an exception, which grpc-js would answer with
 *   INTERNAL "Error deserializing request" before any of the kit's code runs. The chain answers that value with
 *   INVALID_ARGUMENT naming the field (validation interceptor, or the adapter when validation is not applied).
 */

/**
 * Where a request message decoded through a wrapped definition keeps its bytes: a private field stamped onto it
 * (a base class whose constructor returns the object it is given lets a subclass add its private field to any
 * object). Like a non-enumerable property, it is invisible to copies, spreads, JSON, deep comparisons and
 * inspection, and the bytes go with the message; unlike Object.defineProperty, which V8 runs in its runtime at
 * about 110 ns a call, it is an ordinary property addition of a few nanoseconds. (A WeakMap costs more still: an
 * identity hash for every message and an ephemeron table the garbage collector has to clear.)
 */
// eslint-disable-next-line @typescript-eslint/no-extraneous-class -- the constructor's returned object is the point
class Stamp {
  constructor(target: object) {
    return target;
  }
}

class KeptBytes extends Stamp {
  #bytes: Uint8Array;

  private constructor(message: object, bytes: Uint8Array) {
    super(message);
    this.#bytes = bytes;
  }

  static keep(message: object, bytes: Uint8Array): void {
    new KeptBytes(message, bytes);
  }

  static of(message: object): Uint8Array | undefined {
    return #bytes in message ? message.#bytes : undefined;
  }
}

/** A request message the generated decoder refused: its bytes and why. Never reaches a handler. */
export class UndecodableRequest {
  constructor(
    /** The message's bytes as received (after decompression). */
    readonly bytes: Uint8Array,
    /** What the generated decoder threw. */
    readonly cause: unknown,
  ) {}
}

/** The wire bytes `message` was decoded from, when it came through keepRequestBytes. */
export function requestBytes(message: unknown): Uint8Array | undefined {
  return typeof message === "object" && message !== null ? KeptBytes.of(message) : undefined;
}

/**
 * A copy of `definition` whose request deserializers keep each message's bytes and never throw (see above). Hand
 * it to grpc-js's addService in place of the generated definition; responses and clients are unaffected.
 */
export function keepRequestBytes<D extends AnyServiceDefinition>(definition: D): D {
  const wrapped: Record<string, AnyMethodDefinition> = {};
  for (const [key, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize.bind(method) as (bytes: Buffer) => unknown;
    wrapped[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        let message: unknown;
        try {
          message = decode(bytes);
        } catch (error) {
          // RangeError included: a decoder that recursed too deep is still the caller's bad bytes.
          return new UndecodableRequest(bytes, error);
        }
        if (typeof message === "object" && message !== null) KeptBytes.keep(message, bytes);
        return message;
      },
    };
  }
  return wrapped as D;
}
