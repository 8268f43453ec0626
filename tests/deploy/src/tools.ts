import { accessSync, constants } from "node:fs";

/**
 * Paths the deploy tests need, from the environment scripts/deploy-tools/install.sh writes (scripts/test.sh
 * sources it). A missing one is an error that says how to get it, never a skipped test.
 */
export type ToolVariable =
  | "HELM"
  | "KUBECONFORM"
  | "PROMTOOL"
  | "LATTICE_KINDCONFIG"
  | "LATTICE_KUBERNETES_SCHEMAS"
  | "LATTICE_CRD_SCHEMAS"
  | "LATTICE_SKAFFOLD_SCHEMAS"
  | "LATTICE_KUBERNETES_VERSION"
  | "LATTICE_KIND_NODE_IMAGE"
  | "TEST_DATABASE_URL"
  | "TEST_NATS_URL";

const isPath = (name: ToolVariable) =>
  !name.startsWith("TEST_") && !name.endsWith("_VERSION") && name !== "LATTICE_KIND_NODE_IMAGE";

export function tool(name: ToolVariable): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} is not set: run the tests through scripts/test.sh, or source .cache/deploy-tools/env.sh after ` +
        "bash scripts/deploy-tools/install.sh (TEST_* come from the test servers scripts/test.sh starts)",
    );
  }
  if (isPath(name)) {
    try {
      accessSync(value, constants.R_OK);
    } catch {
      throw new Error(`${name}=${value} does not exist: rerun bash scripts/deploy-tools/install.sh`);
    }
  }
  return value;
}
