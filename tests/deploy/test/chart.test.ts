import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { parseDocument } from "yaml";
import {
  grpcServicesOf,
  isHeadless,
  preStopSleepSeconds,
  probeKinds,
  serviceNames,
  servicesSelecting,
  targetServiceName,
  terminationGraceSeconds,
} from "../src/chart-contract.js";
import { envMillis, resolveServiceEnv } from "../src/container-env.js";
import { peerAddressesOf } from "../src/declarations.js";
import { linkerdProblems, selectedDeployments, unauthenticatedAccessTo } from "../src/linkerd.js";
import {
  chartDir,
  helmLint,
  helmTemplate,
  renderValueSet,
  valueSets,
  valuesFiles,
  type Rendered,
  type ValueSet,
} from "../src/helm.js";
import { kubeconform, problems } from "../src/kubeconform.js";
import { deploymentOf, ofKind, serviceContainer, type Deployment, type Manifest } from "../src/manifests.js";
import { repositoryRoot } from "../src/repository.js";

const renders = new Map<ValueSet, Promise<Rendered>>();
const render = (set: ValueSet): Promise<Rendered> => {
  let rendered = renders.get(set);
  if (!rendered) renders.set(set, (rendered = renderValueSet(set)));
  return rendered;
};

function yamlFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((entry) => join(dir, entry))
    .filter((path) => /\.ya?ml$/.test(path) && statSync(path).isFile())
    .sort();
}

for (const set of valueSets) {
  describe(`chart with the ${set} values`, () => {
    test("helm lint --strict passes", async () => {
      const result = await helmLint({
        valuesFiles: set === "default" ? [] : [join(chartDir, "values", `${set}.yaml`)],
      });
      assert.equal(result.code, 0, `helm lint --strict failed:\n${result.stdout}\n${result.stderr}`);
    });

    test("every rendered manifest passes kubeconform -strict against the offline schemas", async () => {
      const { text, manifests } = await render(set);
      assert.ok(manifests.length > 0, "helm template rendered nothing");
      const validation = await kubeconform({ stdin: text });
      assert.deepEqual(problems(validation), [], validation.stderr);
      assert.equal(validation.exitCode, 0);
      // Every object was looked at: nothing was skipped or silently dropped.
      assert.equal(validation.resources.length, manifests.length);
    });

    for (const service of serviceNames) {
      test(`${service}: gRPC probes on the health port with the right service names`, async () => {
        const { manifests } = await render(set);
        const container = serviceContainer(deploymentOf(manifests, service), service);
        assert.deepEqual(container.command, ["node", `/app/services/${service}/dist/src/main.js`]);
        const env = resolveServiceEnv(service, container, manifests);
        const healthPort = Number(env.HEALTH_PORT);
        const declared = (container.ports ?? []).map((port) => port.containerPort);
        assert.ok(declared.includes(healthPort), `health port ${healthPort} is not a declared containerPort`);
        const answered = ["", "readiness", "liveness", ...grpcServicesOf(service)];
        for (const kind of probeKinds) {
          const probe = container[kind];
          assert.ok(probe, `${kind} is missing`);
          assert.ok(probe.grpc, `${kind} is not a native grpc probe: ${JSON.stringify(probe)}`);
          assert.equal(
            typeof probe.grpc.port,
            "number",
            `${kind}.grpc.port must be a number (grpc probes take no names)`,
          );
          assert.equal(probe.grpc.port, healthPort, `${kind} must probe the plaintext health port`);
          assert.ok(
            answered.includes(probe.grpc.service ?? ""),
            `${kind} asks for ${probe.grpc.service}, not answered`,
          );
        }
        assert.equal(container.readinessProbe?.grpc?.service, "readiness");
        assert.equal(container.livenessProbe?.grpc?.service, "liveness");
      });

      test(`${service}: hardened securityContext and resources`, async () => {
        const { manifests } = await render(set);
        const deployment = deploymentOf(manifests, service);
        const pod = deployment.spec.template.spec.securityContext ?? {};
        const container = serviceContainer(deployment, service);
        const own = container.securityContext ?? {};
        const either = (key: string): unknown => own[key] ?? pod[key];
        assert.equal(either("runAsNonRoot"), true, "runAsNonRoot");
        assert.equal(own.readOnlyRootFilesystem, true, "readOnlyRootFilesystem");
        assert.equal(own.allowPrivilegeEscalation, false, "allowPrivilegeEscalation");
        assert.deepEqual((own.capabilities as { drop?: string[] } | undefined)?.drop, ["ALL"], "capabilities.drop");
        assert.equal((either("seccompProfile") as { type?: string } | undefined)?.type, "RuntimeDefault", "seccomp");
        const user = either("runAsUser");
        assert.ok(user === undefined || (typeof user === "number" && user > 0), `runAsUser ${String(user)}`);
        const resources = container.resources as { requests?: Record<string, unknown> } | undefined;
        assert.ok(
          resources?.requests?.cpu !== undefined && resources.requests.memory !== undefined,
          "resources.requests",
        );
      });

      test(`${service}: grace period covers preStop + drain + timeout; readiness is probed within the drain`, async () => {
        const { manifests } = await render(set);
        const deployment = deploymentOf(manifests, service);
        const container = serviceContainer(deployment, service);
        const env = resolveServiceEnv(service, container, manifests);
        const budget =
          preStopSleepSeconds(container) +
          envMillis(env, "SHUTDOWN_DRAIN_MS") / 1000 +
          envMillis(env, "SHUTDOWN_TIMEOUT_MS") / 1000;
        const grace = terminationGraceSeconds(deployment);
        assert.ok(grace >= budget, `terminationGracePeriodSeconds ${grace} < preStop + drain + timeout = ${budget}`);
        // A readiness probe must land inside the drain, or the kubelet never sees NOT_SERVING before the exit.
        const period = container.readinessProbe?.periodSeconds ?? 10;
        const drain = envMillis(env, "SHUTDOWN_DRAIN_MS") / 1000;
        assert.ok(period <= drain, `readinessProbe.periodSeconds ${period} is longer than the ${drain}s drain`);
      });

      test(`${service}: Services name the gRPC port and mark it h2c when it is plaintext`, async () => {
        const { manifests } = await render(set);
        const container = serviceContainer(deploymentOf(manifests, service), service);
        const tls = (resolveServiceEnv(service, container, manifests).TLS_MODE ?? "plaintext") !== "plaintext";
        const selecting = servicesSelecting(manifests, service);
        assert.ok(selecting.length > 0, `no Service selects app.kubernetes.io/name=${service}`);
        for (const svc of selecting) {
          const ports = (svc.spec as { ports?: { name?: string; appProtocol?: string }[] }).ports ?? [];
          const grpc = ports.find((port) => port.name === "grpc");
          assert.ok(grpc, `Service ${svc.metadata.name} has no port named grpc`);
          // Over TLS the port is not cleartext HTTP/2: a proxy taking it for h2c would break every call.
          assert.equal(grpc.appProtocol, tls ? undefined : "kubernetes.io/h2c", `Service ${svc.metadata.name}`);
          const health = ports.find((port) => port.name === "health");
          if (health) assert.equal(health.appProtocol, "kubernetes.io/h2c", "the health port is always plaintext");
        }
      });
    }

    test("a default-deny NetworkPolicy covers every service's pods", async () => {
      const { manifests } = await render(set);
      // Deny both ways with no rule at all, selecting (at least) every pod the chart runs.
      const denyAll = ofKind(manifests, "NetworkPolicy").filter((policy) => {
        const spec = policy.spec as {
          podSelector?: unknown;
          policyTypes?: string[];
          ingress?: unknown[];
          egress?: unknown[];
        };
        const types = spec.policyTypes ?? [];
        const noRules = (spec.ingress ?? []).length === 0 && (spec.egress ?? []).length === 0;
        const covered = selectedDeployments(manifests, spec.podSelector);
        const all = serviceNames.every((service) => covered.includes(deploymentOf(manifests, service)));
        return types.includes("Ingress") && types.includes("Egress") && noRules && all;
      });
      assert.ok(denyAll.length > 0, "no NetworkPolicy denies ingress and egress for every service's pods");
    });

    test("Linkerd policy objects have known fields and resolvable references", async () => {
      const { manifests } = await render(set);
      assert.deepEqual(linkerdProblems(manifests), []);
    });
  });
}

/** The peer targets order gets (one per service it declares it calls), with the Service each one names. */
async function orderPeers(set: ValueSet) {
  const { manifests } = await render(set);
  const container = serviceContainer(deploymentOf(manifests, "order"), "order");
  const env = resolveServiceEnv("order", container, manifests);
  return {
    manifests,
    env,
    annotations: deploymentOf(manifests, "order").spec.template.metadata?.annotations ?? {},
    peers: peerAddressesOf("order").map(({ variable, peer }) => {
      const target = env[variable];
      assert.ok(target, `order has no ${variable}`);
      const parsed = targetServiceName(target);
      const svc = manifests.find((m: Manifest) => m.kind === "Service" && m.metadata.name === parsed.name);
      assert.ok(svc, `${variable}=${target} names Service ${parsed.name}, which is not rendered`);
      assert.ok(servicesSelecting([svc], peer).length === 1, `Service ${parsed.name} does not select ${peer}`);
      return { variable, target, parsed, svc };
    }),
  };
}

test("mesh values: Linkerd injection, clients on ClusterIP Services, probe ports open to the kubelet", async () => {
  const { peers, annotations, manifests, env } = await orderPeers("mesh");
  for (const service of serviceNames) {
    const deployment: Deployment = deploymentOf(manifests, service);
    const port = serviceContainer(deployment, service).readinessProbe?.grpc?.port as number;
    const servers = unauthenticatedAccessTo(manifests, deployment, port);
    assert.ok(
      servers.length > 0,
      `${service}: no Server on probe port ${port} authorized for unauthenticated networks`,
    );
  }
  assert.equal(annotations["linkerd.io/inject"], "enabled");
  assert.equal(env.MESH_IDENTITY, "linkerd", "rate limits tell callers apart by the proxy's l5d-client-id");
  for (const { variable, target, svc, parsed } of peers) {
    assert.equal(isHeadless(svc), false, `${variable}=${target} must name a ClusterIP Service under the mesh`);
    assert.notEqual(parsed.scheme, "dns", `${variable}=${target}: the mesh balances, the client needs no DNS resolver`);
  }
});

test("mesh values with injection disabled: MESH_IDENTITY is not set, as no proxy removes a forged l5d-client-id", async () => {
  const { manifests } = await helmTemplate({
    valuesFiles: valuesFiles("mesh"),
    setJson: ['linkerd.inject="disabled"'],
  });
  const env = resolveServiceEnv("order", serviceContainer(deploymentOf(manifests, "order"), "order"), manifests);
  assert.equal(env.MESH_IDENTITY, undefined);
});

test("no-mesh values: no injection, round_robin over headless Services by DNS", async () => {
  const { peers, annotations, env } = await orderPeers("no-mesh");
  assert.notEqual(annotations["linkerd.io/inject"], "enabled");
  assert.equal(env.GRPC_LB_POLICY, "round_robin");
  assert.equal(env.MESH_IDENTITY, undefined, "without the proxy, l5d-client-id is whatever a client sends");
  for (const { variable, target, svc, parsed } of peers) {
    assert.equal(parsed.scheme, "dns", `${variable}=${target} must be a dns:/// target`);
    assert.equal(isHeadless(svc), true, `${variable}=${target} must name a headless Service`);
  }
});

test("k8s/ manifests pass kubeconform -strict", async () => {
  const files = yamlFilesUnder(join(repositoryRoot, "k8s"));
  assert.ok(files.length > 0, "k8s/ holds no YAML manifests");
  const validation = await kubeconform({ files });
  assert.deepEqual(problems(validation), [], validation.stderr);
  assert.equal(validation.exitCode, 0);
});

test("no secret values in the shipped values files (dev defaults excepted)", () => {
  const secretKey = /(password|passwd|secret|token|api_?key|credential|private_?key)/i;
  // Names of Secrets or keys in them are references, not secret values.
  const reference = /^existing|(name|ref|key|secret)$/i;
  const userinfoWithPassword = /^[a-z][a-z0-9+.-]*:\/\/[^/@:\s]+:[^/@\s]+@/i;
  const files = [
    join(chartDir, "values.yaml"),
    ...["staging", "mesh", "no-mesh", "mtls"].map((s) => join(chartDir, "values", `${s}.yaml`)),
  ];
  const found: string[] = [];
  const walk = (value: unknown, path: string, file: string) => {
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, `${path}[${index}]`, file));
    else if (value && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key;
        if (typeof child === "string" && child !== "" && secretKey.test(key) && !reference.test(key)) {
          found.push(`${relative(repositoryRoot, file)}: ${childPath} has a value`);
        }
        walk(child, childPath, file);
      }
    } else if (typeof value === "string" && userinfoWithPassword.test(value)) {
      found.push(`${relative(repositoryRoot, file)}: ${path} holds a URL with a password`);
    }
  };
  for (const file of files) walk(parseDocument(readFileSync(file, "utf8")).toJS(), "", file);
  assert.deepEqual(found, []);
});

describe("the offline validation can fail", () => {
  const dir = join(repositoryRoot, "tests", "deploy", "fixtures", "known-bad");
  const expected: Record<string, RegExp> = {
    "unknown-field.yaml": /periodSecond/,
    "wrong-type.yaml": /port/,
    "unknown-service-field.yaml": /appProtcol/,
    "no-schema.yaml": /could not find schema for Widget/,
    "crd-unknown-field.yaml": /intervall/,
  };
  for (const [file, reason] of Object.entries(expected)) {
    test(`known-bad ${file} is rejected`, async () => {
      const validation = await kubeconform({ files: [join(dir, file)] });
      assert.notEqual(validation.exitCode, 0);
      assert.equal(validation.resources.length, 1);
      const [result] = validation.resources;
      assert.ok(result && result.status !== "statusValid", `${file} passed validation`);
      assert.match(result.msg ?? "", reason);
    });
  }
  test("every known-bad fixture has an expectation", () => {
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(expected).sort());
  });
});
