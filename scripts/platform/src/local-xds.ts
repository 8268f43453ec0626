import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ServiceDeclaration } from "@lattice/kit";
import { describeExit, ManagedProcess } from "./managed-process.js";
import { freePort, waitFor } from "./ports.js";
import { LOCAL_HOST } from "./service-env.js";

const execFileAsync = promisify(execFile);

/** A running local xDS control plane (the repository's xds/). */
export interface LocalXds {
  /** host:port of its xDS server. */
  readonly xdsAddress: string;
  /** host:port of its HTTP API (GET|PUT /v1/config, PUT|DELETE /v1/services/<name>). */
  readonly apiAddress: string;
  /** The bootstrap a client of it reads (GRPC_XDS_BOOTSTRAP_CONFIG). */
  readonly bootstrap: string;
  /** The configuration file it serves and re-reads when it changes. */
  readonly configFile: string;
  readonly process: ManagedProcess;
}

/** What the control plane serves locally: every declared service at its local gRPC port, started or not. */
export function localXdsConfig(declarations: readonly ServiceDeclaration[]): {
  services: Record<string, { endpoints: { address: string; port: number }[] }>;
} {
  return {
    services: Object.fromEntries(
      declarations.map((d) => [d.name, { endpoints: [{ address: LOCAL_HOST, port: d.ports.grpc }] }]),
    ),
  };
}

/** The bootstrap of a proxyless gRPC client of the control plane at `xdsAddress` (node locality present, empty). */
export function xdsBootstrap(xdsAddress: string): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: "lattice-local", locality: {} },
  });
}

/**
 * Builds the control plane with scripts/xds/build.sh (needs Go; skipped when up to date), writes `dataDir`/services.json
 * from the declarations and starts it on free loopback ports; resolves once its API answers.
 */
export async function startXds(
  root: string,
  declarations: readonly ServiceDeclaration[],
  dataDir: string,
): Promise<LocalXds> {
  const { stdout } = await execFileAsync("bash", [join(root, "scripts", "xds", "build.sh")], { cwd: root });
  const binary = stdout.trim().split("\n").at(-1)!;
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(dataDir, "services.json");
  writeFileSync(configFile, `${JSON.stringify(localXdsConfig(declarations), null, 2)}\n`);
  const [xdsPort, apiPort] = [await freePort(), await freePort()];
  const xdsAddress = `${LOCAL_HOST}:${xdsPort}`;
  const apiAddress = `${LOCAL_HOST}:${apiPort}`;
  const xds = new ManagedProcess("xDS", {
    command: binary,
    args: ["-config", configFile, "-xds", xdsAddress, "-api", apiAddress],
  });
  const up = await waitFor(
    async () => (await fetch(`http://${apiAddress}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok,
    { timeoutMs: 20_000, until: xds.exited },
  );
  if (!up) {
    const how = xds.running ? "no answer within 20 s" : describeExit(await xds.exited);
    await xds.stop(5_000);
    throw new Error(`the xDS control plane did not start (${how}):\n${xds.lastLines(10).join("\n")}`);
  }
  return { xdsAddress, apiAddress, bootstrap: xdsBootstrap(xdsAddress), configFile, process: xds };
}
