import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from "pino";

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

/** JSON logs with the service name on every line; human-readable only for people at a terminal. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty =
    options.format === "pretty" || (options.format !== "json" && !options.destination && process.stdout.isTTY);
  const settings = {
    level: options.level ?? "info",
    base: { service: options.service },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss.l" } } } : {}),
  };
  if (pretty) return pino(settings);
  // Synchronous writes: lines stay in order and the last ones survive process.exit and crashes.
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
