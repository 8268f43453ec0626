// First: grpc-js must load with the resolver that honours a `dns://<server>/` authority (see the module).
import "./support/dns-authority.js";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { createClient, DEFAULT_RETRY_SETTINGS, type ServiceClient } from "@lattice/kit";
import {
  eventually,
  startTestDnsServer,
  startTestService,
  type TestDnsServer,
  type TestService,
} from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

/**
 * DNS-balanced clients converge on the replicas a headless Service's records list: a replica added under load gets
 * calls from existing clients within about 1.1 x the servers' max connection age, one removed by a graceful
 * shutdown stops getting them without a failed call, and after a full outage clients reach the new replicas within
 * seconds. Scaled down: connections age after 2 s here (30 s by default).
 */
const AGE_MS = 2000;
const CONVERGE_BOUND_MS = 1.1 * AGE_MS + 1800; // the age with its jitter, a re-resolution and a connect
const NAME = "greeter.lattice.test";

interface Replica {
  readonly ip: string;
  readonly service: TestService;
  calls: number;
  firstCallAt: number;
  lastCallAt: number;
}

describe("dns mode: clients converge on the replicas DNS lists", () => {
  let dns: TestDnsServer;
  let port: number;
  const replicas = new Map<string, Replica>();
  let client: ServiceClient<typeof GreeterServiceService>;
  const load = { stop: false, calls: 0, failures: [] as unknown[], running: [] as Promise<void>[] };

  async function startReplica(ip: string): Promise<Replica> {
    const state = { ip, calls: 0, firstCallAt: 0, lastCallAt: 0 };
    const service = await startTestService(
      greeterModule({
        greet: () => {
          state.calls++;
          state.lastCallAt = Date.now();
          state.firstCallAt ||= state.lastCallAt;
          return { message: ip, language: Language.LANGUAGE_UNSPECIFIED };
        },
      }),
      {
        env: {
          GRPC_HOST: ip,
          GRPC_PORT: String(port),
          GRPC_MAX_CONNECTION_AGE_MS: String(AGE_MS),
          GRPC_MAX_CONNECTION_AGE_GRACE_MS: "1000",
          SHUTDOWN_DRAIN_MS: "200",
        },
      },
    );
    const replica = Object.assign(state, { service });
    replicas.set(ip, replica);
    return replica;
  }

  const publish = (...ips: string[]) => dns.setRecords(NAME, ips);

  before(async () => {
    dns = await startTestDnsServer();
    // One port on every loopback address, as every pod of a Deployment listens on the same port.
    const probe = await startTestService(greeterModule());
    port = Number(probe.grpcAddress.split(":").at(-1));
    await probe.shutdown();
    publish("127.0.0.2");
    await startReplica("127.0.0.2");
    client = createClient(GreeterServiceService, `dns://${dns.authority}/${NAME}:${port}`, {
      loadBalancing: "round_robin",
      retry: DEFAULT_RETRY_SETTINGS,
      defaultTimeoutMs: 3000,
    });
    load.running = Array.from({ length: 8 }, async () => {
      while (!load.stop) {
        load.calls++;
        await client.greet(ADA).catch((error: unknown) => load.failures.push(error));
      }
    });
    await eventually(() => assert.ok(replicas.get("127.0.0.2")!.calls > 50));
  });

  after(async () => {
    load.stop = true;
    await Promise.all(load.running);
    client.close();
    for (const replica of replicas.values()) await replica.service.shutdown();
    await dns.close();
  });

  for (const ip of ["127.0.0.3", "127.0.0.4"]) {
    it(`a replica added under load (${ip}) gets calls within ${CONVERGE_BOUND_MS} ms`, async (t) => {
      const replica = await startReplica(ip);
      publish(...[...replicas.keys()]);
      const published = Date.now();
      await eventually(() => assert.ok(replica.calls > 0, `${ip} got no call yet`), {
        withinMs: CONVERGE_BOUND_MS,
      });
      t.diagnostic(`${ip}: first call ${replica.firstCallAt - published} ms after its record appeared`);
      assert.deepEqual(load.failures, []);
    });
  }

  it("a replica removed from the records and shut down gracefully stops getting calls, none failing", async (t) => {
    const leaving = replicas.get("127.0.0.2")!;
    publish("127.0.0.3", "127.0.0.4");
    const removed = Date.now();
    await leaving.service.shutdown();
    replicas.delete(leaving.ip);
    const callsAfter = leaving.calls;
    await sleep(500);
    assert.equal(leaving.calls, callsAfter, "no call reached it after it stopped");
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.calls} calls failed`);
    t.diagnostic(
      `its last call ${leaving.lastCallAt - removed} ms after its record went; ${load.calls} calls, 0 failed`,
    );
  });

  it("after a full outage, clients reach the new replicas within seconds", async (t) => {
    const before = load.failures.length;
    publish("127.0.0.5", "127.0.0.6");
    for (const ip of ["127.0.0.3", "127.0.0.4"]) {
      await replicas.get(ip)!.service.shutdown();
      replicas.delete(ip);
    }
    await sleep(500); // the outage: calls fail (UNAVAILABLE) while nothing serves
    const [five, six] = await Promise.all([startReplica("127.0.0.5"), startReplica("127.0.0.6")]);
    const up = Date.now();
    await eventually(() => assert.ok(five.calls > 0 && six.calls > 0), { withinMs: 5000 });
    const recoveredMs = Math.max(five.firstCallAt, six.firstCallAt) - up;
    t.diagnostic(
      `both new replicas served ${recoveredMs} ms after they were up; ${load.failures.length - before} calls failed during the outage`,
    );
  });
});
