import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** The xDS control plane's view of one service (see xds/config.go). */
export interface XdsService {
  endpoints: { address: string; port: number; weight?: number }[];
  timeoutMs?: number;
  retry?: { retryOn: string[]; numRetries: number; baseIntervalMs?: number; maxIntervalMs?: number };
}

export interface ControlPlane {
  /** host:port of its xDS server, for a bootstrap's server_uri. */
  readonly xdsAddress: string;
  /** Serves `service` as xds:///<name> from now on; resolves once the control plane has it. */
  put(name: string, service: XdsService): Promise<void>;
  remove(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs the repository's control plane (xds/, built by scripts/xds/build.sh; its path in LATTICE_XDS_SERVER, which
 * `npm test` sets) on free loopback ports.
 */
export async function startControlPlane(): Promise<ControlPlane> {
  const binary = process.env["LATTICE_XDS_SERVER"];
  if (!binary) throw new Error("LATTICE_XDS_SERVER is not set: run the tests through `npm test`, which builds xds/");
  const child = spawn(binary, ["-xds", "127.0.0.1:0", "-api", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "inherit"] });
  const { xds, api } = await servingAddresses(child);
  const request = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`http://${api}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  return {
    xdsAddress: xds,
    put: (name, service) => request("PUT", `/v1/services/${name}`, service),
    remove: (name) => request("DELETE", `/v1/services/${name}`),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The addresses the control plane reports in its "serving" log line. */
function servingAddresses(child: ChildProcess): Promise<{ xds: string; api: string }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error("the xDS control plane did not start within 10 s")), 10_000);
    child.once("exit", (code) => reject(new Error(`the xDS control plane exited with ${String(code)}`)));
    lines.on("line", (line) => {
      const record = JSON.parse(line) as { msg?: string; xds?: string; api?: string };
      if (record.msg === "serving" && record.xds && record.api) {
        clearTimeout(timer);
        resolve({ xds: record.xds, api: record.api });
      }
    });
  });
}

/** The bootstrap of a proxyless gRPC client of `controlPlane` (what GRPC_XDS_BOOTSTRAP_CONFIG holds). */
export function bootstrapFor(xdsAddress: string, nodeId = "lattice-test"): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    // grpc-js-xds refuses a bootstrap whose node has no locality, even an empty one.
    node: { id: nodeId, locality: {} },
  });
}
