import { z } from "zod";

/**
 * The standard OpenTelemetry environment variables the kit reads (opentelemetry.io/docs/specs/otel/configuration/
 * sdk-environment-variables), validated with the rest of the configuration so a typo fails the start naming the key.
 * Tracing is off unless an OTLP endpoint is set or OTEL_TRACES_EXPORTER names an exporter: the specification's
 * default exporter is otlp, but a service that nobody configured must not send spans to localhost:4318 on every call.
 * The OTLP exporter itself reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION and their _TRACES_ forms from the
 * process environment.
 */
export const tracingConfigShape = {
  /** "true" turns every signal off, whatever else is set. */
  OTEL_SDK_DISABLED: z.enum(["true", "false"]).default("false"),
  /** Comma-separated: otlp, console, none. Unset: otlp when an OTLP endpoint is set, else none. */
  OTEL_TRACES_EXPORTER: z
    .string()
    .regex(/^\s*(otlp|console|none)\s*(,\s*(otlp|console|none)\s*)*$/, "must list otlp, console or none")
    .optional(),
  /** Base URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318 (spans go to <base>/v1/traces). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The full URL spans are posted to, e.g. http://otel-collector:4318/v1/traces; wins over the base URL. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** OTLP over HTTP with protobuf bodies only: what every collector accepts on 4318. */
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(["http/protobuf"], "only http/protobuf is supported").optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(["http/protobuf"], "only http/protobuf is supported").optional(),
  /** Which calls are recorded; parentbased_always_on by default (follow the caller's decision, else record). */
  OTEL_TRACES_SAMPLER: z
    .enum([
      "always_on",
      "always_off",
      "traceidratio",
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ])
    .default("parentbased_always_on"),
  /** The ratio of the *traceidratio samplers, 0 to 1 (1 when unset). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  /** Comma-separated: tracecontext, baggage, none. W3C trace context and baggage by default. */
  OTEL_PROPAGATORS: z
    .string()
    .regex(
      /^\s*(tracecontext|baggage|none)\s*(,\s*(tracecontext|baggage|none)\s*)*$/,
      "must list tracecontext, baggage or none",
    )
    .default("tracecontext,baggage"),
  /** The service.name resource attribute; the declared service name by default. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** More resource attributes: key=value pairs separated by commas, values percent-encoded. */
  OTEL_RESOURCE_ATTRIBUTES: z.string().optional(),
  /** The batch span processor: delay between exports (ms), queue size, batch size, export timeout (ms). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).default(5000),
  OTEL_BSP_MAX_QUEUE_SIZE: z.coerce.number().int().min(1).default(2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z.coerce.number().int().min(1).default(512),
  OTEL_BSP_EXPORT_TIMEOUT: z.coerce.number().int().min(0).default(30000),
};

export type TracingConfig = z.infer<z.ZodObject<typeof tracingConfigShape>>;

export type SamplerName = TracingConfig["OTEL_TRACES_SAMPLER"];

/** What tracingSettings decided: off, or the exporters, sampler, propagators and resource to start with. */
export type TracingSettings =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      /** Where spans go: the OTLP URL they are posted to, and/or the console. */
      readonly otlpUrl: string | undefined;
      readonly console: boolean;
      readonly sampler: SamplerName;
      readonly samplerRatio: number;
      readonly propagators: readonly ("tracecontext" | "baggage")[];
      readonly serviceName: string | undefined;
      /** Parsed OTEL_RESOURCE_ATTRIBUTES. */
      readonly resourceAttributes: Readonly<Record<string, string>>;
      readonly batch: {
        readonly scheduledDelayMillis: number;
        readonly maxQueueSize: number;
        readonly maxExportBatchSize: number;
        readonly exportTimeoutMillis: number;
      };
    };

/** Whether to trace, and how, from the validated OTEL_* keys. */
export function tracingSettings(config: TracingConfig): TracingSettings {
  if (config.OTEL_SDK_DISABLED === "true") return { enabled: false };
  const otlpUrl =
    config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (config.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? undefined
      : `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`);
  const named = config.OTEL_TRACES_EXPORTER === undefined ? undefined : list(config.OTEL_TRACES_EXPORTER);
  const exporters = named ?? (otlpUrl === undefined ? [] : ["otlp"]);
  const otlp = exporters.includes("otlp") && !exporters.includes("none");
  const toConsole = exporters.includes("console") && !exporters.includes("none");
  if (!otlp && !toConsole) return { enabled: false };
  const propagators = list(config.OTEL_PROPAGATORS).filter(
    (name): name is "tracecontext" | "baggage" => name === "tracecontext" || name === "baggage",
  );
  return {
    enabled: true,
    // The exporter's own default when only OTEL_TRACES_EXPORTER=otlp is set.
    otlpUrl: otlp ? (otlpUrl ?? "http://localhost:4318/v1/traces") : undefined,
    console: toConsole,
    sampler: config.OTEL_TRACES_SAMPLER,
    samplerRatio: config.OTEL_TRACES_SAMPLER_ARG ?? 1,
    propagators,
    serviceName: config.OTEL_SERVICE_NAME,
    resourceAttributes: parseResourceAttributes(config.OTEL_RESOURCE_ATTRIBUTES ?? ""),
    batch: {
      scheduledDelayMillis: config.OTEL_BSP_SCHEDULE_DELAY,
      maxQueueSize: config.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(config.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, config.OTEL_BSP_MAX_QUEUE_SIZE),
      exportTimeoutMillis: config.OTEL_BSP_EXPORT_TIMEOUT,
    },
  };
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** OTEL_RESOURCE_ATTRIBUTES: `key=value,key2=value2`, values percent-encoded (W3C Baggage octets). */
export function parseResourceAttributes(value: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of list(value)) {
    const equals = pair.indexOf("=");
    if (equals <= 0) continue;
    const key = pair.slice(0, equals).trim();
    const raw = pair.slice(equals + 1).trim();
    try {
      attributes[key] = decodeURIComponent(raw);
    } catch {
      attributes[key] = raw;
    }
  }
  return attributes;
}
