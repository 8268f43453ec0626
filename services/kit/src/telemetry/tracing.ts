import {
  context,
  propagation,
  trace,
  type ContextManager,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import type { TracingSettings } from "./config.js";

/** The instrumentation scope of every span the kit makes. */
export const TRACER_NAME = "@lattice/kit";

/** What a process's tracing needs at shutdown: the spans still queued are exported, then exporting stops. */
export interface Tracing {
  /** Exports what is queued (at most the exporter's timeout) and stops; safe to call twice. */
  shutdown(): Promise<void>;
}

/** A tracer provider the kit installed, with what flushes it. */
interface Installed {
  readonly shutdown: () => Promise<void>;
}

let installed: Installed | undefined;
let tracer: Tracer | undefined;

/**
 * Whether spans are being made in this process: true once startTracing (or a test's installTracing) ran. The kit's
 * interceptors, pool and outbox ask when they are built, so with tracing off they are not in the chain at all and a
 * call costs nothing for it.
 */
export function tracingEnabled(): boolean {
  return installed !== undefined;
}

/** The kit's tracer: the global provider's, which is the no-op one while tracing is off. */
export function kitTracer(): Tracer {
  tracer ??= trace.getTracer(TRACER_NAME);
  return tracer;
}

/**
 * Starts tracing for this process from `settings` (see tracingSettings): a tracer provider with the sampler, a batch
 * span processor exporting OTLP/HTTP protobuf (and/or to the console), W3C propagators, and an AsyncLocalStorage
 * context manager so the span of the call being handled is found through any number of awaits. Process-wide, like
 * OpenTelemetry's globals: a second call (several services in one test process) keeps the first provider. The SDK
 * packages are loaded only here, so a process with tracing off never loads them.
 */
export async function startTracing(settings: TracingSettings, serviceName: string, logger: Logger): Promise<Tracing> {
  if (!settings.enabled || installed) return { shutdown: async () => {} };
  const [sdk, resources, hooks, core] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
  ]);
  const processors: InstanceType<typeof sdk.BatchSpanProcessor | typeof sdk.SimpleSpanProcessor>[] = [];
  if (settings.otlpUrl !== undefined) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
    processors.push(
      new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: settings.otlpUrl }), ...settings.batch }),
    );
  }
  if (settings.console) processors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }));

  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  const sampler = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: new sdk.ParentBasedSampler({ root: ratio }),
  }[settings.sampler];
  const resource = resources.resourceFromAttributes({
    "service.name": settings.serviceName ?? serviceName,
    ...settings.resourceAttributes,
  });
  const provider = new sdk.TracerProvider({ resource, sampler, spanProcessors: processors });
  const propagators = settings.propagators.map((name) =>
    name === "tracecontext" ? new core.W3CTraceContextPropagator() : new core.W3CBaggagePropagator(),
  );
  installTracing(provider, new core.CompositePropagator({ propagators }), new hooks.AsyncLocalStorageContextManager(), {
    shutdown: () => provider.shutdown(),
  });
  logger.info(
    { otlp: settings.otlpUrl, console: settings.console, sampler: settings.sampler },
    "tracing: exporting spans",
  );
  return { shutdown: stopTracing };
}

/**
 * Makes `provider` the process's tracer provider, with `propagator` and `contextManager`, and turns the kit's
 * tracing on (tests install one that records spans in memory). Replaces what was installed before.
 */
export function installTracing(
  provider: TracerProvider,
  propagator: TextMapPropagator,
  contextManager: ContextManager & { enable(): ContextManager },
  owner: { shutdown: () => Promise<void> },
): void {
  trace.disable();
  propagation.disable();
  context.disable();
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
  tracer = undefined;
  installed = owner;
}

/** Exports what is queued and turns tracing off for the process (chains built from now on have no tracing). */
export async function stopTracing(): Promise<void> {
  const current = installed;
  installed = undefined;
  tracer = undefined;
  if (!current) return;
  try {
    await current.shutdown();
  } finally {
    trace.disable();
    propagation.disable();
    context.disable();
  }
}
