import { createRequire } from "node:module";
import { constants as http2, type ServerHttp2Stream } from "node:http2";
import { status as Status } from "@grpc/grpc-js";

/**
 * Three fixes to the grpc-js server (1.14), applied once at run time to its per-call class, because none can be
 * made from outside: they happen inside grpc-js, before any handler or server interceptor runs or below them. Each
 * replaces one method with the original's code plus the fix; `grpcJsPatches.originals` keeps the methods as shipped,
 * and a test fails when those no longer show the bugs (an upstream fix: drop the patch) or are gone (a refactor:
 * redo it).
 *
 * 1. handleTimeoutHeader computes the deadline as `(value * unit) | 0`, a 32-bit integer, and arms setTimeout with
 *    it, which caps at 2^31 − 1 ms: any grpc-timeout longer than about 24.8 days (e.g. "597H", or a client deadline
 *    30 days out) wraps negative or overflows and the call expires at once. Fixed: the deadline in full, and a
 *    timer that re-arms itself in steps of at most 2^31 − 1 ms.
 * 2. A message whose compressed flag is 1 on a call without a grpc-encoding (or with "identity") is read as if it
 *    were not compressed, and a flag other than 0 or 1 is taken for 0. The protocol says INTERNAL for both
 *    (grpc-go: "compressed flag set with identity or empty encoding", "unexpected payload format").
 * 3. When the deadline of a call that has sent its headers passes (a server stream), sendStatus ends the HTTP/2
 *    stream and waits for its 'wantTrailers' event, which Node emits only once every DATA frame written before is
 *    sent. Until then the call is not marked ended and the handler is not told. A client that does not read (or
 *    reads slowly) holds those frames back with HTTP/2 flow control, so the status never goes, the stream stays
 *    open and the handler waits on 'drain' for ever. A client that reads fast fares no better: the handler's next
 *    message is written after the end, the HTTP/2 stream errors (write after end), and an errored stream never
 *    emits 'wantTrailers' either. Fixed (in the timer of patch 1, the only place a deadline expires): after
 *    sendStatus, the call is marked ended at once, as a unary call is (its trailers-only answer goes at once), so
 *    nothing more is written and the handler is cancelled; and a stream still open TRAILERS_GRACE_MS later, its
 *    trailers stuck behind data the client does not take, is reset (RST_STREAM with CANCEL).
 */

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long the trailers of a stream whose deadline passed may wait behind the DATA frames queued before them. A
 * client that reads takes those (at most the flow-control window and a few messages) in milliseconds; one that does
 * not would hold the stream open for ever. Past this, the stream is reset.
 */
export const TRAILERS_GRACE_MS = 500;
const DEADLINE_PATTERN = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

interface StatusObject {
  code: Status;
  details: string;
  metadata: null;
}

/** The parts of grpc-js's BaseServerInterceptingCall the patches touch (private there, so not in its types). */
interface BaseCall {
  deadline: number;
  deadlineTimer: NodeJS.Timeout | null;
  readonly stream: ServerHttp2Stream;
  sendStatus(status: StatusObject): void;
  /** Marks the call ended (later writes and statuses are dropped) and tells the handler it was cancelled. */
  notifyOnCancel(): void;
  handleTimeoutHeader: (this: BaseCall, header: string | Buffer) => void;
  decompressMessage: (this: BaseCall, message: Buffer, encoding: string) => Buffer | Promise<Buffer>;
}

interface Originals {
  readonly handleTimeoutHeader: BaseCall["handleTimeoutHeader"];
  readonly decompressMessage: BaseCall["decompressMessage"];
}

export const grpcJsPatches: { applied: boolean; originals: Originals | undefined } = {
  applied: false,
  originals: undefined,
};

/** Applies the patches to the loaded @grpc/grpc-js, once; later calls do nothing. */
export function applyGrpcJsPatches(): void {
  if (grpcJsPatches.applied) return;
  const require = createRequire(import.meta.url);
  const serverCalls = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall?: { prototype: BaseCall };
  };
  const prototype = serverCalls.BaseServerInterceptingCall?.prototype;
  if (
    typeof prototype?.handleTimeoutHeader !== "function" ||
    typeof prototype.decompressMessage !== "function" ||
    typeof prototype.notifyOnCancel !== "function"
  )
    throw new Error("@grpc/grpc-js changed: the kit's patches (rpc/grpc-js-patches.ts) need redoing");
  const originals: Originals = {
    handleTimeoutHeader: prototype.handleTimeoutHeader,
    decompressMessage: prototype.decompressMessage,
  };
  prototype.handleTimeoutHeader = handleTimeoutHeader;
  prototype.decompressMessage = function (this: BaseCall, message: Buffer, encoding: string) {
    const flag = message.readUInt8(0);
    // grpc-js sends what decompressMessage rejects with as the call's status: a status object, not an Error.
    /* eslint-disable @typescript-eslint/prefer-promise-reject-errors */
    if (flag > 1) return Promise.reject(internal(`grpc: received unexpected payload format ${flag}`));
    if (flag === 1 && encoding === "identity")
      return Promise.reject(internal("grpc: compressed flag set with identity or empty encoding"));
    /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
    return originals.decompressMessage.call(this, message, encoding);
  };
  grpcJsPatches.originals = originals;
  grpcJsPatches.applied = true;
}

/**
 * grpc-js's handleTimeoutHeader without the 32-bit wrap (same parsing, same answer to a malformed value), whose
 * expiry ends the stream whatever the client reads (patch 3).
 */
function handleTimeoutHeader(this: BaseCall, header: string | Buffer): void {
  const match = DEADLINE_PATTERN.exec(header.toString());
  if (match === null) {
    const status = internal(`Invalid grpc-timeout value "${header.toString().slice(0, 32)}"`);
    // As grpc-js: wait for the constructor to complete before sending the error.
    process.nextTick(() => this.sendStatus(status));
    return;
  }
  const timeoutMs = Number(match[1]) * UNIT_MS[match[2]!]!;
  this.deadline = Date.now() + timeoutMs;
  const expire = () => {
    this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: null });
    endAfterDeadline(this);
  };
  // grpc-js clears `deadlineTimer` when the call ends, so each step stores the timer it arms there.
  const arm = () => {
    const left = this.deadline - Date.now();
    this.deadlineTimer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(expire, Math.max(0, left));
  };
  arm();
}

/**
 * After the deadline's status was handed to the stream: the call ends now (grpc-js would wait for the trailers to be
 * sent), and the stream is reset if its trailers have not gone out within TRAILERS_GRACE_MS.
 */
function endAfterDeadline(call: BaseCall): void {
  call.notifyOnCancel(); // does nothing when the status already ended the call (a trailers-only answer)
  const stream = call.stream;
  if (stream.closed || stream.destroyed) return;
  const reset = setTimeout(() => {
    if (!stream.closed && !stream.destroyed) stream.close(http2.NGHTTP2_CANCEL);
  }, TRAILERS_GRACE_MS);
  reset.unref();
  stream.once("close", () => clearTimeout(reset));
}

function internal(details: string): StatusObject {
  return { code: Status.INTERNAL, details, metadata: null };
}
