import { fileURLToPath } from "node:url";
import { baseConfigSchema, databaseConfig, defineService, openDatabase } from "@lattice/kit";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { userHandler } from "./handler.js";
import { PgUserRepository } from "./pg-user-repository.js";
import { Users } from "./users.js";

export const userConfigSchema = baseConfigSchema.extend({
  GRPC_PORT: baseConfigSchema.shape.GRPC_PORT.default(50052),
  ADMIN_PORT: baseConfigSchema.shape.ADMIN_PORT.default(8082),
  HEALTH_PORT: baseConfigSchema.shape.HEALTH_PORT.default(8092),
  ...databaseConfig("users"),
});

const migrations = fileURLToPath(new URL("../../migrations", import.meta.url));

/** The user service: migrates its schema at start, then serves lattice.user.v1.UserService. */
export const userModule = defineService({
  name: "user",
  configSchema: userConfigSchema,
  async setup({ server, config, logger }) {
    const pool = await openDatabase({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, migrations, logger });
    server.addService(UserServiceService, userHandler(new Users(new PgUserRepository(pool))));
    return () => pool.end();
  },
});
