import { pageTokenOf, parsePageToken, ValidationError, type ServiceImplementation } from "@lattice/kit";
import { UserServiceService, type User as ProtoUser } from "@lattice/proto/lattice/user/v1/user";
import { userName } from "./names.js";
import type { User, Users } from "./users.js";

/** Transport only: resource names, etags, page tokens and field masks in and out; the rules live in users.ts. */
export function userHandler(users: Users): ServiceImplementation<typeof UserServiceService> {
  return {
    async createUser({ user }) {
      const created = await users.create({ email: user?.email ?? "", displayName: user?.displayName ?? "" });
      return { user: toProto(created) };
    },

    async getUser({ name }) {
      return { user: toProto(await users.get(userName.parse(name, "name"))) };
    },

    async listUsers({ pageSize, pageToken }) {
      const page = await users.list(pageSize, parsePageToken(pageToken));
      return { users: page.users.map(toProto), nextPageToken: pageTokenOf(page.after) };
    },

    async updateUser({ user, updateMask }) {
      // The contract allows only "email" and "display_name", at least one.
      const paths = updateMask ?? [];
      const changes = {
        ...(paths.includes("email") ? { email: user?.email ?? "" } : {}),
        ...(paths.includes("display_name") ? { displayName: user?.displayName ?? "" } : {}),
      };
      const updated = await users.update(
        userName.parse(user?.name ?? "", "user.name"),
        changes,
        versionOf(user?.etag ?? ""),
      );
      return { user: toProto(updated) };
    },

    async deleteUser({ name, etag }) {
      await users.delete(userName.parse(name, "name"), versionOf(etag));
      return {};
    },
  };
}

function toProto(user: User): ProtoUser {
  return {
    name: userName.format(user.id),
    email: user.email,
    displayName: user.displayName,
    createTime: user.createTime,
    updateTime: user.updateTime,
    etag: String(user.version),
  };
}

/** An empty etag means "whatever the current version". */
function versionOf(etag: string): number | undefined {
  if (etag === "") return undefined;
  if (!/^[1-9]\d{0,9}$/.test(etag))
    throw new ValidationError([{ field: "etag", description: "not an etag from this service" }]);
  return Number(etag);
}
