import { defineService, serviceDeclaration } from "@lattice/kit";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { userHandler } from "./handler.js";
import { PgUserRepository } from "./pg-user-repository.js";
import { Users } from "./users.js";

/** The user service: migrates its schema at start, then serves lattice.user.v1.UserService. */
export const userModule = defineService({
  declaration: serviceDeclaration(import.meta.url),
  async setup({ server, database }) {
    const { pool } = await database();
    server.addService(UserServiceService, userHandler(new Users(new PgUserRepository(pool))));
  },
});
