import { Metadata } from "@grpc/grpc-js";
import { ContextValues } from "../context/context-values.js";
import { randomUUID } from "node:crypto";
import { REQUEST_ID_HEADER, usableRequestId } from "../context/request-id.js";
import type { Logger } from "../logger.js";
import { identityOfAuthContext, type AuthContextLike, type PeerIdentity } from "../security/peer-identity.js";
import type { CallContext } from "./call-context.js";
import type { MethodInfo } from "./method.js";

/** The parts of a grpc-js server call the context reads; all four call kinds have them. */
export interface RawServerCall {
  readonly metadata: Metadata;
  readonly cancelled: boolean;
  getPeer(): string;
  getDeadline(): Date | number;
  once(event: "cancelled", listener: () => void): unknown;
  /** grpc-js server calls have it; fakes in tests may leave it out (then there is no peer identity). */
  getAuthContext?(): AuthContextLike | null;
}

/**
 * CallContext over a grpc-js server call. Everything a call may never need (signal, child logger, values, response
 * metadata) is built on first use, so a chain that does not look at them costs nothing for them.
 */
export class ServerCallContext implements CallContext {
  readonly side = "server";
  private controller: AbortController | undefined;
  private childLog: Logger | undefined;
  private id: string | undefined;
  private valueMap: ContextValues | undefined;
  private header: Metadata | undefined;
  private trailer: Metadata | undefined;
  private finished = false;
  private identity: { value: PeerIdentity | undefined } | undefined;

  constructor(
    private readonly call: RawServerCall,
    readonly method: MethodInfo,
    /** Already bound to the method's service and name. */
    private readonly methodLog: Logger,
  ) {}

  get requestHeader(): Metadata {
    return this.call.metadata;
  }

  get responseHeader(): Metadata {
    this.header ??= new Metadata();
    return this.header;
  }

  get responseTrailer(): Metadata {
    this.trailer ??= new Metadata();
    return this.trailer;
  }

  /** Response headers set so far, or undefined when nobody set any (then there is nothing to merge or send). */
  get pendingHeader(): Metadata | undefined {
    return this.header;
  }

  get pendingTrailer(): Metadata | undefined {
    return this.trailer;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  // Read once per call, and only when asked for: the peer certificate is parsed on each read.
  get peerIdentity(): PeerIdentity | undefined {
    this.identity ??= { value: identityOfAuthContext(this.call.getAuthContext?.()) };
    return this.identity.value;
  }

  get deadline(): Date | undefined {
    const deadline = this.call.getDeadline();
    if (deadline === Infinity) return undefined;
    return deadline instanceof Date ? deadline : new Date(deadline);
  }

  /**
   * Called when the status is sent: from then on the call has ended normally. grpc-js reports every stream it closes
   * as cancelled, also after a status was sent, and that must not abort work the handler left running.
   */
  finish(): void {
    this.finished = true;
  }

  get cancelled(): boolean {
    return !this.finished && this.call.cancelled;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.cancelled) controller.abort();
      else if (!this.finished) this.call.once("cancelled", () => this.finished || controller.abort());
    }
    return this.controller.signal;
  }

  // Made on first use: most successful calls never log or call on, and then need no id at all.
  get requestId(): string {
    this.id ??= usableRequestId(this.call.metadata.get(REQUEST_ID_HEADER)[0]) ?? randomUUID();
    return this.id;
  }

  get log(): Logger {
    this.childLog ??= this.methodLog.child({ request_id: this.requestId });
    return this.childLog;
  }

  get values(): ContextValues {
    this.valueMap ??= new ContextValues();
    return this.valueMap;
  }
}
