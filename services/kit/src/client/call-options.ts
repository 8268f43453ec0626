import { Metadata } from "@grpc/grpc-js";

/** Per-call options of a Lattice client call. */
export interface CallOptions {
  /** Give up after this many milliseconds; becomes the grpc-timeout the server sees. */
  timeoutMs?: number;
  /** Absolute deadline; wins over timeoutMs. */
  deadline?: Date;
  /** Cancels the call (the server sees CANCELLED) when aborted. */
  signal?: AbortSignal;
  /** Request headers (copied: interceptors may add to the call's own). */
  metadata?: Metadata | Readonly<Record<string, string>>;
}

/** Request headers as a Metadata the call may add to, never the caller's own object. */
export function toMetadata(metadata: CallOptions["metadata"]): Metadata {
  if (metadata instanceof Metadata) return metadata.clone();
  const result = new Metadata();
  if (metadata) for (const [key, value] of Object.entries(metadata)) result.set(key, value);
  return result;
}

/** The earlier of two deadlines; undefined when neither is set. */
export function earliest(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
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
