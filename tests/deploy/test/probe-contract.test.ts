import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import { eventually } from "@lattice/kit/testing";
import {
  preStopSleepSeconds,
  probeKinds,
  probeTiming,
  serviceNames,
  terminationGraceSeconds,
  type ServiceName,
} from "../src/chart-contract.js";
import { resolveServiceEnv } from "../src/container-env.js";
import { renderValueSet, type ValueSet } from "../src/helm.js";
import { grpcProbe, KubeletProber } from "../src/kubelet-probe.js";
import { LocalContainer, type ExitStatus } from "../src/local-container.js";
import { allocatePorts, localEnv, type LocalServers } from "../src/local-pod.js";
import { deploymentOf, serviceContainer, type Container, type Deployment } from "../src/manifests.js";
import { tool } from "../src/tools.js";

const run = promisify(execFile);

interface Pod {
  readonly service: ServiceName;
  readonly deployment: Deployment;
  readonly container: Container;
  readonly process: LocalContainer;
  readonly prober: KubeletProber;
  readonly ports: ReadonlyMap<number, number>;
  readonly startedAt: number;
}

/** Starts every service of a value set as the kubelet would start its pod, probes included. */
async function startPods(set: ValueSet, servers: LocalServers): Promise<Pod[]> {
  const { manifests } = await renderValueSet(set);
  const runId = `probe_${process.pid}_${set.replace("-", "_")}`;
  const plans = await Promise.all(
    serviceNames.map(async (service) => {
      const deployment = deploymentOf(manifests, service);
      const container = serviceContainer(deployment, service);
      const env = resolveServiceEnv(service, container, manifests);
      return { service, deployment, container, env, ports: await allocatePorts(env) };
    }),
  );
  const grpcPorts = new Map(plans.map((plan) => [plan.service, plan.ports.get(Number(plan.env.GRPC_PORT))!]));
  return plans.map((plan) => {
    const env = localEnv(plan, grpcPorts, servers, runId);
    const startedAt = performance.now();
    const process = new LocalContainer(plan.container, env);
    const prober = new KubeletProber({
      address: (containerPort) => {
        const local = plan.ports.get(containerPort);
        if (local === undefined)
          throw new Error(`${plan.service}: probe port ${containerPort} is not a port it listens on`);
        return `127.0.0.1:${local}`;
      },
      probes: Object.fromEntries(probeKinds.map((kind) => [kind, plan.container[kind]])),
    });
    return { ...plan, process, prober, startedAt };
  });
}

/** How long the startup probe may take before the kubelet gives up, plus one readiness period to turn ready. */
function startupBudgetMs(container: Container): number {
  const startup = probeTiming(container.startupProbe ?? {});
  const readiness = probeTiming(container.readinessProbe ?? {});
  return (
    (startup.initialDelaySeconds + startup.periodSeconds * startup.failureThreshold + startup.timeoutSeconds) * 1000 +
    (readiness.periodSeconds * readiness.successThreshold + readiness.timeoutSeconds) * 1000
  );
}

async function waitUntilReady(pod: Pod): Promise<void> {
  const deadline = pod.startedAt + startupBudgetMs(pod.container);
  const exited = { value: false };
  void pod.process.exited.then(() => (exited.value = true));
  // Until ready, the startup probe gave up or the process exited; the assertions below say which, or that time ran out.
  await eventually(() => assert.ok(exited.value || pod.prober.first("ready") || pod.prober.first("startup-failed")), {
    withinMs: Math.max(0, deadline - performance.now()),
    intervalMs: 100,
  }).catch(() => undefined);
  const why = `${pod.service}:\n${pod.prober.describe()}\n--- output ---\n${pod.process.output()}`;
  assert.equal(exited.value, false, `the process exited while starting: ${why}`);
  assert.equal(pod.prober.first("startup-failed"), undefined, `startup probe gave up: ${why}`);
  assert.ok(pod.prober.first("started"), `startup probe did not succeed within its budget: ${why}`);
  assert.ok(pod.prober.first("ready"), `not ready within the startup budget: ${why}`);
}

interface Termination {
  readonly beganAt: number;
  readonly sigtermAt: number;
  readonly exit: ExitStatus;
  readonly killed: boolean;
  /** A liveness check made inside the drain window, beside the kubelet's own (its period may not land there). */
  readonly livenessWhileDraining: { readonly ok: boolean; readonly detail: string };
}

/**
 * Pod deletion as the kubelet carries it out: the preStop hook runs (the real `sleep N`), then SIGTERM; SIGKILL if
 * the process is still there when terminationGracePeriodSeconds, counted from the start, has passed.
 *
 * In a cluster deletion comes at any moment between two readiness probes. Here it is timed so that SIGTERM falls
 * halfway between two of them: with periodSeconds ≤ the drain (chart.test.ts checks that) a probe then lands in
 * the drain with half a period to spare, instead of racing the exit when the phase happens to be unlucky on a
 * loaded machine.
 */
async function terminate(pod: Pod): Promise<Termination> {
  const graceMs = terminationGraceSeconds(pod.deployment) * 1000;
  const periodMs = probeTiming(pod.container.readinessProbe ?? {}).periodSeconds * 1000;
  const preStopMs = preStopSleepSeconds(pod.container) * 1000;
  const phase = (pod.prober.now() + preStopMs) % periodMs;
  await sleep((periodMs * 1.5 - phase) % periodMs);
  const beganAt = performance.now();
  let killed = false;
  const killer = setTimeout(() => {
    killed = true;
    pod.process.signal("SIGKILL");
  }, graceMs);
  const command = pod.container.lifecycle?.preStop?.exec?.command ?? [];
  preStopSleepSeconds(pod.container);
  await run(command[0]!, command.slice(1));
  const sigtermAt = performance.now();
  pod.process.signal("SIGTERM");
  const port = pod.container.livenessProbe?.grpc?.port as number;
  const livenessWhileDraining = sleep(500).then(() => grpcProbe(`127.0.0.1:${pod.ports.get(port)}`, "liveness", 1000));
  const exit = await pod.process.exited;
  clearTimeout(killer);
  return { beganAt, sigtermAt, exit, killed, livenessWhileDraining: await livenessWhileDraining };
}

/** Probe events in container-start time, converted from performance.now() instants. */
const sinceStart = (pod: Pod, instant: number) => instant - pod.startedAt;

function assertCleanDrain(pod: Pod, termination: Termination) {
  const why = `${pod.service}:\n${pod.prober.describe()}\n--- output ---\n${pod.process.output()}`;
  const sigterm = sinceStart(pod, termination.sigtermAt);
  const exit = sinceStart(pod, termination.exit.at);
  const elapsed = termination.exit.at - termination.beganAt;
  const grace = terminationGraceSeconds(pod.deployment);

  assert.equal(termination.killed, false, `SIGKILL after the ${grace}s grace period: ${why}`);
  assert.deepEqual({ code: termination.exit.code, signal: termination.exit.signal }, { code: 0, signal: null }, why);
  assert.ok(elapsed <= grace * 1000, `exited ${elapsed.toFixed(0)} ms after termination began, grace is ${grace}s`);

  const probes = pod.prober.events.flatMap((e) => (e.type === "probe" ? [e] : []));
  const readinessFailure = probes.find((e) => e.probe === "readinessProbe" && !e.ok && e.at >= sigterm && e.at < exit);
  assert.ok(readinessFailure, `no readiness probe failed between SIGTERM and exit: ${why}`);
  const early = probes.find((e) => e.probe === "readinessProbe" && !e.ok && e.at < sigterm && e.at > readyAt(pod));
  assert.equal(early, undefined, `readiness failed before SIGTERM (during preStop the pod still serves): ${why}`);
  const liveness = probes.filter((e) => e.probe === "livenessProbe" && e.at < exit);
  // The kubelet's first liveness probe may come after the exit (its ticker starts with the container); the direct
  // checks after ready and inside the drain cover liveness then.
  assert.deepEqual(
    liveness.filter((e) => !e.ok),
    [],
    `liveness failed while the process was up: ${why}`,
  );
  const drain = termination.livenessWhileDraining;
  assert.ok(drain.ok, `liveness was ${drain.detail} 0.5 s into the drain: ${why}`);
  assert.equal(pod.prober.first("restart"), undefined, `the kubelet would have restarted the container: ${why}`);
}

/** One line per pod for the test log: when each step happened, in seconds since the process started. */
function summary(pod: Pod, termination: Termination): string {
  const s = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)}s`);
  const sigterm = sinceStart(pod, termination.sigtermAt);
  const unready = pod.prober.events.find(
    (e) => e.type === "probe" && e.probe === "readinessProbe" && !e.ok && e.at >= sigterm,
  );
  return (
    `${pod.service}: started ${s(pod.prober.first("started")?.at)}, ready ${s(pod.prober.first("ready")?.at)}, ` +
    `termination ${s(sinceStart(pod, termination.beganAt))}, SIGTERM ${s(sigterm)}, readiness failed ${s(unready?.at)}, ` +
    `exit ${s(sinceStart(pod, termination.exit.at))} (grace ${terminationGraceSeconds(pod.deployment)}s)`
  );
}

const readyAt = (pod: Pod): number => pod.prober.first("ready")?.at ?? Number.POSITIVE_INFINITY;

for (const set of ["dev", "no-mesh"] as const) {
  describe(`probe contract, ${set} values`, () => {
    test("every service starts, turns ready, stays live, and drains cleanly on termination", async (t) => {
      const servers = { databaseUrl: tool("TEST_DATABASE_URL"), natsUrl: tool("TEST_NATS_URL") };
      const pods = await startPods(set, servers);
      try {
        await Promise.all(pods.map(waitUntilReady));
        for (const pod of pods) {
          // One liveness check right away, beside the kubelet's own cadence: SERVING once started.
          const port = pod.container.livenessProbe?.grpc?.port as number;
          const attempt = await grpcProbe(`127.0.0.1:${pod.ports.get(port)}`, "liveness", 1000);
          assert.ok(attempt.ok, `${pod.service} liveness: ${attempt.detail}`);
        }
        const terminations = await Promise.all(pods.map(terminate));
        await Promise.all(pods.map((pod) => pod.prober.stop()));
        pods.forEach((pod, index) => {
          const termination = terminations[index]!;
          assertCleanDrain(pod, termination);
          t.diagnostic(summary(pod, termination));
        });
      } finally {
        for (const pod of pods) pod.process.signal("SIGKILL");
        await Promise.all(pods.map((pod) => pod.prober.stop()));
      }
    });
  });
}
