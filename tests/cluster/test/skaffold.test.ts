import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { OrderState } from "@lattice/proto/lattice/order/v1/order";
import { clusterEnv, nodeIp } from "../src/env.js";
import { isReady, kubectl, nodePortsOpen, pods } from "../src/kube.js";
import { euros, firstOrder, newUser, shopClients } from "../src/orders.js";
import { chartDir, repositoryRoot } from "../src/release.js";
import { run } from "../src/run.js";

// skaffold.yaml's dev profile deploys release lattice into lattice-dev with values/dev.yaml (in-release PostgreSQL
// and NATS, node ports 30051 and 30054).
const namespace = "lattice-dev";
const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(readFileSync(join(chartDir, "Chart.yaml"), "utf8"))?.[1];
const services = ["gateway", "greeter", "order", "payment", "user"];
// A home of its own: skaffold's global config there turns its update check and usage metrics off, so it never
// tries to reach anything outside this machine.
const home = mkdtempSync(join(tmpdir(), "lattice-skaffold-"));
mkdirSync(join(home, ".skaffold"), { recursive: true });
writeFileSync(
  join(home, ".skaffold", "config"),
  "global:\n  update-check: false\n  collect-metrics: false\n  survey:\n    disable-prompt: true\nkubeContexts: []\n",
);

const skaffold = (args: readonly string[]) =>
  run(clusterEnv("LATTICE_SKAFFOLD"), args, {
    cwd: repositoryRoot,
    timeoutMs: 420_000,
    env: {
      ...process.env,
      HOME: home,
      SKAFFOLD_UPDATE_CHECK: "false",
      PATH: `${dirname(clusterEnv("HELM"))}:${dirname(clusterEnv("LATTICE_KUBECTL"))}:${process.env.PATH ?? ""}`,
    },
  });

after(async () => {
  await skaffold(["delete", "--profile", "dev", "--kube-context", "lattice"]);
  await kubectl(["delete", "namespace", namespace, "--wait=true", "--timeout=90s"], { timeoutMs: 120_000 });
  rmSync(home, { recursive: true, force: true });
});

describe("skaffold against the cluster", () => {
  test("skaffold deploy of the dev profile with the built images: every pod Ready, an order PAID through the node port", async (t) => {
    assert.ok(appVersion);
    const version = await skaffold(["version"]);
    assert.equal(version.code, 0, version.stderr);
    t.diagnostic(`skaffold ${version.stdout.trim()}`);
    const images = services.flatMap((service) => ["--images", `localhost/lattice/${service}:${appVersion}`]);
    const started = Date.now();
    const deployed = await skaffold([
      "deploy",
      "--profile",
      "dev",
      // The profile pins kind's context; the flag points the same skaffold.yaml at this cluster.
      "--kube-context",
      "lattice",
      ...images,
      "--status-check=true",
      "--update-check=false",
      "--interactive=false",
    ]);
    t.diagnostic(`skaffold deploy took ${Date.now() - started} ms`);
    assert.equal(deployed.code, 0, `skaffold deploy exited ${deployed.code}:\n${deployed.stdout}\n${deployed.stderr}`);
    await nodePortsOpen(namespace);

    const all = await pods(namespace);
    for (const name of [...services, "postgresql", "nats"]) {
      const mine = all.filter((p) => p.metadata.labels?.["app.kubernetes.io/name"] === name);
      assert.ok(mine.length > 0, `no ${name} pod`);
      for (const pod of mine) assert.ok(isReady(pod), `${pod.metadata.name} is not Ready`);
    }
    for (const service of services) {
      const pod = all.find((p) => p.metadata.labels?.["app.kubernetes.io/name"] === service)!;
      assert.equal(
        pod.spec.containers.find((c) => c.name === service)?.image,
        `localhost/lattice/${service}:${appVersion}`,
      );
    }

    const userIp = all.find((p) => p.metadata.labels?.["app.kubernetes.io/name"] === "user")!.status.podIP!;
    const shop = shopClients(`${nodeIp()}:30054`, `${userIp}:50051`);
    try {
      const user = await newUser(shop.users);
      const order = await firstOrder(shop.orders, {
        user,
        items: [{ sku: "book-6", quantity: 3, unitPrice: euros(100) }],
      });
      assert.equal(order?.state, OrderState.ORDER_STATE_PAID);
    } finally {
      shop.close();
    }
  });
});
