import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  OutcomeLedger,
  assertAccountedFor,
  assertFuzzReport,
  assertServing,
  contractViolations,
  dropSchema,
  fuzz,
  grpcMessages,
  startFuzzRun,
  startTestService,
  testDatabaseUrl,
  testPool,
  uniqueSchema,
} from "@lattice/kit/testing";
import {
  CreateUserRequest,
  CreateUserResponse,
  DeleteUserRequest,
  GetUserRequest,
  ListUsersRequest,
  UpdateUserRequest,
  UserServiceService,
} from "@lattice/proto/lattice/user/v1/user";
import { userModule } from "../src/module.js";

const USERS = "lattice.user.v1.UserService";
const CREATE = `/${USERS}/CreateUser`;
const DELETE = `/${USERS}/DeleteUser`;

describe("user service under fuzzed requests, on PostgreSQL", () => {
  it("answers every input with a client's code, keeps serving, and stores only what accepted requests made", async (t) => {
    const run = startFuzzRun(t, { inputs: 300, timeMs: 30_000 });
    const { seed } = run;
    const url = testDatabaseUrl();
    const schema = uniqueSchema("users_fuzz");
    await using service = await startTestService(userModule, { env: { DATABASE_URL: url, DATABASE_SCHEMA: schema } });
    const pool = testPool(schema, url);
    t.after(async () => {
      await pool.end();
      await dropSchema(schema, url);
    });
    const users = service.client(UserServiceService, { defaultTimeoutMs: 5000 });
    const seeded: string[] = [];
    for (const i of [1, 2, 3]) {
      const { user } = await users.createUser({
        user: { name: "", email: `seed${i}@example.org`, displayName: `Seed ${i}`, etag: "" },
      });
      seeded.push(user!.name);
    }

    // What the answers account for: users created and deleted by OK answers, and calls of unknown outcome.
    const ledger = new OutcomeLedger();
    const create = (email: string, displayName: string) =>
      CreateUserRequest.encode({ user: { name: "", email, displayName, etag: "" } }).finish();
    const report = await fuzz({
      address: service.grpcAddress,
      services: [USERS],
      ...run,
      seeds: {
        [CREATE]: [create("ada@example.org", "Ada"), create("grace.hopper@example.com", "Grace Hopper")],
        [`/${USERS}/GetUser`]: seeded.map((name) => GetUserRequest.encode({ name }).finish()),
        [`/${USERS}/ListUsers`]: [ListUsersRequest.encode({ pageSize: 2, pageToken: "" }).finish()],
        [`/${USERS}/UpdateUser`]: [
          UpdateUserRequest.encode({
            user: { name: seeded[0]!, email: "renamed@example.org", displayName: "Renamed", etag: "" },
            updateMask: ["display_name", "email"],
          }).finish(),
        ],
        [DELETE]: [DeleteUserRequest.encode({ name: seeded[2]!, etag: "" }).finish()],
      },
      onResult(path, result, requests) {
        if (path === CREATE)
          ledger.record(path, result, () => CreateUserResponse.decode(grpcMessages(result.body)[0]!).user!.name);
        else if (path === DELETE) ledger.record(path, result, () => DeleteUserRequest.decode(requests[0]!).name);
      },
    });
    const [created, deleted] = [ledger.named(CREATE), ledger.named(DELETE)];
    const [unknownCreates, unknownDeletes] = [ledger.unknown(CREATE), ledger.unknown(DELETE)];
    assertFuzzReport(t, "user", run, report);
    t.diagnostic(
      `created ${created.size}, deleted ${deleted.size}, unknown outcome ${unknownCreates + unknownDeletes}`,
    );

    await assertServing(service, [USERS]);
    const { user: after } = await users.createUser({
      user: { name: "", email: "after.fuzz@example.org", displayName: "After", etag: "" },
    });
    assert.ok(after?.name);

    // The table holds exactly the users the OK answers account for (give or take calls of unknown outcome), each
    // one a user a request the contract accepts would make.
    const { rows } = await pool.query<{
      id: string;
      email: string;
      display_name: string;
      version: number;
      create_time: Date;
      update_time: Date;
    }>("SELECT id, email, display_name, version, create_time, update_time FROM users");
    assertAccountedFor({
      seed,
      what: "users",
      stored: rows.map((row) => `users/${row.id}`),
      expected: [...seeded, ...created, after.name].filter((name) => !deleted.has(name)),
      unknownMakes: unknownCreates,
      unknownRemoves: unknownDeletes,
    });
    for (const row of rows) {
      const request = CreateUserRequest.encode({
        user: { name: "", email: row.email, displayName: row.display_name, etag: "" },
      }).finish();
      assert.deepEqual(contractViolations(CREATE, request), [], `seed ${seed}: stored user ${row.id}`);
      assert.ok(row.version >= 1 && row.create_time <= row.update_time, `seed ${seed}: stored user ${row.id}`);
    }
    const emails = rows.map((row) => row.email.toLowerCase());
    assert.equal(new Set(emails).size, emails.length, "emails are unique whatever their case");
  });
});
