import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { contractRegistry, createLogger } from "@lattice/kit";
import { Gateway, routedServices } from "../src/gateway.js";
import { committedOpenApi } from "../src/module.js";
import { openApiDocument } from "../src/openapi/document.js";
import { Router } from "../src/routing/router.js";
import { routesOf } from "../src/routing/routes.js";
import { testRegistry } from "./support/contracts.js";

const CALLS = ["greeter", "user", "payment", "order"];

interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }>;
}
type Paths = Record<string, Record<string, Operation>>;

function documentOf(registry: ReturnType<typeof contractRegistry>, calls: readonly string[]) {
  const { routes } = routesOf(
    registry,
    routedServices(registry, calls).map((s) => s.service),
  );
  return openApiDocument(registry, new Router(routes).routes(), { title: "t", version: "v1" });
}

describe("OpenAPI", () => {
  test("the committed document is what the contracts produce (npm run generate)", () => {
    const committed = JSON.parse(committedOpenApi()) as { paths: unknown; components: unknown };
    const fresh = documentOf(contractRegistry(), CALLS) as { paths: unknown; components: unknown };
    assert.deepEqual(committed.paths, fresh.paths);
    assert.deepEqual(committed.components, fresh.components);
  });

  test("every documented path, filled in, reaches the route of its operation, and every route is documented", () => {
    for (const [registry, calls] of [
      [contractRegistry(), CALLS],
      [testRegistry("proto"), ["gwtest"]],
    ] as const) {
      const gateway = new Gateway({
        registry,
        calls,
        connect: () => ({ close: () => undefined }) as never,
        cors: { origins: [], credentials: false, maxAgeSeconds: 0 },
        maxBodyBytes: 1024,
        heartbeatMs: 0,
        openapi: undefined,
        logger: createLogger({ service: "gateway", level: "silent" }),
      });
      const paths = (documentOf(registry, calls) as { paths: Paths }).paths;
      let operations = 0;
      for (const [path, item] of Object.entries(paths))
        for (const [method, operation] of Object.entries(item)) {
          operations++;
          const concrete = path.replace(/\{[^}]+\}/g, "x1");
          const match = gateway.router.match(method.toUpperCase(), concrete);
          if (match.kind !== "found") assert.fail(`${method} ${path}: ${match.kind}`);
          const expected = `${match.route.method.parent.name}_${match.route.method.name}`;
          assert.ok(operation.operationId.startsWith(expected), `${operation.operationId} is ${expected}`);
          for (const parameter of operation.parameters ?? [])
            if (parameter.in === "path")
              assert.ok([...match.variables.keys()].some((k) => parameter.name.startsWith(k.replaceAll(".", "_"))));
        }
      assert.equal(operations, gateway.router.routes().length);
    }
  });

  test("bodies, query parameters, response_body and streams are described as the gateway serves them", () => {
    const paths = (documentOf(testRegistry("proto"), ["gwtest"]) as { paths: Paths }).paths;
    const patch = paths["/v1/items/{item_name}"]!["patch"]!;
    assert.deepEqual(patch.requestBody!.content["application/json"]!.schema, {
      $ref: "#/components/schemas/lattice.gwtest.v1.Item",
    });
    assert.deepEqual(
      patch.parameters!.map((p) => `${p.in}:${p.name}`),
      ["path:item_name", "query:reason"],
    );
    const search = paths["/v1/search"]!["get"]!;
    assert.deepEqual(
      search.parameters!.map((p) => p.name),
      ["query", "kinds", "filter.displayName", "filter.depth", "within", "limit", "pages"],
    );
    assert.equal(search.responses["200"]!.content["application/json"]!.schema["type"], "array");
    const watch = paths["/v1/items:watch"]!["get"]!;
    assert.deepEqual(Object.keys(watch.responses["200"]!.content), ["application/x-ndjson", "text/event-stream"]);
    const put = paths["/v1/items/{name}"]!["put"]!;
    const body = put.requestBody!.content["application/json"]!.schema as { properties: Record<string, unknown> };
    assert.ok(!("name" in body.properties), "the path's field is not in the body");
    assert.equal(put.parameters!.filter((p) => p.in === "query").length, 0, "body * leaves nothing to the query");
    assert.deepEqual(paths["/v1/items/{name}"]!["get"]!.responses["default"]!.content["application/json"]!.schema, {
      $ref: "#/components/schemas/google.rpc.Status",
    });
  });
});
