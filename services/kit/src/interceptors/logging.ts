import type { Level } from "pino";
import type { Logger } from "../logger.js";
import { Status, codeName } from "../errors/status-codes.js";
import { boundText, MAX_MESSAGE_BYTES } from "../errors/bounds.js";
import { statusOf } from "../errors/status-of.js";
import type { Interceptor } from "./interceptor.js";
import { whenFinished } from "./outcome.js";

export type CallLogLevel = Level | "off";

export interface LoggingOptions {
  /**
   * The server's logger, whose level decides whether a line is written at all — asked before the call's own logger
   * is made (that one carries the request id, which would otherwise be made for every call).
   */
  logger?: Logger;
  /**
   * Level of the line for a call that ends OK; "off" logs only failures. debug by default, as the platform's
   * LOG_CALLS: a line per successful call costs about a fifth of a small unary call's throughput.
   */
  successLevel?: CallLogLevel;
  /** Level per failure code; go-grpc-middleware's server defaults unless overridden. */
  levelForCode?: (code: Status) => Level;
}

/** go-grpc-middleware's DefaultServerCodeToLevel: client mistakes are info, server trouble warn or error. */
export function defaultLevelForCode(code: Status): Level {
  switch (code) {
    case Status.OK:
    case Status.CANCELLED:
    case Status.INVALID_ARGUMENT:
    case Status.NOT_FOUND:
    case Status.ALREADY_EXISTS:
    case Status.UNAUTHENTICATED:
      return "info";
    case Status.DEADLINE_EXCEEDED:
    case Status.PERMISSION_DENIED:
    case Status.RESOURCE_EXHAUSTED:
    case Status.FAILED_PRECONDITION:
    case Status.ABORTED:
    case Status.OUT_OF_RANGE:
    case Status.UNAVAILABLE:
      return "warn";
    default:
      return "error";
  }
}

/** One "finished call" line per call, when it ends, with its code and duration, at a level chosen by the code. */
export function loggingInterceptor(options: LoggingOptions = {}): Interceptor {
  const successLevel = options.successLevel ?? "debug";
  const levelForCode = options.levelForCode ?? defaultLevelForCode;
  return (next, method) => (input, ctx) => {
    const start = performance.now();
    return whenFinished(method, ctx, next(input, ctx), (error) => {
      const code = error === undefined ? Status.OK : statusOf(error);
      const level = code === Status.OK ? successLevel : levelForCode(code);
      if (level === "off" || !(options.logger ?? ctx.log).isLevelEnabled(level)) return;
      const fields: Record<string, unknown> = {
        "grpc.method_type": method.kind,
        "grpc.code": codeName(code),
        "grpc.time_ms": Math.round((performance.now() - start) * 1000) / 1000,
        peer: ctx.peer,
      };
      // Bounded as on the wire: a message may quote a huge request field.
      if (error instanceof Error) fields["grpc.error"] = boundText(error.message, MAX_MESSAGE_BYTES);
      ctx.log[level](fields, "finished call");
    });
  };
}
