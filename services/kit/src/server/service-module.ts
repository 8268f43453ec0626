import type { z } from "zod";
import type { BaseConfig } from "../config.js";
import type { Logger } from "../logger.js";
import type { LatticeServer } from "./lattice-server.js";

export interface SetupContext<C extends BaseConfig> {
  readonly server: LatticeServer;
  readonly config: C;
  readonly logger: Logger;
}

/** Releases what setup acquired (connections, timers); runs after the server has stopped. */
export type Teardown = () => Promise<void> | void;

/**
 * Everything the kit needs to run a service, in the process (`runService`) or in a test (`startTestService`)
 * alike: its name, its configuration schema, and a setup that registers its handlers.
 */
export interface ServiceModule<C extends BaseConfig> {
  readonly name: string;
  readonly configSchema: z.ZodType<C>;
  // void: a setup with nothing to release simply returns nothing.
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type
  setup(ctx: SetupContext<C>): Promise<Teardown | void> | Teardown | void;
}

/** Identity function that lets TypeScript infer the module's configuration type. */
export function defineService<C extends BaseConfig>(module: ServiceModule<C>): ServiceModule<C> {
  return module;
}
