import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import type { CallContext } from "./call-context.js";
import type { MethodInfo } from "./method.js";

/** The parts of a grpc-js server call the context reads; all four call kinds have them. */
export interface RawServerCall {
  readonly metadata: Metadata;
  readonly cancelled: boolean;
  getPeer(): string;
  getDeadline(): Date | number;
  once(event: "cancelled", listener: () => void): unknown;
}

/**
 * CallContext over a grpc-js call. Everything a call may never need (signal, child logger, deadline) is built on
 * first use, so an interceptor chain that does not look at them costs nothing for them.
 */
export class ServerCallContext implements CallContext {
  private controller: AbortController | undefined;
  private childLog: Logger | undefined;
  private valueMap: Map<symbol, unknown> | undefined;

  constructor(
    private readonly call: RawServerCall,
    readonly method: MethodInfo,
    /** Already bound to the method's service and name. */
    private readonly methodLog: Logger,
    readonly request: unknown,
  ) {}

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  get deadline(): Date | undefined {
    const deadline = this.call.getDeadline();
    if (deadline === Infinity) return undefined;
    return deadline instanceof Date ? deadline : new Date(deadline);
  }

  get cancelled(): boolean {
    return this.call.cancelled;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.call.cancelled) controller.abort();
      else this.call.once("cancelled", () => controller.abort());
    }
    return this.controller.signal;
  }

  get log(): Logger {
    if (!this.childLog) {
      const requestId = this.call.metadata.get("x-request-id")[0];
      this.childLog = typeof requestId === "string" ? this.methodLog.child({ request_id: requestId }) : this.methodLog;
    }
    return this.childLog;
  }

  get values(): Map<symbol, unknown> {
    this.valueMap ??= new Map();
    return this.valueMap;
  }
}
