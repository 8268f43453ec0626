import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { nodeIp } from "../src/env.js";
import { isReady, kubectl, kubectlOk, pods, serviceEndpoints, until, type Pod } from "../src/kube.js";
import { driveOrders, euros, newUser, shopClients, type LoadFigures } from "../src/orders.js";
import { Release } from "../src/release.js";

let release: Release;
let shop: ReturnType<typeof shopClients>;
let user: string;

before(async () => {
  release = await Release.create("lattice-resilience");
  const result = await release.install([], { timeout: "240s" });
  if (result.code !== 0) throw new Error(`helm install --wait failed:\n${result.stdout}${result.stderr}`);
  // CreateUser needs user's port: through the API server's proxy would do, a port-forward is simpler; the order
  // node port is what the load goes through.
  const forward = await kubectlOk(["get", "svc", "user", "-n", release.namespace, "-o", "jsonpath={.spec.clusterIP}"]);
  shop = shopClients(`${nodeIp()}:30054`, `${forward}:50051`);
  user = await newUser(shop.users);
});

after(async () => {
  shop.close();
  await release.close();
});

const describeFigures = (figures: LoadFigures) =>
  `${figures.calls} CreateOrder calls, ${figures.paid} PAID, ${figures.failed} failed` +
  ` (${JSON.stringify(figures.failures)}), p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`;

describe("readiness and rollouts on the cluster", () => {
  test("a service that loses its database turns NotReady, leaves its endpoints, is not restarted, and comes back", async (t) => {
    const [pod] = await pods(release.namespace, "app.kubernetes.io/name=user");
    assert.ok(pod && isReady(pod));
    const name = pod.metadata.name;
    assert.equal((await serviceEndpoints(release.namespace, "user")).get(name), true);
    const cutAt = Date.now();
    await release.postgres.cut();
    try {
      await until(
        "user to turn NotReady",
        async () =>
          (await pods(release.namespace, "app.kubernetes.io/name=user")).some(
            (p) => p.metadata.name === name && !isReady(p),
          )
            ? true
            : undefined,
        30_000,
      );
      t.diagnostic(`NotReady ${Date.now() - cutAt} ms after the database went away`);
      await until(
        "user's endpoint to turn ready=false",
        async () => ((await serviceEndpoints(release.namespace, "user")).get(name) === false ? true : undefined),
        15_000,
      );
      assert.equal((await serviceEndpoints(release.namespace, "user-headless")).get(name), false, "headless Service");
      // Longer than the liveness budget (3 failures × 5 s): liveness stays SERVING, nothing restarts.
      await sleep(20_000);
      const [still] = await pods(release.namespace, "app.kubernetes.io/name=user");
      assert.equal(still?.metadata.name, name);
      assert.equal(still.status.containerStatuses?.[0]?.restartCount, 0, "liveness restarted the container");
      assert.equal(isReady(still), false);
    } finally {
      await release.postgres.restore();
    }
    const back = Date.now();
    await until(
      "user to be Ready again",
      async () =>
        (await pods(release.namespace, "app.kubernetes.io/name=user")).some(
          (p) => p.metadata.name === name && isReady(p),
        )
          ? true
          : undefined,
      60_000,
    );
    await until(
      "user's endpoint ready again",
      async () => ((await serviceEndpoints(release.namespace, "user")).get(name) === true ? true : undefined),
      15_000,
    );
    t.diagnostic(`Ready again ${Date.now() - back} ms after the database came back`);
    // Served again (a channel that met the refusals retries after its backoff, hence the wait).
    const again = await until(
      "GetUser to answer again",
      async () => (await shop.users.getUser({ name: user })).user,
      60_000,
      1_000,
    );
    assert.equal(again.name, user);
  });

  test("helm upgrade rolling payment (two replicas) under CreateOrder load: no failed call, preStop and drain honoured", async (t) => {
    const old = await pods(release.namespace, "app.kubernetes.io/name=payment");
    assert.equal(old.length, 2);
    const watched = watchTermination(old.map((p) => p.metadata.name));
    const { result: upgrade, figures } = await underLoad(async () => {
      const result = await release.install(["--set-string", `services.payment.podAnnotations.rollout=${Date.now()}`], {
        timeout: "180s",
      });
      await sleep(3_000);
      return result;
    });
    const lifetimes = await watched.stop();
    assert.equal(upgrade.code, 0, upgrade.stderr);
    t.diagnostic(`rolling update: ${describeFigures(figures)}`);
    t.diagnostic(`old replicas, deletion to gone: ${[...lifetimes.values()].map((ms) => `${ms} ms`).join(", ")}`);
    const fresh = await pods(release.namespace, "app.kubernetes.io/name=payment");
    assert.equal(fresh.length, 2);
    for (const pod of fresh)
      assert.ok(!old.some((o) => o.metadata.name === pod.metadata.name), "a replica was not replaced");
    assert.ok(figures.calls > 20, `only ${figures.calls} calls`);
    assert.equal(figures.failed, 0, `${describeFigures(figures)}\n${await recentEvents()}`);
    // preStop sleeps 2 s, then SIGTERM, then the service drains 3 s before it stops: at least 5 s from deletion to
    // exit, and well within the grace period of 15 s.
    assert.equal(lifetimes.size, 2, "did not see both old replicas terminate");
    for (const [name, ms] of lifetimes) {
      assert.ok(ms >= 4_500, `${name} went ${ms} ms after its deletion: preStop + drain is 5 s`);
      assert.ok(ms < 15_000, `${name} took ${ms} ms: past the grace period`);
    }
  });

  test("kubectl delete pod of one payment replica under CreateOrder load", async (t) => {
    const [victim] = await pods(release.namespace, "app.kubernetes.io/name=payment");
    assert.ok(victim);
    const { result: deleted, figures } = await underLoad(async () => {
      const result = await kubectl([
        "delete",
        "pod",
        "-n",
        release.namespace,
        victim.metadata.name,
        "--wait=true",
        "--timeout=60s",
      ]);
      await until(
        "two Ready payment replicas",
        async () =>
          (await pods(release.namespace, "app.kubernetes.io/name=payment")).filter(
            (p) => isReady(p) && !p.metadata.deletionTimestamp,
          ).length === 2
            ? true
            : undefined,
        90_000,
      );
      await sleep(2_000);
      return result;
    });
    assert.equal(deleted.code, 0, deleted.stderr);
    t.diagnostic(`delete pod: ${describeFigures(figures)}`);
    assert.ok(figures.calls > 20, `only ${figures.calls} calls`);
    assert.equal(figures.failed, 0, describeFigures(figures));
  });
});

/**
 * Runs `work` while 4 callers drive CreateOrder through order's node port; the load stops whatever happens. The
 * callers use a channel of their own, first seen working (a channel that met a refused connection earlier, as in
 * the database test, would still be backing off, and its failures would be the test's, not the rollout's).
 */
async function underLoad<T>(work: () => Promise<T>): Promise<{ result: T; figures: LoadFigures }> {
  const own = shopClients(`${nodeIp()}:30054`);
  await until(
    "a CreateOrder through order's node port",
    async () =>
      (await own.orders.createOrder({ user, items: [{ sku: "warm-up", quantity: 1, unitPrice: euros(100) }] })).order,
    60_000,
  );
  const load = driveOrders(own.orders, user, 4);
  const outcome = await sleep(3_000)
    .then(work)
    .then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  const figures = await load.stop();
  own.close();
  if (!outcome.ok) throw outcome.error;
  return { result: outcome.result, figures };
}

/**
 * Polls the named pods every 200 ms and measures, for each, the time from the first sight of its deletion to the
 * moment it is gone (its container exited and the kubelet removed it).
 */
function watchTermination(names: readonly string[]): { stop(): Promise<Map<string, number>> } {
  const deletedAt = new Map<string, number>();
  const lifetimes = new Map<string, number>();
  const state = { stopping: false };
  const deadline = Date.now() + 240_000;
  const loop = (async () => {
    while (!state.stopping && lifetimes.size < names.length && Date.now() < deadline) {
      const now = Date.now();
      const current = new Map(
        (await pods(release.namespace, "app.kubernetes.io/name=payment").catch(() => [] as Pod[])).map((p) => [
          p.metadata.name,
          p,
        ]),
      );
      for (const name of names) {
        const pod = current.get(name);
        if (pod?.metadata.deletionTimestamp && !deletedAt.has(name)) deletedAt.set(name, now);
        if (!pod && deletedAt.has(name) && !lifetimes.has(name)) lifetimes.set(name, now - deletedAt.get(name)!);
      }
      await sleep(200);
    }
  })();
  return {
    async stop() {
      await until(
        "the old replicas to be gone",
        async () => (lifetimes.size === names.length ? true : undefined),
        60_000,
      ).catch(() => undefined);
      state.stopping = true;
      await loop;
      return lifetimes;
    },
  };
}

/** The namespace's events, oldest first: what a failed figure is explained by. */
async function recentEvents(): Promise<string> {
  return (await kubectl(["get", "events", "-n", release.namespace, "--sort-by=.lastTimestamp"])).stdout;
}
