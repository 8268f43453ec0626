import { fileURLToPath } from "node:url";
import { z } from "zod";
import { baseConfigSchema, createPool, defineService, migrate } from "@lattice/kit";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { userHandler } from "./handler.js";
import { PgUserRepository } from "./pg-user-repository.js";
import { Users } from "./users.js";

export const userConfigSchema = baseConfigSchema.extend({
  GRPC_PORT: baseConfigSchema.shape.GRPC_PORT.default(50052),
  ADMIN_PORT: baseConfigSchema.shape.ADMIN_PORT.default(8082),
  /** postgres://user:password@host:port/database — the service uses only its own schema in it. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
    .default("users"),
});

const migrations = fileURLToPath(new URL("../../migrations", import.meta.url));

/** The user service: migrates its schema at start, then serves lattice.user.v1.UserService. */
export const userModule = defineService({
  name: "user",
  configSchema: userConfigSchema,
  async setup({ server, config, logger }) {
    const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, logger });
    try {
      await migrate({ pool, schema: config.DATABASE_SCHEMA, directory: migrations, logger });
    } catch (error) {
      await pool.end();
      throw error;
    }
    server.addService(UserServiceService, userHandler(new Users(new PgUserRepository(pool))));
    return () => pool.end();
  },
});
