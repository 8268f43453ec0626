import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect } from "node:tls";
import { credentials } from "@grpc/grpc-js";
import { createClient, GrpcError, Status } from "@lattice/kit";
import { OrderServiceService, OrderState } from "@lattice/proto/lattice/order/v1/order";
import { PaymentServiceService } from "@lattice/proto/lattice/payment/v1/payment";
import { UserServiceService } from "@lattice/proto/lattice/user/v1/user";
import { nodeIp } from "../src/env.js";
import { TestIssuer, type Issued } from "../src/issuer.js";
import { getJson, kubectlOk, pods, until, type List } from "../src/kube.js";
import { euros, firstOrder } from "../src/orders.js";
import { chartDir, Release, repositoryRoot } from "../src/release.js";

interface Certificate {
  readonly metadata: { readonly name: string };
  readonly spec: { readonly secretName: string; readonly dnsNames?: string[]; readonly uris?: string[] };
}

const certManagerVersion = /^CERT_MANAGER_VERSION="([^"]+)"/m.exec(
  readFileSync(join(repositoryRoot, "scripts", "deploy-tools", "lib.sh"), "utf8"),
)?.[1];
let crdFiles: string[] = [];
let release: Release;
let issuer: TestIssuer;
const issued = new Map<string, Issued>();
/** The services of the mtls set, each with a Certificate. */
const services = ["gateway", "greeter", "order", "payment", "user"];

/** Fills each Certificate's Secret as cert-manager's CA issuer would (tls.crt, tls.key, ca.crt). */
async function issueAll(namespace: string, only?: string): Promise<void> {
  const certificates = await getJson<List<Certificate>>(["certificates.cert-manager.io", "-n", namespace]);
  for (const certificate of certificates.items) {
    if (only !== undefined && certificate.metadata.name !== only) continue;
    if (only === undefined && issued.has(certificate.metadata.name)) continue;
    const names = certificate.spec.dnsNames ?? [];
    const pair = await issuer.issue(names[0] ?? certificate.metadata.name, names, certificate.spec.uris ?? []);
    issued.set(certificate.metadata.name, pair);
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "kubernetes.io/tls",
      metadata: { name: certificate.spec.secretName, namespace },
      stringData: { "tls.crt": pair.cert, "tls.key": pair.key, "ca.crt": issuer.caCert },
    };
    await kubectlOk(["apply", "-f", "-"], { input: JSON.stringify(secret) });
  }
}

/** The serial of the certificate a pod's gRPC port presents (mutual TLS: with the client's certificate). */
function servedSerial(address: string, servername: string, client: Issued): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: address,
        port: 50051,
        servername,
        ca: issuer.caCert,
        cert: client.cert,
        key: client.key,
        ALPNProtocols: ["h2"],
      },
      () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial.toUpperCase());
      },
    );
    socket.setTimeout(5_000, () => socket.destroy(new Error("TLS handshake timed out")));
    socket.on("error", reject);
  });
}

before(async () => {
  assert.ok(certManagerVersion, "no CERT_MANAGER_VERSION in scripts/deploy-tools/lib.sh");
  const module = JSON.parse(
    execFileSync("go", ["mod", "download", "-json", `github.com/cert-manager/cert-manager@${certManagerVersion}`], {
      encoding: "utf8",
    }),
  ) as { Dir?: string };
  assert.ok(module.Dir, `the Go module proxy did not serve cert-manager ${certManagerVersion}`);
  crdFiles = ["certificates", "issuers", "clusterissuers"].map((kind) =>
    join(module.Dir!, "deploy", "crds", `cert-manager.io_${kind}.yaml`),
  );
  for (const file of crdFiles) await kubectlOk(["apply", "--server-side", "-f", file]);
  await kubectlOk(["wait", "--for", "condition=Established", "crd/certificates.cert-manager.io", "--timeout=60s"]);
  issuer = await TestIssuer.create();
  release = await Release.create("lattice-mtls");
  // helm waits for the pods, which wait for their certificate Secrets: the issuer fills them meanwhile.
  const install = release.install(
    ["--values", `${chartDir}/values/mtls.yaml`, "--set", "transportSecurity.refreshMs=2000"],
    { timeout: "240s" },
  );
  const issuing = until(
    "the chart's Certificates",
    async () => {
      await issueAll(release.namespace);
      return issued.size === services.length ? true : undefined;
    },
    120_000,
    1_000,
  );
  const [result] = await Promise.all([install, issuing]);
  if (result.code !== 0)
    throw new Error(`helm install --wait of the mtls set failed:\n${result.stdout}${result.stderr}`);
});

after(async () => {
  await release.close();
  for (const file of crdFiles) await kubectlOk(["delete", "--ignore-not-found", "-f", file]);
  issuer.close();
});

describe("transportSecurity mtls: certificates mounted from their Secrets, rotated without restarts", () => {
  test("a Certificate per service, mounted as a folder; order calls user and payment over mutual TLS and the order ends PAID", async () => {
    const certificates = await getJson<List<Certificate>>(["certificates.cert-manager.io", "-n", release.namespace]);
    assert.deepEqual(certificates.items.map((c) => c.metadata.name).sort(), services);
    const client = await issuer.issue("lattice-client", ["lattice-client"]);
    const creds = credentials.createSsl(Buffer.from(issuer.caCert), Buffer.from(client.key), Buffer.from(client.cert));
    const options = (name: string) => ({
      defaultTimeoutMs: 15_000,
      credentials: creds,
      channelOptions: { "grpc.ssl_target_name_override": name },
    });
    const userIp = (await pods(release.namespace, "app.kubernetes.io/name=user"))[0]!.status.podIP!;
    const paymentIp = (await pods(release.namespace, "app.kubernetes.io/name=payment"))[0]!.status.podIP!;
    const users = createClient(UserServiceService, `${userIp}:50051`, options("user"));
    const orders = createClient(OrderServiceService, `${nodeIp()}:30054`, options("order"));
    const payments = createClient(PaymentServiceService, `${paymentIp}:50051`, options("payment"));
    try {
      const { user } = await users.createUser({
        user: { name: "", email: `mtls-${Date.now()}@example.org`, displayName: "M", etag: "" },
      });
      const order = await firstOrder(orders, {
        user: user!.name,
        items: [{ sku: "book-4", quantity: 1, unitPrice: euros(900) }],
      });
      assert.equal(order?.state, OrderState.ORDER_STATE_PAID);
      // Charge admits order alone: a client with another verified identity is refused.
      const refused = await payments
        .charge({ order: order.name, amount: euros(100), idempotencyKey: `k-${Date.now()}` })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      assert.ok(refused instanceof GrpcError, "Charge answered a caller that is not order");
      assert.equal(refused.code, Status.PERMISSION_DENIED);
    } finally {
      users.close();
      orders.close();
      payments.close();
    }
    const plaintext = createClient(OrderServiceService, `${nodeIp()}:30054`, { defaultTimeoutMs: 5_000 });
    try {
      const failure = await plaintext.getOrder({ name: "orders/x" }).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(
        failure instanceof GrpcError && failure.code === Status.UNAVAILABLE,
        "order answered a plaintext client",
      );
    } finally {
      plaintext.close();
    }
  });

  test("a renewed certificate is served within seconds, with no restart, and orders keep being paid", async (t) => {
    const client = await issuer.issue("lattice-client", ["lattice-client"]);
    const before = await pods(release.namespace, "app.kubernetes.io/name=payment");
    const old = issued.get("payment")!;
    for (const pod of before)
      assert.equal(await servedSerial(pod.status.podIP!, "payment", client), old.serial.toUpperCase());
    const renewedAt = Date.now();
    await issueAll(release.namespace, "payment");
    const fresh = issued.get("payment")!;
    assert.notEqual(fresh.serial, old.serial);
    for (const pod of before) {
      await until(
        `${pod.metadata.name} to serve the renewed certificate`,
        async () =>
          (await servedSerial(pod.status.podIP!, "payment", client)) === fresh.serial.toUpperCase() ? true : undefined,
        90_000,
        1_000,
      );
    }
    t.diagnostic(`renewed certificate served ${Date.now() - renewedAt} ms after the Secret changed`);
    const after = await pods(release.namespace, "app.kubernetes.io/name=payment");
    assert.deepEqual(
      after.map((p) => [p.metadata.uid, p.status.containerStatuses?.[0]?.restartCount]),
      before.map((p) => [p.metadata.uid, 0]),
    );
    const creds = credentials.createSsl(Buffer.from(issuer.caCert), Buffer.from(client.key), Buffer.from(client.cert));
    const orders = createClient(OrderServiceService, `${nodeIp()}:30054`, {
      defaultTimeoutMs: 15_000,
      credentials: creds,
      channelOptions: { "grpc.ssl_target_name_override": "order" },
    });
    const userIp = (await pods(release.namespace, "app.kubernetes.io/name=user"))[0]!.status.podIP!;
    const users = createClient(UserServiceService, `${userIp}:50051`, {
      defaultTimeoutMs: 15_000,
      credentials: creds,
      channelOptions: { "grpc.ssl_target_name_override": "user" },
    });
    try {
      const { user } = await users.createUser({
        user: { name: "", email: `mtls2-${Date.now()}@example.org`, displayName: "M", etag: "" },
      });
      const { order } = await orders.createOrder({
        user: user!.name,
        items: [{ sku: "book-5", quantity: 1, unitPrice: euros(300) }],
      });
      assert.equal(order?.state, OrderState.ORDER_STATE_PAID);
    } finally {
      orders.close();
      users.close();
    }
  });
});
