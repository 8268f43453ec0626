import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { clientPod } from "../src/client-pod.js";
import { isReady, kubectl, kubectlOk, pods } from "../src/kube.js";
import { Release } from "../src/release.js";

let release: Release;
let client = "";
let stranger = "";

before(async () => {
  release = await Release.create("lattice-policy");
  const result = await release.install([], { timeout: "240s" });
  if (result.code !== 0) throw new Error(`helm install --wait failed:\n${result.stdout}${result.stderr}`);
  client = await clientPod(release.namespace);
  // The same image, but not among the value set's entry clients.
  stranger = await clientPod(release.namespace, "stranger");
  await kubectlOk([
    "label",
    "pod",
    stranger,
    "-n",
    release.namespace,
    "app.kubernetes.io/name=stranger",
    "--overwrite",
  ]);
});

after(async () => {
  await release.close();
});

const podOf = async (service: string) =>
  (await pods(release.namespace, `app.kubernetes.io/name=${service}`))[0]!.metadata.name;

/**
 * Whether `from` (a pod) reaches `to` (Service name) on the gRPC port: the image's health-probe asks the gRPC port's
 * health service with a 3 s deadline (exit 0 SERVING, 2 unreachable).
 */
async function reaches(from: string, to: string): Promise<boolean> {
  const result = await kubectl(
    ["exec", "-n", release.namespace, from, "--", "health-probe", `--addr=${to}:50051`, "--timeout=3s"],
    { timeoutMs: 30_000 },
  );
  if (result.code !== 0 && result.code !== 2)
    throw new Error(`health-probe from ${from} to ${to} exited ${result.code}: ${result.stderr}`);
  return result.code === 0;
}

describe("NetworkPolicy enforced (kube-router's policy controller): default deny, exactly the call graph", () => {
  test("pods stay Ready under default deny: the kubelet's gRPC probes are admitted", async () => {
    for (const pod of await pods(release.namespace, "app.kubernetes.io/part-of=lattice"))
      assert.ok(isReady(pod), pod.metadata.name);
  });

  test("entry services admit the entry clients and nobody else", async () => {
    assert.equal(await reaches(client, "order"), true, "lattice-client → order");
    assert.equal(await reaches(client, "greeter"), true, "lattice-client → greeter");
    assert.equal(await reaches(stranger, "order"), false, "stranger → order");
    assert.equal(await reaches(stranger, "greeter"), false, "stranger → greeter");
    assert.equal(await reaches(client, "gateway"), true, "lattice-client → gateway");
    assert.equal(await reaches(stranger, "gateway"), false, "stranger → gateway");
  });

  test("internal services admit their callers only (order, and the gateway that forwards to them)", async () => {
    const order = await podOf("order");
    const user = await podOf("user");
    const payment = await podOf("payment");
    const gateway = await podOf("gateway");
    assert.equal(await reaches(order, "user"), true, "order → user");
    assert.equal(await reaches(order, "payment"), true, "order → payment");
    // The gateway forwards to every service whose methods it serves (its calls).
    assert.equal(await reaches(gateway, "user"), true, "gateway → user");
    assert.equal(await reaches(gateway, "payment"), true, "gateway → payment");
    assert.equal(await reaches(order, "gateway"), false, "order → gateway (not an entry client)");
    assert.equal(await reaches(client, "user"), false, "lattice-client → user");
    assert.equal(await reaches(client, "payment"), false, "lattice-client → payment");
    assert.equal(await reaches(order, "greeter"), false, "order → greeter (not in its calls)");
    assert.equal(await reaches(payment, "user"), false, "payment → user");
    assert.equal(await reaches(user, "payment"), false, "user → payment");
  });
});
