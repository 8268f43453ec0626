import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { OrderState } from "@lattice/proto/lattice/order/v1/order";
import { clusterEnv, nodeIp } from "../src/env.js";
import { events, getJson, isReady, kubectl, pods, until } from "../src/kube.js";
import { euros, firstOrder, newUser, shopClients } from "../src/orders.js";
import { readmeCommands } from "../src/readme.js";
import { clientPod, nodeScriptArgs } from "../src/client-pod.js";
import { chartDir, helm, Release } from "../src/release.js";
import { run } from "../src/run.js";

const services = ["gateway", "greeter", "order", "payment", "user"];
const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(readFileSync(join(chartDir, "Chart.yaml"), "utf8"))?.[1];

let release: Release;
let installMs = 0;
let installOutput = "";

before(async () => {
  release = await Release.create("lattice-install");
  const started = Date.now();
  const result = await release.install([], { timeout: "240s" });
  installMs = Date.now() - started;
  installOutput = result.stdout + result.stderr;
  if (result.code !== 0) {
    const described = await kubectl(["describe", "pods", "-n", release.namespace]);
    throw new Error(`helm install --wait failed (exit ${result.code}):\n${installOutput}\n${described.stdout}`);
  }
});

after(async () => {
  await release.close();
});

/** A free port on 127.0.0.1, for a port-forward's local end. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("helm install of charts/lattice into the cluster", () => {
  test("helm install --wait succeeds and every pod is Ready", async (t) => {
    t.diagnostic(`helm install --wait took ${installMs} ms`);
    const all = await pods(release.namespace);
    const byService = new Map(
      services.map((name) => [name, all.filter((p) => p.metadata.labels?.["app.kubernetes.io/name"] === name)]),
    );
    for (const [name, list] of byService) {
      assert.equal(list.length, name === "payment" ? 2 : 1, `${name}: ${list.length} pods`);
      for (const pod of list) assert.ok(isReady(pod), `${pod.metadata.name} is not Ready`);
    }
  });

  test("readiness comes from the kubelet's native gRPC probes on the health port", async () => {
    for (const pod of await pods(release.namespace, "app.kubernetes.io/part-of=lattice")) {
      const container = pod.spec.containers[0]!;
      for (const [kind, probe, service] of [
        ["startup", container.startupProbe, "readiness"],
        ["readiness", container.readinessProbe, "readiness"],
        ["liveness", container.livenessProbe, "liveness"],
      ] as const) {
        assert.deepEqual(probe?.grpc, { port: 8091, service }, `${pod.metadata.name}: ${kind} probe`);
        assert.equal(probe.httpGet ?? probe.exec ?? probe.tcpSocket, undefined);
      }
      const status = pod.status.containerStatuses?.[0];
      assert.equal(status?.started, true, `${pod.metadata.name}: the startup probe has not passed`);
      assert.equal(status.restartCount, 0, `${pod.metadata.name} restarted`);
    }
    // The kubelet ran them: a probe that never succeeded would leave the pods unready, and the kubelet reports each
    // failure as an Unhealthy event; the services start NOT_SERVING, so the startup probe failing first is normal.
    const unhealthy = (await events(release.namespace)).filter(
      (e) => e.reason === "Unhealthy" && !/^Startup probe failed/.test(e.message),
    );
    assert.deepEqual(
      unhealthy.map((e) => `${e.involvedObject.name}: ${e.message}`),
      [],
    );
  });

  test("the chart's default image names are the built images: present on the node, never pulled", async () => {
    assert.ok(appVersion, "no appVersion in Chart.yaml");
    for (const pod of await pods(release.namespace, "app.kubernetes.io/part-of=lattice")) {
      const name = pod.metadata.labels?.["app.kubernetes.io/name"];
      const container = pod.spec.containers[0]!;
      assert.equal(container.image, `localhost/lattice/${name}:${appVersion}`);
      assert.equal(container.imagePullPolicy, "IfNotPresent");
    }
    const all = await events(release.namespace);
    assert.deepEqual(
      // Any pull attempt or pull failure (Pulling, ErrImagePull, "Back-off pulling image"); other Failed events (a
      // kubelet's config cache slow under load) are not about images.
      all
        .filter((e) => e.reason === "Pulling" || (e.reason !== "Pulled" && /pull/i.test(e.message)))
        .map((e) => e.message),
      [],
      "the kubelet tried to pull",
    );
    assert.ok(all.some((e) => e.reason === "Pulled" && /already present on machine/.test(e.message)));
  });

  test("NOTES: NATS_URL is optional, and the API-server proxy command is printed where the policy admits it", async () => {
    const notes = (await helm(["get", "notes", release.name, "-n", release.namespace])).stdout;
    assert.doesNotMatch(notes, /NATS_URL[^\n]*required/i);
    // This value set admits the node (networkPolicy.probeSources), so the command is there, and works (below).
    assert.match(notes, /kubectl get --raw \/api\/v1\/namespaces\/[^/]+\/services\/[a-z-]+:admin\/proxy\/readyz/);
    const defaults = await helm(["template", "x", chartDir, "--set", "postgresql.url=postgres://h/d"]);
    assert.equal(defaults.code, 0, defaults.stderr);
    const offline = await helm([
      "install",
      "x",
      chartDir,
      "--dry-run",
      "--set",
      "postgresql.url=postgres://h/d",
      "-n",
      `${release.namespace}-notes`,
    ]);
    assert.doesNotMatch(
      offline.stdout,
      /kubectl get --raw \/api/,
      "the default policy blocks the proxy, NOTES must not offer it",
    );
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stdout, /networkPolicy\.probeSources/, offline.stderr);
    assert.match(offline.stdout, /NATS_URL is optional/);
  });

  test("helm test passes, and helm test --logs exits 0 with the probe's output", async () => {
    const plain = await helm(["test", release.name, "-n", release.namespace, "--timeout", "120s"]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /Phase:\s+Succeeded/);
    const logs = await helm(["test", release.name, "-n", release.namespace, "--logs", "--timeout", "120s"]);
    assert.equal(logs.code, 0, `helm test --logs exited ${logs.code}:\n${logs.stdout}${logs.stderr}`);
    assert.match(logs.stdout, /POD LOGS: lattice-test-health/);
    for (const service of services) assert.match(logs.stdout, new RegExp(`^${service}:8091 readiness SERVING$`, "m"));
  });

  test("a CreateOrder through order's node port on the node address reaches user and payment by DNS and ends PAID", async () => {
    const config = await getJson<{ data: Record<string, string> }>([
      "configmap",
      "order-config",
      "-n",
      release.namespace,
    ]);
    assert.equal(config.data.USER_SERVICE_ADDRESS, `dns:///user-headless.${release.namespace}.svc.cluster.local:50051`);
    assert.equal(
      config.data.PAYMENT_SERVICE_ADDRESS,
      `dns:///payment-headless.${release.namespace}.svc.cluster.local:50051`,
    );
    const shop = shopClients(`${nodeIp()}:30054`, await forwardedAddress("user", 50051));
    try {
      const user = await newUser(shop.users);
      const order = await firstOrder(shop.orders, {
        user,
        items: [{ sku: "book-1", quantity: 2, unitPrice: euros(1250) }],
      });
      assert.equal(order?.state, OrderState.ORDER_STATE_PAID);
      assert.deepEqual(order.total, euros(2500));
    } finally {
      shop.close();
      stopForwards();
    }
  });

  test("a CreateOrder from a pod through order's ClusterIP Service ends PAID", async () => {
    // The user comes from outside (user admits order alone: the policy refuses the client pod, see
    // network-policy.test.ts); the order from a pod, by the Service's name.
    const shop = shopClients(`${nodeIp()}:30054`, await forwardedAddress("user", 50051));
    let user: string;
    try {
      user = await newUser(shop.users);
    } finally {
      shop.close();
      stopForwards();
    }
    const client = await clientPod(release.namespace);
    const script = `
      import { createClient } from "@lattice/kit";
      import { OrderServiceService } from "@lattice/proto/lattice/order/v1/order";
      const orders = createClient(OrderServiceService, "order:50051", { defaultTimeoutMs: 15000 });
      const { order } = await orders.createOrder({ user: ${JSON.stringify(user)}, items: [{ sku: "book-2", quantity: 1, unitPrice: { currencyCode: "EUR", amountMinor: 700 } }] });
      console.log(JSON.stringify({ state: order.state, total: order.total }));
      orders.close();`;
    const result = await kubectl(nodeScriptArgs(release.namespace, client, script), { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { state: number; total: unknown };
    assert.equal(answer.state, OrderState.ORDER_STATE_PAID);
    assert.deepEqual(answer.total, euros(700));
  });

  test("the same order through the gateway's REST port (node port 30080) ends PAID", async () => {
    const config = await getJson<{ data: Record<string, string> }>([
      "configmap",
      "gateway-config",
      "-n",
      release.namespace,
    ]);
    assert.equal(
      config.data.ORDER_SERVICE_ADDRESS,
      `dns:///order-headless.${release.namespace}.svc.cluster.local:50051`,
    );
    const base = `http://${nodeIp()}:30080`;
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      assert.equal(response.status, 200, `POST ${path}: ${response.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const created = await post("/v1/users", { email: `rest-${Date.now()}@example.org`, displayName: "Grace" });
    const user = (created as { user?: { name?: string } }).user?.name;
    assert.match(user ?? "", /^users\/[0-9a-f-]{36}$/);
    const answer = (await post("/v1/orders", {
      user,
      items: [{ sku: "book-3", quantity: 3, unitPrice: { currencyCode: "EUR", amountMinor: "400" } }],
    })) as { order?: { state?: string; total?: { currencyCode?: string; amountMinor?: string } } };
    assert.equal(answer.order?.state, "ORDER_STATE_PAID");
    assert.deepEqual(answer.order.total, { currencyCode: "EUR", amountMinor: "1200" });
  });

  test("the README's kubectl health probing commands work as written", async (t) => {
    const commands = readmeCommands("### Probing health with kubectl");
    assert.ok(commands.length >= 6, `only ${commands.length} commands in the README section`);
    const local = await freePort();
    // Only the namespace and the port-forward's local port differ from what the README shows.
    const adapt = (command: string) =>
      command
        .replaceAll("lattice-dev", release.namespace)
        .replace(/\b8081:admin\b/, `${local}:admin`)
        .replace("127.0.0.1:8081/", `127.0.0.1:${local}/`);
    const env = {
      ...process.env,
      PATH: `${join(clusterEnv("LATTICE_KUBECTL"), "..")}:${join(clusterEnv("HELM"), "..")}:${process.env.PATH ?? ""}`,
    };
    const background: ReturnType<typeof spawn>[] = [];
    try {
      for (const original of commands) {
        const command = adapt(original);
        if (command.endsWith("&")) {
          const child = spawn("bash", ["-c", command.slice(0, -1)], { env, stdio: "ignore" });
          background.push(child);
          await until(
            `${command} to listen`,
            async () =>
              (await run("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${local}/livez`])).code === 0
                ? true
                : undefined,
            30_000,
          );
          continue;
        }
        const result = await run("bash", ["-c", command], { env, timeoutMs: 120_000 });
        t.diagnostic(`${original} → exit ${result.code}`);
        assert.equal(result.code, 0, `${command} exited ${result.code}:\n${result.stdout}${result.stderr}`);
        if (command.startsWith("curl -i")) assert.match(result.stdout, /^HTTP\/1\.1 200/, command);
        if (command.includes("get --raw")) assert.equal(result.stdout, "ok\n", command);
      }
    } finally {
      for (const child of background) child.kill("SIGTERM");
    }
    // And the same proxy path answers 503 when the service is not ready: it really asks the pod.
    assert.ok(
      commands.some((c) => c.includes("/proxy/readyz")) &&
        commands.some((c) => c.includes("/proxy/livez") || c.includes("/livez")),
    );
  });

  test("a new chart version that changes no pod restarts none", async () => {
    const before = new Map(
      (await pods(release.namespace, "app.kubernetes.io/part-of=lattice")).map((p) => [
        p.metadata.name,
        p.metadata.uid,
      ]),
    );
    const copy = mkdtempSync(join(tmpdir(), "lattice-chart-"));
    try {
      cpSync(chartDir, copy, { recursive: true });
      const chartYaml = join(copy, "Chart.yaml");
      writeFileSync(chartYaml, readFileSync(chartYaml, "utf8").replace(/^version: .*$/m, "version: 0.1.1-test"));
      const result = await release.install([], { chart: copy });
      assert.equal(result.code, 0, result.stderr);
      await sleep(3_000);
      const after = new Map(
        (await pods(release.namespace, "app.kubernetes.io/part-of=lattice")).map((p) => [
          p.metadata.name,
          p.metadata.uid,
        ]),
      );
      assert.deepEqual(after, before, "pods were replaced by a chart version bump");
      const deployment = await getJson<{ metadata: { labels: Record<string, string> } }>([
        "deployment",
        "order",
        "-n",
        release.namespace,
      ]);
      assert.equal(deployment.metadata.labels["helm.sh/chart"], "lattice-0.1.1-test");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

const forwards: ReturnType<typeof spawn>[] = [];
function stopForwards(): void {
  for (const child of forwards.splice(0)) child.kill("SIGTERM");
}

/** 127.0.0.1:<port> forwarded to a Service's port (kubectl port-forward), for as long as the test runs. */
async function forwardedAddress(service: string, port: number): Promise<string> {
  const local = await freePort();
  const child = spawn(
    clusterEnv("LATTICE_KUBECTL"),
    [
      "--kubeconfig",
      clusterEnv("KUBECONFIG"),
      "port-forward",
      "-n",
      release.namespace,
      `svc/${service}`,
      `${local}:${port}`,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  forwards.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`port-forward to ${service} did not start`)), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Forwarding from")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return `127.0.0.1:${local}`;
}
