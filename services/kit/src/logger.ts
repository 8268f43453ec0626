import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from "pino";
import { mergeTraceLogFields, traceLogFields } from "./telemetry/log-fields.js";

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** auto: pretty on a terminal, JSON otherwise. */
  format?: "auto" | "json" | "pretty";
  /** Where JSON lines go (tests capture them); stdout by default. */
  destination?: DestinationStream;
}

/**
 * Fields whose values never reach a log line, wherever they appear up to three levels deep (a header map, a
 * request, an error's metadata): bearer tokens and other credentials. pino replaces the value with "[REDACTED]".
 */
export const REDACTED_KEYS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "password",
  "secret",
  "client_secret",
  "private_key",
];

const redactPaths = REDACTED_KEYS.flatMap((key) => {
  const field = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const path = (prefix: string) => (field.startsWith("[") ? `${prefix}${field}` : `${prefix}.${field}`);
  return [field, path("*"), path("*.*")];
});

/**
 * JSON logs with the service name on every line; human-readable only for people at a terminal. Credentials are
 * redacted (REDACTED_KEYS). While tracing is on, a line logged within a span carries its `trace_id` and `span_id`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty =
    options.format === "pretty" || (options.format !== "json" && !options.destination && process.stdout.isTTY);
  const settings = {
    level: options.level ?? "info",
    base: { service: options.service },
    redact: { paths: redactPaths, censor: "[REDACTED]" },
    mixin: traceLogFields,
    mixinMergeStrategy: mergeTraceLogFields,
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } } } : {}),
  };
  if (pretty) return pino(settings);
  // Synchronous writes: lines stay in order and the last ones survive process.exit and crashes.
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
