// First: grpc-js must load with the resolver that honours a `dns://<server>/` authority (see the module).
import "./support/dns-authority.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient, DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS } from "@lattice/kit";
import { eventually, startTestDnsServer, startTestService } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { ADA, greeterModule } from "./support/test-greeter.js";

/** A greeter on host:port that answers with its own host, so a test sees which replica served a call. */
const replica = (host: string, port: string) =>
  startTestService(greeterModule({ greet: () => ({ message: host, language: Language.LANGUAGE_UNSPECIFIED }) }), {
    env: { GRPC_HOST: host, GRPC_PORT: port },
  });

describe("dns: targets", () => {
  it("are looked up again within a second of losing a connection, so a client follows a rolling restart", async () => {
    // Two replicas on one port, as two pods behind a headless Service: 127.0.0.2 and 127.0.0.3 are loopback too.
    await using old = await replica("127.0.0.2", "0");
    const port = old.grpcAddress.slice(old.grpcAddress.lastIndexOf(":") + 1);
    await using fresh = await replica("127.0.0.3", port);
    const dns = await startTestDnsServer();
    const client = createClient(GreeterServiceService, `dns://${dns.authority}/greeter.test:${port}`, {
      loadBalancing: "round_robin",
      defaultTimeoutMs: 2_000,
    });
    try {
      dns.setRecords("greeter.test", ["127.0.0.2"]);
      assert.equal((await client.greet(ADA)).message, "127.0.0.2");
      // The rollout: the new replica is ready and listed, the old one leaves the records and stops. grpc-js's own
      // minimum of 30 s between lookups would leave the client without an address until 30 s after its first one.
      dns.setRecords("greeter.test", ["127.0.0.3"]);
      await old.shutdown();
      const stopped = Date.now();
      await eventually(async () => assert.equal((await client.greet(ADA)).message, fresh.grpcAddress.split(":")[0]), {
        withinMs: 10_000,
        intervalMs: 50,
      });
      const movedMs = Date.now() - stopped;
      assert.ok(
        movedMs < DEFAULT_DNS_MIN_RESOLUTION_INTERVAL_MS + 1_500,
        `moved to the new replica after ${movedMs} ms`,
      );
      assert.ok(dns.queries("greeter.test") >= 2, "looked up again");
    } finally {
      client.close();
      await dns.close();
    }
  });
});
