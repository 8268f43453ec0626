import assert from "node:assert/strict";
import { test } from "node:test";
import type { Manifest } from "../src/manifests.js";
import { meshAllows, routeOf } from "../src/mesh-access.js";

/**
 * The model of Linkerd's authorization the chart tests rely on (src/mesh-access.ts), on objects written here: the
 * rules it must follow, each of which the chart's route policy depends on.
 */

const ns = "shop";
const object = (kind: string, name: string, spec: unknown): Manifest => ({
  apiVersion: kind === "GRPCRoute" ? "gateway.networking.k8s.io/v1" : "policy.linkerd.io/v1alpha1",
  kind,
  metadata: { name, namespace: ns },
  spec,
});
const server = { group: "policy.linkerd.io", kind: "Server", name: "pay-grpc" };
const route = (name: string, method?: { service: string; method?: string }) =>
  object("GRPCRoute", name, { parentRefs: [server], rules: [method ? { matches: [{ method }] } : {}] });
const accounts = (name: string, ...serviceAccounts: string[]) =>
  object("MeshTLSAuthentication", name, {
    identityRefs: serviceAccounts.map((sa) => ({ kind: "ServiceAccount", name: sa })),
  });
const allow = (name: string, target: object, authentication: { kind: string; name: string }) =>
  object("AuthorizationPolicy", name, {
    targetRef: target,
    requiredAuthenticationRefs: [{ group: "policy.linkerd.io", ...authentication }],
  });
const CHARGE = "/shop.Pay/Charge";
const GET = "/shop.Pay/Get";
const as = (serviceAccount: string) => ({ serviceAccount, namespace: ns });

test("without routes, the Server's own authorizations decide for every method", () => {
  const objects = [
    accounts("callers", "order"),
    allow("server", server, { kind: "MeshTLSAuthentication", name: "callers" }),
  ];
  assert.equal(routeOf(objects, "pay-grpc", CHARGE), "default");
  assert.ok(meshAllows(objects, "pay-grpc", CHARGE, as("order"), ns));
  assert.equal(meshAllows(objects, "pay-grpc", CHARGE, as("user"), ns), false);
});

test("the most specific route takes the request; a rule without matches takes the rest; none matching refuses", () => {
  const objects = [
    route("any", undefined),
    route("charge", { service: "shop.Pay", method: "Charge" }),
    route("pay", { service: "shop.Pay" }),
  ];
  assert.equal(routeOf(objects, "pay-grpc", CHARGE), "charge");
  assert.equal(routeOf(objects, "pay-grpc", GET), "pay");
  assert.equal(routeOf(objects, "pay-grpc", "/grpc.health.v1.Health/Check"), "any");
  const only = [route("charge", { service: "shop.Pay", method: "Charge" })];
  assert.equal(routeOf(only, "pay-grpc", GET), undefined);
  assert.equal(
    meshAllows(
      [...only, accounts("a", "order"), allow("p", server, { kind: "MeshTLSAuthentication", name: "a" })],
      "pay-grpc",
      GET,
      as("order"),
      ns,
    ),
    false,
  );
});

test("a Server's authorizations apply to every route of it: they would widen a restricted one", () => {
  const charge = { group: "gateway.networking.k8s.io", kind: "GRPCRoute", name: "charge" };
  const objects = [
    route("charge", { service: "shop.Pay", method: "Charge" }),
    accounts("order", "order"),
    accounts("everyone", "order", "user"),
    allow("charge-order", charge, { kind: "MeshTLSAuthentication", name: "order" }),
  ];
  assert.ok(meshAllows(objects, "pay-grpc", CHARGE, as("order"), ns));
  assert.equal(meshAllows(objects, "pay-grpc", CHARGE, as("user"), ns), false);
  const widened = [...objects, allow("server", server, { kind: "MeshTLSAuthentication", name: "everyone" })];
  assert.ok(meshAllows(widened, "pay-grpc", CHARGE, as("user"), ns));
});

test("identities: a ServiceAccount in the policy's namespace unless another is named; networks by CIDR", () => {
  const objects = [
    route("any"),
    object("MeshTLSAuthentication", "ids", {
      identityRefs: [{ kind: "ServiceAccount", name: "gateway", namespace: "edge" }],
      identities: ["*.ops.serviceaccount.identity.linkerd.cluster.local"],
    }),
    object("NetworkAuthentication", "lan", { networks: [{ cidr: "10.1.0.0/16" }] }),
    allow(
      "ids",
      { group: "gateway.networking.k8s.io", kind: "GRPCRoute", name: "any" },
      { kind: "MeshTLSAuthentication", name: "ids" },
    ),
    allow(
      "lan",
      { group: "gateway.networking.k8s.io", kind: "GRPCRoute", name: "any" },
      { kind: "NetworkAuthentication", name: "lan" },
    ),
  ];
  assert.ok(meshAllows(objects, "pay-grpc", GET, { serviceAccount: "gateway", namespace: "edge" }, ns));
  assert.equal(meshAllows(objects, "pay-grpc", GET, as("gateway"), ns), false, "same name, other namespace");
  assert.ok(meshAllows(objects, "pay-grpc", GET, { serviceAccount: "anything", namespace: "ops" }, ns));
  assert.ok(meshAllows(objects, "pay-grpc", GET, { address: "10.1.200.3" }, ns));
  assert.equal(meshAllows(objects, "pay-grpc", GET, { address: "10.2.0.1" }, ns), false);
  assert.equal(meshAllows(objects, "pay-grpc", GET, { address: "fd00::1" }, ns), false);
});
