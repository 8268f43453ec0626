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
 * Where a request message decoded through a wrapped definition keeps its bytes: a property of its own that is not
 * enumerable, so copies, spreads, JSON and deep comparisons do not see it, and the bytes go with the message. (A
 * WeakMap did the same at about twice the cost per request: an identity hash for every message and an ephemeron
 * table the garbage collector has to clear.)
 */
const REQUEST_BYTES = Symbol("lattice.requestBytes");

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
  return typeof message === "object" && message !== null
    ? (message as { readonly [REQUEST_BYTES]?: Uint8Array })[REQUEST_BYTES]
    : undefined;
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
        if (typeof message === "object" && message !== null)
          Object.defineProperty(message, REQUEST_BYTES, { value: bytes });
        return message;
      },
    };
  }
  return wrapped as D;
}
