import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { localXdsConfig, xdsBootstrap } from "../src/local-xds.js";
import { launcherOwnedKeys, serviceEnv } from "../src/service-env.js";
import { parseStartArguments } from "../src/start-arguments.js";
import { startedSummary } from "../src/summary.js";
import { all, greeter, order } from "./support.js";

const servers = {
  databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
  natsUrl: "nats://127.0.0.1:4222",
  xdsBootstrap: xdsBootstrap("127.0.0.1:18000"),
  xdsApi: "http://127.0.0.1:18001",
};

describe("npm start -- --xds", () => {
  it("is asked for with --xds, beside --only", () => {
    assert.deepEqual(parseStartArguments(["--xds", "--only", "order"]), {
      only: ["order"],
      xds: true,
      help: false,
      tls: false,
    });
    assert.equal(parseStartArguments([]).xds, false);
  });

  it("serves every declared service at its local gRPC port", () => {
    const config = localXdsConfig(all);
    assert.deepEqual(config.services["payment"], { endpoints: [{ address: "127.0.0.1", port: 50053 }] });
    assert.deepEqual(Object.keys(config.services).sort(), all.map((d) => d.name).sort());
  });

  it("gives callers xds:/// targets and the bootstrap; services that call nobody get neither", () => {
    const env = serviceEnv(order, all, servers);
    assert.equal(env.USER_SERVICE_ADDRESS, "xds:///user");
    assert.equal(env.PAYMENT_SERVICE_ADDRESS, "xds:///payment");
    const bootstrap = JSON.parse(env.GRPC_XDS_BOOTSTRAP_CONFIG!) as {
      xds_servers: { server_uri: string }[];
      node: { locality?: object };
    };
    assert.equal(bootstrap.xds_servers[0]!.server_uri, "127.0.0.1:18000");
    assert.deepEqual(bootstrap.node.locality, {}, "grpc-js-xds needs a locality, even empty");
    assert.equal(serviceEnv(greeter, all, servers).GRPC_XDS_BOOTSTRAP_CONFIG, undefined);
    assert.ok(
      launcherOwnedKeys(order).includes("GRPC_XDS_BOOTSTRAP_CONFIG"),
      "a bootstrap in the shell is not inherited",
    );
  });

  it("says where the control plane's API is", () => {
    assert.match(startedSummary([greeter], servers), /xDS {9}http:\/\/127\.0\.0\.1:18001\/v1\/config/);
  });
});
