import { loadConfigOrExit, type BaseConfig } from "../config.js";
import { createLogger } from "../logger.js";
import type { ServiceModule } from "./service-module.js";
import { startService, type RunningService } from "./start-service.js";

/**
 * The whole life of a service process: validated config, logger, start, and graceful shutdown on SIGTERM/SIGINT
 * (exit 0 once drained). A second signal exits at once.
 */
export async function runService<C extends BaseConfig>(module: ServiceModule<C>): Promise<void> {
  const config = loadConfigOrExit(module.name, module.configSchema);
  const logger = createLogger({ service: module.name, level: config.LOG_LEVEL, format: config.LOG_FORMAT });

  process.on("uncaughtException", (error) => {
    logger.fatal({ err: error }, "uncaught exception");
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, "unhandled promise rejection");
    process.exit(1);
  });

  // Signals are handled from the start: one that arrives while the service starts stops the waiting for
  // dependencies (the process then exits 0), or stops the service once it is up.
  let running: RunningService | undefined;
  const signals: NodeJS.Signals[] = [];
  const starting = new AbortController();
  const stop = (service: RunningService) => {
    service.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals.push(signal);
    if (signals.length > 1) {
      logger.warn({ signal }, "second signal: exiting without waiting for calls to finish");
      process.exit(1);
    }
    logger.info({ signal }, "signal received: shutting down");
    if (running) stop(running);
    else starting.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  try {
    running = await startService(module, config, logger, { signal: starting.signal });
  } catch (error) {
    if (starting.signal.aborted) {
      logger.info({ err: error }, "stopped while starting");
      return process.exit(0);
    }
    logger.fatal({ err: error }, "failed to start");
    return process.exit(1);
  }
  logger.info(
    {
      grpc: running.grpcAddress,
      admin: running.adminUrl,
      health: running.healthAddress,
      services: running.server.services,
    },
    "serving",
  );
  if (signals.length > 0) stop(running);
}
