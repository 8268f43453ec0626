import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { OrderState } from "@lattice/proto/lattice/order/v1/order";
import { clusterEnv, nodeIp } from "../src/env.js";
import { getJson, kubectl, kubectlOk, pods } from "../src/kube.js";
import { euros, newUser, shopClients } from "../src/orders.js";
import { chartDir, Release } from "../src/release.js";

// values/xds.yaml's control plane address: lattice-xds.lattice-system.svc.cluster.local:18000.
const controlPlane = "lattice-system";
let release: Release;
let api = "";

/** The repository's xDS server (xds/) as a Deployment and Service, serving what its HTTP API is given. */
function controlPlaneManifest(image: string) {
  const labels = { "app.kubernetes.io/name": "lattice-xds" };
  return {
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "lattice-xds", namespace: controlPlane, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
              containers: [
                {
                  name: "xds",
                  image,
                  imagePullPolicy: "Never",
                  args: ["-xds", "0.0.0.0:18000", "-api", "0.0.0.0:18001"],
                  ports: [
                    { name: "xds", containerPort: 18000 },
                    { name: "api", containerPort: 18001 },
                  ],
                  readinessProbe: { httpGet: { path: "/healthz", port: "api" }, periodSeconds: 1 },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "lattice-xds", namespace: controlPlane, labels },
        spec: {
          selector: labels,
          ports: [
            { name: "xds", port: 18000, targetPort: "xds" },
            { name: "api", port: 18001, targetPort: "api" },
          ],
        },
      },
    ],
  };
}

/** Tells the control plane the endpoints of `service`: its Ready pods' addresses, or none. */
async function serve(service: string, addresses: readonly string[]): Promise<void> {
  const response = await fetch(`${api}/v1/services/${service}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      endpoints: addresses.map((address) => ({ address, port: 50051 })),
      timeoutMs: 5000,
      retry: { retryOn: ["unavailable"], numRetries: 2, baseIntervalMs: 25, maxIntervalMs: 250 },
    }),
  });
  assert.equal(response.status, 200, await response.text());
}

const podAddresses = async (service: string) =>
  (await pods(release.namespace, `app.kubernetes.io/name=${service}`)).map((p) => p.status.podIP!).filter(Boolean);

before(async () => {
  await kubectl(["create", "namespace", controlPlane]);
  await kubectlOk(["apply", "-f", "-"], {
    input: JSON.stringify(controlPlaneManifest(clusterEnv("LATTICE_XDS_IMAGE"))),
  });
  await kubectlOk(["rollout", "status", "-n", controlPlane, "deploy/lattice-xds", "--timeout=90s"]);
  const ip = await kubectlOk(["get", "svc", "lattice-xds", "-n", controlPlane, "-o", "jsonpath={.spec.clusterIP}"]);
  api = `http://${ip}:18001`;
  release = await Release.create("lattice-xds");
  const result = await release.install(["--values", `${chartDir}/values/xds.yaml`], { timeout: "240s" });
  if (result.code !== 0)
    throw new Error(`helm install --wait of the xds set failed:\n${result.stdout}${result.stderr}`);
});

after(async () => {
  await release.close();
  await kubectl(["delete", "namespace", controlPlane, "--wait=true", "--timeout=60s"]);
});

describe("loadBalancing.mode xds against the repository's xDS server in the cluster", () => {
  test("order reaches user and payment through xds:/// targets served by the control plane, and follows it", async (t) => {
    const config = await getJson<{ data: Record<string, string> }>([
      "configmap",
      "order-config",
      "-n",
      release.namespace,
    ]);
    assert.equal(config.data.USER_SERVICE_ADDRESS, "xds:///user");
    assert.equal(config.data.PAYMENT_SERVICE_ADDRESS, "xds:///payment");
    const bootstrap = await getJson<{ data: Record<string, string> }>([
      "configmap",
      "lattice-xds-bootstrap",
      "-n",
      release.namespace,
    ]);
    assert.match(bootstrap.data["bootstrap.json"]!, /lattice-xds\.lattice-system\.svc\.cluster\.local:18000/);

    await serve("user", await podAddresses("user"));
    await serve("payment", await podAddresses("payment"));
    const userIp = (await podAddresses("user"))[0]!;
    const shop = shopClients(`${nodeIp()}:30054`, `${userIp}:50051`);
    try {
      const user = await newUser(shop.users);
      const order = async () =>
        (await shop.orders.createOrder({ user, items: [{ sku: "book-3", quantity: 1, unitPrice: euros(500) }] })).order;
      assert.equal((await order())?.state, OrderState.ORDER_STATE_PAID);

      // No payment endpoints from the control plane: order cannot pay, although DNS and the pods are unchanged.
      await serve("payment", []);
      const unpaid = await order().then(
        (o) => `state ${OrderState[o?.state ?? 0]}`,
        (error: unknown) => String(error),
      );
      t.diagnostic(`without payment endpoints: ${unpaid}`);
      assert.notEqual(unpaid, `state ${OrderState[OrderState.ORDER_STATE_PAID]}`);

      await serve("payment", await podAddresses("payment"));
      assert.equal((await order())?.state, OrderState.ORDER_STATE_PAID);
    } finally {
      shop.close();
    }
  });
});
