import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serviceNames } from "../src/chart-contract.js";
import { declarationOf, peerAddressesOf } from "../src/declarations.js";
import { resolveServiceEnv } from "../src/container-env.js";
import { helmTemplateRaw, renderValueSet } from "../src/helm.js";
import { deploymentOf, named, serviceContainer, type Manifest } from "../src/manifests.js";

interface Bootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: string }[] }[];
  node: { id: string; locality?: Record<string, unknown> };
}

describe("xds values: proxyless gRPC clients of an xDS control plane", () => {
  test("clients target xds:///<service> and read a bootstrap grpc-js-xds accepts", async () => {
    const { manifests } = await renderValueSet("xds");
    const order = serviceContainer(deploymentOf(manifests, "order"), "order");
    const env = resolveServiceEnv("order", order, manifests);
    for (const { variable, peer } of peerAddressesOf("order")) assert.equal(env[variable], `xds:///${peer}`, variable);
    assert.equal(env["GRPC_XDS_BOOTSTRAP"], "/etc/lattice/xds/bootstrap.json");

    const configMap = named(manifests, "ConfigMap", "lattice-xds-bootstrap") as
      (Manifest & { data: Record<string, string> }) | undefined;
    assert.ok(configMap, "the bootstrap ConfigMap is rendered");
    const bootstrap = JSON.parse(configMap.data["bootstrap.json"]!) as Bootstrap;
    assert.equal(bootstrap.xds_servers[0]!.server_uri, "lattice-xds.lattice-system.svc.cluster.local:18000");
    assert.deepEqual(bootstrap.xds_servers[0]!.channel_creds, [{ type: "insecure" }]);
    assert.equal(bootstrap.node.id, "lattice");
    // grpc-js-xds refuses a node without a locality (an empty one will do).
    assert.deepEqual(bootstrap.node.locality, {});

    const mount = order.volumeMounts?.find((m) => m.mountPath === "/etc/lattice/xds");
    assert.ok(mount, "the bootstrap is mounted where GRPC_XDS_BOOTSTRAP points");
    const volumes = deploymentOf(manifests, "order").spec.template.spec.volumes ?? [];
    assert.equal(volumes.find((v) => v.name === mount.name)?.configMap?.name, "lattice-xds-bootstrap");
  });

  test("only services that call others get the bootstrap, and they may reach the control plane", async () => {
    const { manifests } = await renderValueSet("xds");
    for (const service of serviceNames) {
      const container = serviceContainer(deploymentOf(manifests, service), service);
      const env = resolveServiceEnv(service, container, manifests);
      const calls = declarationOf(service).calls.length > 0;
      assert.equal("GRPC_XDS_BOOTSTRAP" in env, calls, `${service}: GRPC_XDS_BOOTSTRAP only when it calls others`);
      const policy = named(manifests, "NetworkPolicy", service) as
        (Manifest & { spec: { egress?: { ports?: { port: number }[] }[] } }) | undefined;
      const toControlPlane = (policy?.spec.egress ?? []).some((rule) => rule.ports?.some((p) => p.port === 18000));
      assert.equal(toControlPlane, calls, `${service}: egress to the control plane's port only when it calls others`);
    }
  });

  test("xds mode without a control plane address fails to render, naming the setting", async () => {
    const result = await helmTemplateRaw({ setJson: ['loadBalancing={"mode":"xds","clusterDomain":"cluster.local"}'] });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /loadBalancing/);
    const empty = await helmTemplateRaw({
      setJson: ['loadBalancing={"mode":"xds","clusterDomain":"cluster.local","xds":{"serverUri":"","nodeId":"x"}}'],
    });
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /serverUri/);
  });
});
