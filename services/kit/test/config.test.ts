import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, baseConfigSchema, loadConfig } from "@lattice/kit";

describe("loadConfig", () => {
  it("applies defaults and coerces numbers", () => {
    const config = loadConfig(baseConfigSchema, { GRPC_PORT: "6000" });
    assert.equal(config.GRPC_PORT, 6000);
    assert.equal(config.ADMIN_PORT, 8081);
    assert.equal(config.HEALTH_PORT, 8091);
    assert.equal(config.GRPC_LB_POLICY, "pick_first");
    assert.equal(config.SHUTDOWN_DRAIN_MS, 5000);
  });

  it("names every bad key and the value it got, in one line", () => {
    assert.throws(
      () => loadConfig(baseConfigSchema, { GRPC_PORT: "http", LOG_LEVEL: "loud" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /GRPC_PORT: .*\(got "http"\)/);
        assert.match(error.message, /LOG_LEVEL: .*\(got "loud"\)/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  });

  it("rejects ports out of range", () => {
    assert.throws(() => loadConfig(baseConfigSchema, { ADMIN_PORT: "70000" }), /ADMIN_PORT/);
    assert.throws(() => loadConfig(baseConfigSchema, { HEALTH_PORT: "-1" }), /HEALTH_PORT/);
  });

  it("accepts only the load-balancing policies clients support", () => {
    assert.equal(loadConfig(baseConfigSchema, { GRPC_LB_POLICY: "round_robin" }).GRPC_LB_POLICY, "round_robin");
    assert.throws(() => loadConfig(baseConfigSchema, { GRPC_LB_POLICY: "least_request" }), /GRPC_LB_POLICY/);
  });
});
