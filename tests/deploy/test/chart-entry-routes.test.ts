import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { helmTemplate, helmTemplateRaw } from "../src/helm.js";
import { kubeconform, problems } from "../src/kubeconform.js";
import { named, ofKind, type Manifest } from "../src/manifests.js";

/**
 * The gateway's optional entry objects: an Ingress (networking.k8s.io/v1) and a Gateway API HTTPRoute
 * (gateway.networking.k8s.io/v1) to its plain HTTP port, off by default, schema-checked when on.
 */
describe("the gateway's Ingress and HTTPRoute", () => {
  const enabled = [
    `services.gateway.http.ingress={"enabled":true,"className":"nginx","hosts":["api.example.org"],"path":"/",` +
      `"annotations":{"nginx.ingress.kubernetes.io/proxy-read-timeout":"3600"},` +
      `"tls":[{"hosts":["api.example.org"],"secretName":"api-tls"}]}`,
    `services.gateway.http.route={"enabled":true,"parentRefs":[{"name":"public","namespace":"gateways",` +
      `"sectionName":"https"}],"hostnames":["api.example.org"],"path":"/"}`,
  ];

  test("are not rendered by default", async () => {
    const { manifests } = await helmTemplate();
    assert.deepEqual(ofKind(manifests, "Ingress"), [] as Manifest[]);
    assert.deepEqual(ofKind(manifests, "HTTPRoute"), [] as Manifest[]);
  });

  test("when enabled, route every path of the hosts to the gateway Service's http port, and pass kubeconform -strict", async () => {
    const { text, manifests } = await helmTemplate({ setJson: enabled });
    const ingress = named(manifests, "Ingress", "gateway") as
      (Manifest & { spec: { ingressClassName: string; tls: unknown; rules: unknown[] } }) | undefined;
    assert.ok(ingress, "an Ingress named gateway");
    assert.equal(ingress.spec.ingressClassName, "nginx");
    assert.deepEqual(ingress.spec.tls, [{ hosts: ["api.example.org"], secretName: "api-tls" }]);
    assert.deepEqual(ingress.spec.rules, [
      {
        host: "api.example.org",
        http: {
          paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "gateway", port: { name: "http" } } } }],
        },
      },
    ]);
    const route = named(manifests, "HTTPRoute", "gateway") as
      (Manifest & { spec: { parentRefs: unknown; hostnames: unknown; rules: { backendRefs: unknown }[] } }) | undefined;
    assert.ok(route, "an HTTPRoute named gateway");
    assert.deepEqual(route.spec.parentRefs, [{ name: "public", namespace: "gateways", sectionName: "https" }]);
    assert.deepEqual(route.spec.hostnames, ["api.example.org"]);
    // The port the Service's http port has (backendRefs name Service ports by number).
    const service = named(manifests, "Service", "gateway") as
      (Manifest & { spec: { ports: { name: string; port: number }[] } }) | undefined;
    const httpPort = service?.spec.ports.find((port) => port.name === "http")?.port;
    assert.ok(httpPort !== undefined, "the gateway Service has an http port");
    assert.deepEqual(route.spec.rules[0]?.backendRefs, [{ name: "gateway", port: httpPort }]);
    // Only the service that serves HTTP gets them.
    assert.equal(ofKind(manifests, "Ingress").length, 1);
    assert.equal(ofKind(manifests, "HTTPRoute").length, 1);

    const validation = await kubeconform({ stdin: text });
    assert.deepEqual(problems(validation), [], validation.stderr);
    assert.ok(
      validation.resources.some((r) => r.kind === "HTTPRoute" && r.status === "statusValid"),
      "the HTTPRoute was validated against the Gateway API schema, not skipped",
    );
  });

  test("an HTTPRoute without a Gateway to attach to fails the render, naming the value", async () => {
    const result = await helmTemplateRaw({ setJson: ['services.gateway.http.route={"enabled":true}'] });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /services\.gateway\.http\.route: parentRefs must name at least one Gateway/);
  });

  test("misspelled or mistyped entry values are rejected by the values schema", async () => {
    for (const bad of [
      'services.gateway.http.ingress={"enabled":true,"host":"api.example.org"}',
      'services.gateway.http.ingress={"enabled":true,"hosts":["Not A Host"]}',
      'services.gateway.http.ingress={"enabled":true,"path":"v1"}',
      'services.gateway.http.route={"enabled":true,"parentRefs":[{"namespace":"gateways"}]}',
      'services.gateway.http.route={"enabled":"yes"}',
    ]) {
      const result = await helmTemplateRaw({ setJson: [bad] });
      assert.notEqual(result.code, 0, `accepted: ${bad}`);
      assert.match(result.stderr, /values don't meet the specifications of the schema/, bad);
    }
  });
});
