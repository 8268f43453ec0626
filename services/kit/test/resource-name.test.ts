import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resourceName, ValidationError } from "@lattice/kit";

describe("resourceName", () => {
  const users = resourceName("users", { idDescription: "a user id" });
  const id = "0b7c3b8e-1c7e-4a59-9d1e-6f3f3c1e2a40";

  it("parses names of its pattern into ids and formats ids back", () => {
    assert.equal(users.parse(`users/${id}`, "name"), id);
    assert.equal(users.format(id), `users/${id}`);
    assert.equal(users.violation(`users/${id}`, "name"), undefined);
  });

  it("answers every other name with one field violation for the field it was given", () => {
    for (const bad of ["", "users/", `users/${id}/`, `people/${id}`, `users/${id.toUpperCase()}`, "users/42", id]) {
      assert.throws(
        () => users.parse(bad, "order.user"),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.violations.length === 1 &&
          error.violations[0]!.field === "order.user" &&
          error.violations[0]!.description === 'must be "users/{id}" with a user id',
        bad,
      );
      assert.deepEqual(users.violation(bad, "user"), {
        field: "user",
        description: 'must be "users/{id}" with a user id',
      });
    }
  });

  it("takes another id pattern where a service refers to ids it does not make", () => {
    const orders = resourceName("orders", { id: /^[\w-]{1,64}$/ });
    assert.equal(orders.parse("orders/o-1", "order"), "o-1");
    assert.throws(() => orders.parse("orders/a/b", "order"), ValidationError);
    assert.throws(() => resourceName("Users"), /collection id/);
  });
});
