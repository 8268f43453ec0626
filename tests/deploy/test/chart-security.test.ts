import assert from "node:assert/strict";
import { posix } from "node:path";
import { describe, test } from "node:test";
import { serviceNames } from "../src/chart-contract.js";
import { resolveServiceEnv } from "../src/container-env.js";
import { helmTemplate, helmTemplateRaw, namespace, renderValueSet, valuesFiles } from "../src/helm.js";
import { deploymentOf, named, ofKind, serviceContainer, type Manifest } from "../src/manifests.js";

interface Volume {
  readonly name: string;
  readonly secret?: { readonly secretName: string; readonly defaultMode?: number };
  readonly configMap?: { readonly name: string };
}
interface Mount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
}

/** What a service's pod gets for TLS: its env, and the volume each of its files comes from. */
function tlsOf(manifests: readonly Manifest[], service: string) {
  const deployment = deploymentOf(manifests, service);
  const container = serviceContainer(deployment, service);
  const env = resolveServiceEnv(service, container, manifests);
  const volumes = (deployment.spec.template.spec.volumes ?? []) as Volume[];
  const mounts = ((container as unknown as { volumeMounts?: Mount[] }).volumeMounts ?? []).filter(
    (mount) => mount.name !== "tmp",
  );
  /** The volume a file path is in, through the mount whose folder holds it. */
  const volumeOf = (file: string | undefined): Volume | undefined => {
    assert.ok(file, "no such setting");
    const mount = mounts.find((m) => posix.dirname(file) === m.mountPath);
    return mount && volumes.find((volume) => volume.name === mount.name);
  };
  return { env, mounts, volumes, volumeOf };
}

describe("chart with mutual TLS in the app (values/mtls.yaml)", () => {
  const rendered = renderValueSet("mtls");

  for (const service of serviceNames) {
    test(`${service}: a cert-manager Certificate for its Services' names and its ServiceAccount's SPIFFE ID`, async () => {
      const { manifests } = await rendered;
      const certificate = named(manifests, "Certificate", service);
      assert.ok(certificate, `no Certificate ${service}`);
      assert.equal(certificate.apiVersion, "cert-manager.io/v1");
      const spec = certificate.spec as {
        secretName: string;
        dnsNames: string[];
        uris: string[];
        usages: string[];
        issuerRef: { kind: string; name: string };
        privateKey: { rotationPolicy: string };
      };
      assert.equal(spec.secretName, `${service}-tls`);
      // The bare name first: clients made by connect() verify it, and `callers` rules match it.
      assert.equal(spec.dnsNames[0], service);
      assert.ok(spec.dnsNames.includes(`${service}-headless.${namespace}.svc.cluster.local`), "the headless name");
      assert.deepEqual(spec.uris, [`spiffe://cluster.local/ns/${namespace}/sa/${service}`]);
      assert.ok(named(manifests, "ServiceAccount", service), "the SPIFFE ID names a ServiceAccount that exists");
      for (const usage of ["server auth", "client auth"]) assert.ok(spec.usages.includes(usage), usage);
      assert.deepEqual(spec.issuerRef, { group: "cert-manager.io", kind: "ClusterIssuer", name: "lattice-ca" });
      assert.equal(spec.privateKey.rotationPolicy, "Always");
    });

    test(`${service}: TLS_MODE=mtls with files from its mounted certificate Secret, refreshed in place`, async () => {
      const { manifests } = await rendered;
      const { env, mounts, volumeOf } = tlsOf(manifests, service);
      assert.equal(env.TLS_MODE, "mtls");
      assert.ok(Number(env.TLS_REFRESH_MS) > 0);
      for (const key of ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE"]) {
        const volume = volumeOf(env[key]);
        assert.equal(
          volume?.secret?.secretName,
          `${service}-tls`,
          `${key}=${env[key]} is not in the certificate Secret`,
        );
        // Readable by the non-root user through fsGroup, by nobody else.
        assert.equal(volume.secret.defaultMode, 0o440);
      }
      // A subPath mount is never updated by the kubelet: a renewed certificate would not reach the process.
      for (const mount of mounts) {
        assert.equal(mount.subPath, undefined, `${mount.name} is mounted with subPath`);
        assert.equal(mount.readOnly, true, `${mount.name} is writable`);
      }
    });
  }

  test("probes stay on the plaintext health port; no Linkerd injection", async () => {
    const { manifests } = await rendered;
    for (const service of serviceNames) {
      const deployment = deploymentOf(manifests, service);
      const container = serviceContainer(deployment, service);
      const env = resolveServiceEnv(service, container, manifests);
      assert.equal(container.readinessProbe?.grpc?.port, Number(env.HEALTH_PORT));
      assert.notEqual(deployment.spec.template.metadata?.annotations?.["linkerd.io/inject"], "enabled");
    }
  });

  test("a CA bundle from a trust-manager ConfigMap is mounted beside the certificate", async () => {
    const { manifests } = await helmTemplate({
      valuesFiles: valuesFiles("mtls"),
      setJson: ['transportSecurity.caBundle={"source":"configMap","name":"lattice-ca-bundle","key":"bundle.pem"}'],
    });
    const { env, volumeOf } = tlsOf(manifests, "order");
    assert.equal(volumeOf(env.TLS_CA_FILE)?.configMap?.name, "lattice-ca-bundle");
    assert.equal(posix.basename(env.TLS_CA_FILE!), "bundle.pem");
    assert.equal(volumeOf(env.TLS_CERT_FILE)?.secret?.secretName, "order-tls");
  });
});

describe("chart security values", () => {
  test("plaintext by default and under the mesh: no Certificates, no TLS settings", async () => {
    for (const set of ["default", "mesh", "dev", "staging"] as const) {
      const { manifests } = await renderValueSet(set);
      assert.deepEqual(ofKind(manifests, "Certificate"), [], set);
      for (const service of serviceNames) {
        const container = serviceContainer(deploymentOf(manifests, service), service);
        assert.equal(resolveServiceEnv(service, container, manifests).TLS_MODE, undefined, `${set}: ${service}`);
      }
    }
  });

  test("refuses TLS in the app under the mesh, naming why", async () => {
    const result = await helmTemplateRaw({
      valuesFiles: valuesFiles("mesh"),
      setJson: ['transportSecurity.mode="mtls"'],
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /transportSecurity\.mode mtls with loadBalancing\.mode mesh/);
  });

  test("refuses a CA bundle source without a name, and a JWKS URL without issuer and audience", async () => {
    const bundle = await helmTemplateRaw({
      valuesFiles: valuesFiles("mtls"),
      setJson: ['transportSecurity.caBundle={"source":"secret"}'],
    });
    assert.match(bundle.stderr, /caBundle.source secret needs caBundle.name/);
    const jwt = await helmTemplateRaw({ setJson: ['auth.jwt.jwksUrl="https://idp.example/jwks.json"'] });
    assert.match(jwt.stderr, /auth.jwt.jwksUrl needs auth.jwt.issuer and auth.jwt.audience/);
  });

  test("JWT and rate-limit settings reach every service; a service's own RATE_LIMITS wins; the IdP is reachable", async () => {
    const { manifests } = await helmTemplate({
      setJson: [
        'auth={"jwt":{"jwksUrl":"https://idp.example/jwks.json","issuer":"https://idp.example","audience":"lattice"},"rateLimits":"*=100:200"}',
        'services.payment.env={"RATE_LIMITS":"lattice.payment.v1.PaymentService/Charge=5:10"}',
        'networkPolicy.identityProviderPeers=[{"ipBlock":{"cidr":"203.0.113.0/24"}}]',
      ],
    });
    for (const service of serviceNames) {
      const container = serviceContainer(deploymentOf(manifests, service), service);
      const env = resolveServiceEnv(service, container, manifests);
      assert.equal(env.JWT_JWKS_URL, "https://idp.example/jwks.json");
      assert.equal(env.JWT_ISSUER, "https://idp.example");
      assert.equal(env.JWT_AUDIENCE, "lattice");
      assert.equal(
        env.RATE_LIMITS,
        service === "payment" ? "lattice.payment.v1.PaymentService/Charge=5:10" : "*=100:200",
      );
      const policy = named(manifests, "NetworkPolicy", service);
      const egress = (
        (policy?.spec as { egress?: { to?: unknown[]; ports?: { port: unknown }[] }[] }).egress ?? []
      ).find((rule) => JSON.stringify(rule.to ?? []).includes("203.0.113.0/24"));
      assert.deepEqual(
        egress?.ports?.map((port) => port.port),
        [443],
        `${service}: no egress to the identity provider`,
      );
    }
  });
});
