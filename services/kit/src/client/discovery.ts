import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let xdsRegistered = false;

/**
 * Makes `xds:///<name>` targets resolvable, once per process, through @grpc/grpc-js-xds. It reads its bootstrap (the
 * management server's address, the node id) from GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG (JSON)
 * when the first xds channel is made. Loaded on first use, so services that never use xDS never load it.
 */
export function enableXdsFor(target: string): void {
  if (xdsRegistered || !target.startsWith("xds:")) return;
  if (!process.env["GRPC_XDS_BOOTSTRAP"] && !process.env["GRPC_XDS_BOOTSTRAP_CONFIG"])
    throw new Error(`${target} is an xDS target, but neither GRPC_XDS_BOOTSTRAP nor GRPC_XDS_BOOTSTRAP_CONFIG is set`);
  (require("@grpc/grpc-js-xds") as { register(): void }).register();
  xdsRegistered = true;
}

/** How a target is found: through xDS (the control plane balances), or by name or address (DNS, a Service, a mesh). */
export function isXdsTarget(target: string): boolean {
  return target.startsWith("xds:");
}
