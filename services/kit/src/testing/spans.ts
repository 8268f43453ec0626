import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { installTracing, stopTracing } from "../telemetry/tracing.js";

export type { ReadableSpan };

/** Spans recorded in memory by recordSpans. */
export interface RecordedSpans {
  /** Every span ended so far, in the order they ended. */
  spans(): ReadableSpan[];
  /** Forgets the spans recorded so far. */
  reset(): void;
  /** Turns tracing off again for the process. */
  stop(): Promise<void>;
}

/**
 * Turns the kit's tracing on for this process, recording every span in memory (exported at once as it ends), with
 * W3C propagation and async context as in production. Services, clients and pools built afterwards are traced.
 */
export function recordSpans(serviceName = "test"): RecordedSpans {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  installTracing(
    provider,
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    new AsyncLocalStorageContextManager(),
    { shutdown: () => provider.shutdown() },
  );
  return {
    spans: () => [...exporter.getFinishedSpans()],
    reset: () => exporter.reset(),
    stop: stopTracing,
  };
}
