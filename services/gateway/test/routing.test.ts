import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger } from "@lattice/kit";
import { Gateway } from "../src/gateway.js";
import { matchTemplate, parseTemplate, TemplateError } from "../src/routing/path-template.js";
import { RouteConflictError } from "../src/routing/router.js";
import { testRegistry } from "./support/contracts.js";

const options = {
  // Clients are made at construction and never called here.
  connect: () => ({ close: () => undefined }) as never,
  cors: { origins: [], credentials: false, maxAgeSeconds: 0 },
  maxBodyBytes: 1024,
  heartbeatMs: 0,
  openapi: undefined,
  logger: createLogger({ service: "gateway", level: "silent" }),
};

describe("path templates", () => {
  test("parse: variables, nested field paths, **, verbs", () => {
    const t = parseTemplate("/v1/{user.name=users/*}/files/{path=**}:download");
    assert.equal(t.verb, "download");
    assert.deepEqual(
      t.variables.map((v) => [v.fieldPath.join("."), v.start, v.end]),
      [
        ["user.name", 1, 3],
        ["path", 4, 5],
      ],
    );
    const values = matchTemplate(t, ["v1", "users", "ada", "files", "a", "b.txt:download"]);
    assert.deepEqual(Object.fromEntries(values!), { "user.name": "users/ada", path: "a/b.txt" });
  });

  for (const bad of ["v1/x", "/v1/{a", "/v1/{a}/{a}", "/v1/**/x", "/v1/{a={b}}", "/v1/{1a}", "/v1/x:"])
    test(`refuses ${bad}`, () => assert.throws(() => parseTemplate(bad), TemplateError));
});

describe("routes from the contracts", () => {
  test("two rules matching the same requests stop the start, naming both", () => {
    const registry = testRegistry("proto-conflict");
    assert.throws(
      () => new Gateway({ ...options, registry, calls: ["gwconflict"] }),
      (error: unknown) => {
        assert.ok(error instanceof RouteConflictError);
        assert.match(error.message, /GetShelf\b/);
        assert.match(error.message, /GetShelfById/);
        return true;
      },
    );
  });

  test("a verb route wins over a wildcard that would take the verb as part of a name", () => {
    const registry = testRegistry("proto");
    const gateway = new Gateway({ ...options, registry, calls: ["gwtest"] });
    const match = gateway.router.match("GET", "/v1/items:watch");
    if (match.kind !== "found") assert.fail(match.kind);
    assert.equal(match.route.method.name, "WatchItems");
    assert.deepEqual(
      gateway.skipped.map((s) => s.method),
      ["lattice.gwtest.v1.TestService.UploadItems"],
    );
  });

  test("services only go to the peers the gateway declares it calls", () => {
    const registry = testRegistry("proto");
    const gateway = new Gateway({ ...options, registry, calls: ["other"] });
    assert.equal(gateway.router.routes().length, 0);
  });
});
