import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { getJson, kubectlOk, until, type Condition } from "../src/kube.js";
import { chartDir, Release } from "../src/release.js";

let release: Release;
const services = ["gateway", "greeter", "order", "payment", "user"];

interface Deployment {
  readonly spec: { readonly replicas: number };
  readonly status: { readonly readyReplicas?: number };
}

interface Autoscaler {
  readonly status: { readonly currentMetrics?: unknown[]; readonly conditions?: Condition[] };
}

before(async () => {
  release = await Release.create("lattice-staging");
  // values/staging.yaml reads credentials from Secrets made outside the chart: made here, for this run's servers.
  for (const [service, nats] of [
    ["user", false],
    ["payment", true],
    ["order", true],
  ] as const) {
    await kubectlOk([
      "create",
      "secret",
      "generic",
      `${service}-credentials`,
      "-n",
      release.namespace,
      `--from-literal=DATABASE_URL=${release.databaseUrl}`,
      ...(nats ? [`--from-literal=NATS_URL=${release.natsUrl}`] : []),
    ]);
  }
});

after(async () => {
  await release.close();
});

describe("values/staging.yaml: autoscaled services at their intended capacity, metrics-server feeding the HPAs", () => {
  test("helm install --wait returns with two Ready replicas of every service, not one", async (t) => {
    const started = Date.now();
    const result = await release.install(["--values", `${chartDir}/values/staging.yaml`], { timeout: "300s" });
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    t.diagnostic(`helm install --wait of the staging set took ${Date.now() - started} ms`);
    for (const service of services) {
      const deployment = await getJson<Deployment>(["deployment", service, "-n", release.namespace]);
      assert.equal(deployment.spec.replicas, 2, `${service}: spec.replicas`);
      assert.equal(deployment.status.readyReplicas, 2, `${service}: Ready replicas when helm returned`);
    }
    assert.doesNotMatch(
      result.stdout,
      /serves no resource metrics/,
      "NOTES warn about metrics although metrics-server runs",
    );
  });

  test("every HorizontalPodAutoscaler reads CPU use from metrics-server", async (t) => {
    const started = Date.now();
    for (const service of services) {
      await until(
        `${service}'s HPA to compute its metric`,
        async () => {
          const hpa = await getJson<Autoscaler>(["hpa", service, "-n", release.namespace]);
          const active = hpa.status.conditions?.find((c) => c.type === "ScalingActive");
          return active?.status === "True" && (hpa.status.currentMetrics?.length ?? 0) > 0 ? true : undefined;
        },
        180_000,
        2_000,
      );
    }
    t.diagnostic(`all HPAs active ${Date.now() - started} ms after install`);
    const warnings = await getJson<{ items: { reason: string; involvedObject: { kind: string } }[] }>([
      "events",
      "-n",
      release.namespace,
      "--field-selector",
      "type=Warning",
    ]);
    const failed = warnings.items.filter(
      (e) => e.involvedObject.kind === "HorizontalPodAutoscaler" && /^FailedGet/.test(e.reason),
    );
    // The first computation may come before metrics-server has a sample of a new pod; no more than that.
    assert.ok(failed.length <= services.length * 2, `${failed.length} metric failures of the HPAs`);
  });

  test("helm upgrade keeps the replica count the HPA set", async () => {
    await kubectlOk(["scale", "deployment", "payment", "-n", release.namespace, "--replicas", "3"]);
    await sleep(2_000);
    const result = await release.install(["--values", `${chartDir}/values/staging.yaml`], { timeout: "300s" });
    assert.equal(result.code, 0, result.stderr);
    const deployment = await getJson<Deployment>(["deployment", "payment", "-n", release.namespace]);
    assert.equal(deployment.spec.replicas, 3, "helm upgrade reset the autoscaled count");
  });
});
