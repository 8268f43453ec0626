import { createRequire } from "node:module";
import { status as Status } from "@grpc/grpc-js";

/**
 * Two fixes to the grpc-js server (1.14), applied once at run time to its per-call class, because neither can be
 * made from outside: both happen inside grpc-js before any handler or server interceptor runs. Each replaces one
 * method with the original's code plus the fix; `grpcJsPatches.originals` keeps the methods as shipped, and a test
 * fails when those no longer show the bugs (an upstream fix: drop the patch) or are gone (a refactor: redo it).
 *
 * 1. handleTimeoutHeader computes the deadline as `(value * unit) | 0`, a 32-bit integer, and arms setTimeout with
 *    it, which caps at 2^31 − 1 ms: any grpc-timeout longer than about 24.8 days (e.g. "597H", or a client deadline
 *    30 days out) wraps negative or overflows and the call expires at once. Fixed: the deadline in full, and a
 *    timer that re-arms itself in steps of at most 2^31 − 1 ms.
 * 2. A message whose compressed flag is 1 on a call without a grpc-encoding (or with "identity") is read as if it
 *    were not compressed, and a flag other than 0 or 1 is taken for 0. The protocol says INTERNAL for both
 *    (grpc-go: "compressed flag set with identity or empty encoding", "unexpected payload format").
 */

const MAX_TIMER_MS = 2 ** 31 - 1;
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
  sendStatus(status: StatusObject): void;
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

/** Applies both patches to the loaded @grpc/grpc-js, once; later calls do nothing. */
export function applyGrpcJsPatches(): void {
  if (grpcJsPatches.applied) return;
  const require = createRequire(import.meta.url);
  const serverCalls = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall?: { prototype: BaseCall };
  };
  const prototype = serverCalls.BaseServerInterceptingCall?.prototype;
  if (typeof prototype?.handleTimeoutHeader !== "function" || typeof prototype.decompressMessage !== "function")
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

/** grpc-js's handleTimeoutHeader without the 32-bit wrap (same parsing, same answer to a malformed value). */
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
  const expire = () =>
    this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: null });
  // grpc-js clears `deadlineTimer` when the call ends, so each step stores the timer it arms there.
  const arm = () => {
    const left = this.deadline - Date.now();
    this.deadlineTimer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(expire, Math.max(0, left));
  };
  arm();
}

function internal(details: string): StatusObject {
  return { code: Status.INTERNAL, details, metadata: null };
}
