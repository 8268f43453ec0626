import { Metadata, type CallOptions as GrpcCallOptions } from "@grpc/grpc-js";

export interface CallOptions {
  /** Give up after this long; becomes the grpc-timeout the server sees. */
  timeoutMs?: number;
  /** Absolute deadline; wins over timeoutMs. */
  deadline?: Date;
  /** Cancels the call (the server sees CANCELLED) when aborted. */
  signal?: AbortSignal;
  /** Request headers. */
  metadata?: Metadata | Readonly<Record<string, string>>;
}

export function toMetadata(metadata: CallOptions["metadata"]): Metadata {
  if (metadata instanceof Metadata) return metadata;
  const result = new Metadata();
  if (metadata) for (const [key, value] of Object.entries(metadata)) result.set(key, value);
  return result;
}

export function toGrpcCallOptions(options: CallOptions, defaultTimeoutMs: number | undefined): GrpcCallOptions {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const deadline = options.deadline ?? (timeoutMs === undefined ? undefined : new Date(Date.now() + timeoutMs));
  return deadline ? { deadline } : {};
}

/** Cancels `call` when `signal` aborts; returns the function that stops listening. */
export function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
