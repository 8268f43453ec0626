import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { Contract, methodPolicies } from "@lattice/kit";
import { declarationOf, declarations } from "../src/declarations.js";
import { chartDir, helmTemplate, namespace, renderValueSet, valuesFiles } from "../src/helm.js";
import { linkerdProblems } from "../src/linkerd.js";
import { ofKind, type Manifest } from "../src/manifests.js";
import { meshAllows, routeOf, type MeshClient } from "../src/mesh-access.js";

/**
 * Per-method caller rules under the mesh. Behind Linkerd's proxy the app has no verified peer identity, so the
 * `callers` a contract names for a method (`(lattice.auth.v1.policy)`) are enforced by Linkerd: a GRPCRoute per such
 * method, authorized for those callers' ServiceAccounts only. These tests read the rendered objects through a model
 * of Linkerd's decision (src/mesh-access.ts) and ask, for every method of every service and every service as a
 * caller, whether the call gets through.
 */

const policies = methodPolicies();
const callersOf = (path: string): readonly string[] => policies.get(path)?.callers ?? [];
/** Every method of every service's contract, as paths. */
const methodsOf = (service: string): string[] =>
  declarationOf(service).grpcServices.flatMap((name) =>
    (Contract.lattice().registry.getService(name)?.methods ?? []).map((method) => `/${name}/${method.name}`),
  );
const restricted = declarations.flatMap((d) => methodsOf(d.name).filter((path) => callersOf(path).length > 0));
const meshed = (serviceAccount: string): MeshClient => ({ serviceAccount, namespace });

test("the contracts restrict at least one method to named callers (PaymentService.Charge: order only)", () => {
  assert.deepEqual(callersOf("/lattice.payment.v1.PaymentService/Charge"), ["order"]);
  assert.ok(restricted.length > 0);
});

test("charts/lattice/files/method-callers.yaml says what the contracts declare (npm run generate writes it)", () => {
  const file = parse(readFileSync(join(chartDir, "files", "method-callers.yaml"), "utf8")) as Record<
    string,
    { service: string; method: string; callers: { serviceAccount: string; namespace?: string }[] }[]
  >;
  const inFile = Object.entries(file).flatMap(([service, methods]) =>
    methods.map((m) => [service, `/${m.service}/${m.method}`, m.callers.map((c) => c.serviceAccount)]),
  );
  const declared = declarations.flatMap((d) =>
    methodsOf(d.name)
      .filter((path) => callersOf(path).length > 0)
      .map((path) => [d.name, path, callersOf(path).map((caller) => caller.replace(/^spiffe:\/\/.*\/sa\//, ""))]),
  );
  const order = (rows: unknown[][]) => rows.map((row) => JSON.stringify(row)).sort();
  assert.deepEqual(order(inFile), order(declared));
});

for (const set of ["mesh", "dev", "staging"] as const) {
  describe(`method caller rules under the mesh (${set} values)`, () => {
    const rendered = renderValueSet(set);

    test("each service is reachable, method by method, by exactly the callers its contract and the chart allow", async () => {
      const { manifests } = await rendered;
      const wrong: string[] = [];
      for (const { name: service } of declarations) {
        for (const path of methodsOf(service)) {
          for (const { name: caller, calls } of declarations) {
            // A method naming its callers takes only those; every other method, the services declaring they call.
            const expected = callersOf(path).length > 0 ? callersOf(path).includes(caller) : calls.includes(service);
            const allowed = meshAllows(manifests, `${service}-grpc`, path, meshed(caller), namespace);
            if (allowed !== expected) wrong.push(`${caller} → ${path}: ${allowed ? "allowed" : "refused"}`);
          }
        }
      }
      assert.deepEqual(wrong, []);
    });

    test("a restricted method is refused to any other mesh identity and to clients outside the mesh", async () => {
      const { manifests } = await rendered;
      for (const path of restricted) {
        const service = declarations.find((d) => methodsOf(d.name).includes(path))!.name;
        const server = `${service}-grpc`;
        assert.ok(
          routeOf(manifests, server, path)?.startsWith(`${service}-method-`),
          `${path} has no route of its own`,
        );
        for (const client of [meshed("intruder"), { address: "10.0.0.7" }, { serviceAccount: "order", namespace: "x" }])
          assert.equal(meshAllows(manifests, server, path, client, namespace), false, JSON.stringify(client));
      }
    });

    test("health and reflection on a restricted service's gRPC port stay open to its callers", async () => {
      const { manifests } = await rendered;
      for (const { name: service } of declarations.filter((d) =>
        methodsOf(d.name).some((p) => restricted.includes(p)),
      )) {
        const callers = declarations.filter((d) => d.calls.includes(service)).map((d) => d.name);
        assert.ok(callers.length > 0, `nobody calls ${service}`);
        for (const path of [
          "/grpc.health.v1.Health/Check",
          "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ]) {
          for (const caller of callers)
            assert.ok(meshAllows(manifests, `${service}-grpc`, path, meshed(caller), namespace), `${caller} → ${path}`);
        }
      }
    });

    test("no AuthorizationPolicy targets the gRPC Server of a service with method rules (it would open them all)", async () => {
      const { manifests } = await rendered;
      const routed = new Set(
        ofKind(manifests, "GRPCRoute").flatMap(
          (route) => (route.spec as { parentRefs?: { name: string }[] }).parentRefs?.map((parent) => parent.name) ?? [],
        ),
      );
      const widening = ofKind(manifests, "AuthorizationPolicy")
        .filter((policy) => {
          const target = (policy.spec as { targetRef: { kind: string; name: string } }).targetRef;
          return (target.kind === "Server" && routed.has(target.name)) || target.kind === "Namespace";
        })
        .map((policy) => policy.metadata.name);
      assert.deepEqual(widening, []);
    });

    test("every GRPCRoute attaches to a rendered gRPC Server and names a method of that service's contract", async () => {
      const { manifests } = await rendered;
      assert.deepEqual(linkerdProblems(manifests), []);
      for (const route of ofKind(manifests, "GRPCRoute")) {
        const spec = route.spec as {
          parentRefs: { name: string }[];
          rules: { matches?: { method?: { service?: string; method?: string } }[] }[];
        };
        for (const parent of spec.parentRefs) {
          const service = parent.name.replace(/-grpc$/, "");
          for (const match of spec.rules.flatMap((rule) => rule.matches ?? [])) {
            const path = `/${match.method?.service}/${match.method?.method}`;
            assert.ok(
              methodsOf(service).includes(path),
              `${route.metadata.name}: ${path} is not a method of ${service}`,
            );
          }
        }
      }
    });
  });
}

test("with linkerd.policy.methodCallers off, no route is rendered and a restricted method is open to the service's callers", async () => {
  const { manifests } = await helmTemplate({
    valuesFiles: valuesFiles("mesh"),
    setJson: ["linkerd.policy.methodCallers=false"],
  });
  assert.deepEqual(ofKind(manifests, "GRPCRoute"), [] as Manifest[]);
  const charge = "/lattice.payment.v1.PaymentService/Charge";
  assert.ok(meshAllows(manifests, "payment-grpc", charge, meshed("order"), namespace));
  assert.equal(
    meshAllows(manifests, "payment-grpc", charge, meshed("user"), namespace),
    false,
    "user calls no payment",
  );
});
