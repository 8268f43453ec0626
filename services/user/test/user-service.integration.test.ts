import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Status } from "@lattice/kit";
import {
  dropSchema,
  grpcErrorOf,
  grpcFrame,
  rawCall,
  rawConnection,
  startTestService,
  testDatabases,
  uniqueSchema,
  type TestService,
} from "@lattice/kit/testing";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { userModule } from "../src/module.js";

for (const database of testDatabases())
  describe(`user service on ${database.label}`, () => {
    const schema = uniqueSchema("users_test");
    const env = { DATABASE_URL: database.url, DATABASE_SCHEMA: schema };
    let service: TestService;
    before(async () => {
      service = await startTestService(userModule, { env });
    });
    after(async () => {
      await service.shutdown();
      await dropSchema(schema, database.url);
    });
    const client = () => service.client(UserServiceService, { defaultTimeoutMs: 5000 });

    it("creates, reads, updates and deletes a user through gRPC", async () => {
      const users = client();
      const { user } = await users.createUser({
        user: { name: "", email: "grace@example.com", displayName: "Grace", etag: "" },
      });
      assert.match(user!.name, /^users\/[0-9a-f-]{36}$/);
      assert.equal(user!.etag, "1");
      assert.deepEqual((await users.getUser({ name: user!.name })).user, user);

      const { user: updated } = await users.updateUser({
        user: { ...user!, displayName: "Grace Hopper" },
        updateMask: ["display_name"],
      });
      assert.equal(updated!.displayName, "Grace Hopper");
      assert.equal(updated!.etag, "2");

      const stale = await grpcErrorOf(
        users.updateUser({ user: { ...user!, displayName: "x" }, updateMask: ["display_name"] }),
      );
      assert.equal(stale.code, Status.ABORTED);

      await users.deleteUser({ name: user!.name, etag: "2" });
      assert.equal((await grpcErrorOf(users.getUser({ name: user!.name }))).code, Status.NOT_FOUND);
    });

    it("keeps emails unique under concurrent creates, enforced by the database", async () => {
      const users = client();
      const attempts = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          users.createUser({
            user: {
              name: "",
              email: i % 2 ? "LINUS@example.com" : "linus@example.com",
              displayName: `L${i}`,
              etag: "",
            },
          }),
        ),
      );
      assert.equal(attempts.filter((a) => a.status === "fulfilled").length, 1);
      for (const failed of attempts.filter((a) => a.status === "rejected"))
        assert.equal((failed.reason as { code: number }).code, Status.ALREADY_EXISTS);
    });

    it("pages through users with opaque tokens", async () => {
      const users = client();
      const emails = Array.from({ length: 5 }, (_, i) => `page${i}@example.com`);
      for (const email of emails) await users.createUser({ user: { name: "", email, displayName: email, etag: "" } });
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await users.listUsers({ pageSize: 2, pageToken });
        assert.ok(page.users.length <= 2);
        seen.push(...page.users.map((u) => u.email));
        pageToken = page.nextPageToken;
      } while (pageToken);
      for (const email of emails) assert.ok(seen.includes(email), email);
      assert.equal(new Set(seen).size, seen.length, "no user twice");
    });

    it("answers bad input with INVALID_ARGUMENT and field violations, writing nothing", async () => {
      const users = client();
      const before = (await users.listUsers({ pageSize: 1000, pageToken: "" })).users.length;
      const cases = [
        [
          users.createUser({ user: { name: "", email: "nope", displayName: "", etag: "" } }),
          ["user.email", "user.display_name"],
        ],
        [users.getUser({ name: "people/1" }), ["name"]],
        [users.listUsers({ pageSize: 5000, pageToken: "" }), ["page_size"]],
        [users.listUsers({ pageSize: 1, pageToken: "garbage!" }), ["page_token"]],
        [
          users.updateUser({
            user: { name: "users/x", email: "", displayName: "", etag: "" },
            updateMask: ["password"],
          }),
          ["update_mask"],
        ],
        [users.deleteUser({ name: "users/123", etag: "" }), ["name"]],
      ] as const;
      for (const [call, expected] of cases) {
        const error = await grpcErrorOf(call);
        assert.equal(error.code, Status.INVALID_ARGUMENT, error.message);
        assert.deepEqual(
          error.detail("BadRequest")?.fieldViolations.map((v) => v.field),
          expected,
        );
      }
      assert.equal((await users.listUsers({ pageSize: 1000, pageToken: "" })).users.length, before);
    });

    it("refuses strings PostgreSQL cannot store (NUL) or would store corrupted (not UTF-8), naming the field", async () => {
      const users = client();
      const all = async () => (await users.listUsers({ pageSize: 1000, pageToken: "" })).users;
      const { user: ada } = await users.createUser({
        user: { name: "", email: "ada.nul@example.com", displayName: "Ada", etag: "" },
      });
      const before = await all();
      const nul = "Ada\u0000Lovelace";
      for (const [call, field] of [
        [
          users.createUser({ user: { name: "", email: "nul@example.com", displayName: nul, etag: "" } }),
          "user.display_name",
        ],
        [
          users.createUser({ user: { name: "", email: "n\u0000l@example.com", displayName: "N", etag: "" } }),
          "user.email",
        ],
        [users.updateUser({ user: { ...ada!, displayName: nul }, updateMask: ["display_name"] }), "user.display_name"],
      ] as const) {
        const error = await grpcErrorOf(call);
        assert.equal(error.code, Status.INVALID_ARGUMENT, error.message);
        const violations = error.detail("BadRequest")?.fieldViolations ?? [];
        assert.ok(
          violations.some((v) => v.field === field && v.reason === "NUL_CHARACTER"),
          JSON.stringify(violations),
        );
      }

      // display_name as the bytes 41 64 ff fe: ts-proto would have made it "Ad\uFFFD\uFFFD" and stored that.
      const user = new BinaryWriter()
        .tag(2, WireType.LengthDelimited)
        .string("utf8@example.com")
        .tag(3, WireType.LengthDelimited)
        .bytes(Buffer.from([0x41, 0x64, 0xff, 0xfe]))
        .finish();
      const request = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(user).finish();
      const session = rawConnection(service.grpcAddress);
      try {
        const result = await rawCall(session, "/lattice.user.v1.UserService/CreateUser", grpcFrame(request));
        assert.equal(result.code, Status.INVALID_ARGUMENT, result.message);
        assert.match(result.message, /^user\.display_name: must be valid UTF-8/);
      } finally {
        session.close();
      }
      assert.deepEqual(await all(), before, "something was written");
    });

    it("answers an update_mask path of 200 KB with INVALID_ARGUMENT, promptly and without echoing it", async () => {
      const users = client();
      const { user } = await users.createUser({
        user: { name: "", email: "mask@example.com", displayName: "Mask", etag: "" },
      });
      const started = performance.now();
      const error = await grpcErrorOf(users.updateUser({ user, updateMask: ["x".repeat(200_000)] }));
      assert.equal(error.code, Status.INVALID_ARGUMENT, error.message);
      assert.ok(performance.now() - started < 4000, "the client waited for its deadline");
      assert.deepEqual(
        error.detail("BadRequest")?.fieldViolations.map((v) => v.field),
        ["update_mask"],
      );
      assert.ok(error.message.length < 1024);
    });

    it("migrates idempotently: a second start on the same schema applies nothing", async () => {
      await using again = await startTestService(userModule, { env });
      assert.ok(!again.logs.some((line) => line.msg === "database migrated"));
      assert.ok(service.logs.some((line) => line.msg === "database migrated"));
    });
  });
