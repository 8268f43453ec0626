import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { events, getJson, isReady, kubectl, pods, until } from "../src/kube.js";
import { chartDir, helm, Release } from "../src/release.js";

let release: Release;

before(async () => {
  release = await Release.create("lattice-failures");
});

after(async () => {
  await release.close();
});

/** Only the services named, each with the settings given (JSON merged into services.<name>). */
const only = (settings: Record<string, Record<string, unknown>>): string[] =>
  ["greeter", "user", "payment", "order", "gateway"].flatMap((name) => [
    "--set-json",
    `services.${name}=${JSON.stringify({ enabled: name in settings, ...(settings[name] ?? {}) })}`,
  ]);

describe("failures are visible, and a broken install fails instead of hanging", () => {
  test("a never-ready pod is restarted at the end of its startup budget, a crashing one shows CrashLoopBackOff, and helm install --wait fails at its timeout", async (t) => {
    const started = Date.now();
    const result = await release.install(
      [
        ...only({
          // Waits for certificate files that never come: alive, never ready.
          greeter: {
            entry: true,
            env: {
              TLS_MODE: "tls",
              TLS_CERT_FILE: "/nonexistent/tls.crt",
              TLS_KEY_FILE: "/nonexistent/tls.key",
              TLS_CA_FILE: "/nonexistent/ca.crt",
              TLS_LOAD_TIMEOUT_MS: 600000,
            },
            // A startup budget of 8 s: 1 s × 8.
            probes: {
              startup: { service: "readiness", periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 8 },
              readiness: {
                service: "readiness",
                periodSeconds: 1,
                timeoutSeconds: 1,
                failureThreshold: 2,
                successThreshold: 1,
              },
              liveness: { service: "liveness", periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
            },
          },
          // A configuration the service refuses at start: it exits at once, every time.
          user: { existingSecret: "", env: { LOG_CALLS: "sometimes" } },
        }),
      ],
      { timeout: "45s" },
    );
    const tookMs = Date.now() - started;
    t.diagnostic(
      `helm install --wait --timeout 45s exited ${result.code} after ${tookMs} ms: ${result.stderr.trim().split("\n").at(-1)}`,
    );
    assert.notEqual(result.code, 0, "helm install --wait succeeded with pods that never become ready");
    assert.ok(tookMs < 75_000, `helm took ${tookMs} ms for a 45 s timeout`);
    assert.match(result.stderr, /context deadline exceeded|timed out|not ready/i);

    const greeter = await until(
      "the never-ready greeter to be restarted by its startup probe",
      async () => {
        const [pod] = await pods(release.namespace, "app.kubernetes.io/name=greeter");
        return pod && (pod.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? pod : undefined;
      },
      60_000,
    );
    assert.equal(isReady(greeter), false);
    const greeterEvents = await events(release.namespace, greeter.metadata.name);
    assert.ok(
      greeterEvents.some((e) => e.reason === "Unhealthy" && /^Startup probe failed/.test(e.message)),
      "no startup probe failure event",
    );
    assert.ok(
      greeterEvents.some((e) => /failed startup probe, will be restarted/.test(e.message)),
      "no restart event for the startup probe",
    );

    const user = await until(
      "the crashing user to show CrashLoopBackOff",
      async () => {
        const [pod] = await pods(release.namespace, "app.kubernetes.io/name=user");
        return pod?.status.containerStatuses?.[0]?.state?.waiting?.reason === "CrashLoopBackOff" ? pod : undefined;
      },
      90_000,
    );
    const status = user.status.containerStatuses![0]!;
    t.diagnostic(
      `user: ${status.state?.waiting?.reason}, restarts ${status.restartCount}, last exit ${status.lastState?.terminated?.exitCode}`,
    );
    assert.equal(status.lastState?.terminated?.exitCode, 78, "the configuration error's exit code (EX_CONFIG)");
    const rollout = await kubectl(["rollout", "status", "deploy/user", "-n", release.namespace, "--timeout=5s"]);
    assert.notEqual(rollout.code, 0);
    await helm(["uninstall", release.name, "-n", release.namespace, "--wait", "--timeout", "60s"]);
  });

  test("value sets that need CRDs: ServiceMonitor, PrometheusRule and Linkerd policies are left out with a note; mtls and an HTTPRoute fail early naming what to install", async () => {
    const crds = await getJson<{ items: { metadata: { name: string } }[] }>(["crd"]);
    const names = crds.items.map((c) => c.metadata.name);
    assert.ok(
      !names.some(
        (n) => n.endsWith("monitoring.coreos.com") || n.endsWith("policy.linkerd.io") || n.endsWith("cert-manager.io"),
      ),
      `the cluster has ${names.join(", ")}`,
    );
    const monitored = await release.install(
      [
        ...only({ greeter: { entry: true } }),
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "observability.alerts.enabled=true",
        "--set",
        "observability.alerts.runbookBaseUrl=https://runbooks.example/lattice/",
        "--set",
        "linkerd.enabled=true",
        "--set",
        "loadBalancing.mode=mesh",
      ],
      { timeout: "120s" },
    );
    assert.equal(monitored.code, 0, `${monitored.stdout}${monitored.stderr}`);
    assert.doesNotMatch(monitored.stderr, /resource mapping not found/);
    assert.match(monitored.stdout, /No ServiceMonitor was made/);
    assert.match(monitored.stdout, /No PrometheusRule was made/);
    assert.match(monitored.stdout, /No Linkerd policy .* was made/);
    await helm(["uninstall", release.name, "-n", release.namespace, "--wait", "--timeout", "60s"]);

    const started = Date.now();
    const mtls = await helm([
      "install",
      "mtls",
      chartDir,
      "-n",
      release.namespace,
      "--wait",
      "--timeout",
      "120s",
      ...release.values("--values", `${chartDir}/values/mtls.yaml`),
    ]);
    assert.notEqual(mtls.code, 0);
    assert.ok(Date.now() - started < 30_000, "the mtls install did not fail early");
    assert.match(mtls.stderr, /needs cert-manager: the cluster does not serve cert-manager\.io\/v1 Certificate/);
    assert.doesNotMatch(mtls.stderr, /resource mapping not found/);
    const left = await kubectl(["get", "deploy", "-n", release.namespace, "-o", "name"]);
    assert.equal(left.stdout.trim(), "", "the failed install left objects behind");

    const routed = await helm([
      "install",
      "routed",
      chartDir,
      "-n",
      release.namespace,
      "--wait",
      "--timeout",
      "120s",
      ...release.values(
        "--set-json",
        'services.gateway.http.route={"enabled":true,"parentRefs":[{"name":"public","namespace":"gateways"}]}',
      ),
    ]);
    assert.notEqual(routed.code, 0);
    assert.match(
      routed.stderr,
      /does not serve gateway\.networking\.k8s\.io\/v1 HTTPRoute; install the Gateway API CRDs/,
    );
    assert.doesNotMatch(routed.stderr, /resource mapping not found/);
    const leftByRoute = await kubectl(["get", "deploy", "-n", release.namespace, "-o", "name"]);
    assert.equal(leftByRoute.stdout.trim(), "", "the failed install left objects behind");
  });
});
