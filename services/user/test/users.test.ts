import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AlreadyExistsError, ConflictError, NotFoundError } from "@lattice/kit";
import { EmailTakenError, Users, type User, type UserPage, type UserRepository } from "../src/users.js";

/**
 * The rules over a map: the same contract PgUserRepository fulfils against PostgreSQL, checked through the service in
 * user-service.integration.test.ts.
 */
class MemoryUsers implements UserRepository {
  readonly rows = new Map<string, User>();
  insert(user: User) {
    if ([...this.rows.values()].some((u) => u.email.toLowerCase() === user.email.toLowerCase()))
      return Promise.reject(new EmailTakenError("taken"));
    this.rows.set(user.id, user);
    return Promise.resolve();
  }
  get(id: string) {
    return Promise.resolve(this.rows.get(id));
  }
  list(limit: number, after: number | undefined): Promise<UserPage> {
    const all = [...this.rows.values()].slice(after ?? 0);
    return Promise.resolve({
      users: all.slice(0, limit),
      after: all.length > limit ? (after ?? 0) + limit : undefined,
    });
  }
  update(user: User, expectedVersion: number) {
    if (this.rows.get(user.id)?.version !== expectedVersion) return Promise.resolve(false);
    this.rows.set(user.id, user);
    return Promise.resolve(true);
  }
  delete(id: string, expectedVersion: number | undefined) {
    const row = this.rows.get(id);
    if (!row || (expectedVersion !== undefined && row.version !== expectedVersion)) return Promise.resolve(false);
    return Promise.resolve(this.rows.delete(id));
  }
}

// The field rules are the contract's, enforced by the kit: user-service.integration.test.ts checks them through
// real calls.

describe("user rules", () => {
  it("creates users with trimmed fields and refuses a second account for the same email in any case", async () => {
    const users = new Users(new MemoryUsers());
    const ada = await users.create({ email: " ada@example.com ", displayName: " Ada " });
    assert.equal(ada.email, "ada@example.com");
    assert.equal(ada.displayName, "Ada");
    assert.equal(ada.version, 1);
    await assert.rejects(users.create({ email: "ADA@example.com", displayName: "Other" }), AlreadyExistsError);
  });

  it("updates with optimistic concurrency: a stale version is a conflict and nothing changes", async () => {
    const repository = new MemoryUsers();
    const users = new Users(repository);
    const ada = await users.create({ email: "ada@example.com", displayName: "Ada" });
    const renamed = await users.update(ada.id, { displayName: "Ada L." }, 1);
    assert.equal(renamed.version, 2);
    await assert.rejects(users.update(ada.id, { displayName: "Countess" }, 1), ConflictError);
    assert.equal(repository.rows.get(ada.id)?.displayName, "Ada L.");
  });

  it("deletes, telling a missing user from a stale etag", async () => {
    const users = new Users(new MemoryUsers());
    const ada = await users.create({ email: "ada@example.com", displayName: "Ada" });
    await assert.rejects(users.delete(ada.id, 7), ConflictError);
    await users.delete(ada.id, 1);
    await assert.rejects(users.delete(ada.id, undefined), NotFoundError);
    await assert.rejects(users.get(ada.id), NotFoundError);
  });
});
