import { Metadata } from "@grpc/grpc-js";
import { ContextValues } from "../context/context-values.js";
import { REQUEST_ID_HEADER } from "../context/request-id.js";
import type { Logger } from "../logger.js";
import type { CallContext } from "../rpc/call-context.js";
import type { MethodInfo } from "../rpc/method.js";

/** The signal of a call nothing can cancel (shared: it never aborts, so nothing ever needs to listen to it). */
export const NEVER_ABORTS: AbortSignal = new AbortController().signal;

/** CallContext of a call a Lattice client makes; values and response metadata are built on first use. */
export class ClientCallContext implements CallContext {
  readonly side = "client";
  private valueMap: ContextValues | undefined;
  private header: Metadata | undefined;
  private trailer: Metadata | undefined;

  constructor(
    readonly method: MethodInfo,
    /** The target dialed. */
    readonly peer: string,
    readonly requestHeader: Metadata,
    readonly deadline: Date | undefined,
    /** Undefined when nothing can cancel the call. */
    private readonly cancelSignal: AbortSignal | undefined,
    readonly log: Logger,
  ) {}

  /** Not known on the client side. */
  readonly peerIdentity = undefined;

  get signal(): AbortSignal {
    return this.cancelSignal ?? NEVER_ABORTS;
  }

  get requestId(): string {
    const sent = this.requestHeader.get(REQUEST_ID_HEADER)[0];
    return typeof sent === "string" ? sent : "";
  }

  get cancelled(): boolean {
    return this.cancelSignal?.aborted ?? false;
  }

  get responseHeader(): Metadata {
    this.header ??= new Metadata();
    return this.header;
  }

  get responseTrailer(): Metadata {
    this.trailer ??= new Metadata();
    return this.trailer;
  }

  get values(): ContextValues {
    this.valueMap ??= new ContextValues();
    return this.valueMap;
  }
}
