import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startedSummary } from "../src/summary.js";
import { declared, greeter, order } from "./support.js";

describe("the start-up summary", () => {
  it("lists each service's addresses from its declaration and the servers that run", () => {
    const text = startedSummary([greeter, order], { databaseUrl: "postgres://db", natsUrl: "nats://bus" });
    assert.match(text, /greeter {2}127\.0\.0\.1:50051 {3}http:\/\/127\.0\.0\.1:8081 {13}127\.0\.0\.1:8091/);
    assert.match(text, /order {4}127\.0\.0\.1:50054/);
    assert.match(text, /PostgreSQL {2}postgres:\/\/db/);
    assert.match(text, /NATS {8}nats:\/\/bus/);
    assert.match(text, /Ctrl-C stops everything/);
  });

  it("offers the greeter's Greet to paste when it runs, and every service's method list", () => {
    const text = startedSummary([greeter, order], {});
    assert.ok(
      text.includes(
        `npx buf curl --protocol grpc --http2-prior-knowledge -d '{"name":"Ada"}' ` +
          "http://127.0.0.1:50051/lattice.greeter.v1.GreeterService/Greet",
      ),
    );
    assert.ok(text.includes("--list-methods http://127.0.0.1:50054"));
    assert.doesNotMatch(text, /PostgreSQL/);
  });

  it("gives a service nobody wrote an example for its method list only", () => {
    const quotes = declared("quotes", { ports: { grpc: 50060, admin: 8060, health: 8070 } });
    const text = startedSummary([quotes], {});
    assert.ok(text.includes("--list-methods http://127.0.0.1:50060"));
    assert.doesNotMatch(text, /-d '/);
    assert.ok(text.includes("curl http://127.0.0.1:8060/readyz"));
  });
});
