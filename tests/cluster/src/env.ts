import { accessSync, constants } from "node:fs";

/**
 * What the cluster tests need, from the environment scripts/test.sh sets up: the cluster of scripts/cluster/up.sh
 * (its env.sh), the pinned helm (scripts/deploy-tools), the test PostgreSQL and NATS servers. A missing one fails
 * the test with what to run, never skips it.
 */
export type ClusterVariable =
  | "KUBECONFIG"
  | "LATTICE_CLUSTER_DIR"
  | "LATTICE_CLUSTER_NODE_IP"
  | "LATTICE_KUBECTL"
  | "LATTICE_SKAFFOLD"
  | "LATTICE_XDS_IMAGE"
  | "HELM"
  | "TEST_DATABASE_URL"
  | "TEST_NATS_URL";

export function clusterEnv(name: ClusterVariable): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${name} is not set: run the cluster tests through scripts/test.sh, or bring a cluster up with ` +
        "scripts/cluster/up.sh DIR and source DIR/env.sh (HELM from .cache/deploy-tools/env.sh, TEST_* from the " +
        "test servers scripts/test.sh starts)",
    );
  }
  if (["KUBECONFIG", "HELM", "LATTICE_CLUSTER_DIR", "LATTICE_KUBECTL", "LATTICE_SKAFFOLD"].includes(name)) {
    try {
      accessSync(value, constants.R_OK);
    } catch {
      throw new Error(`${name}=${value} does not exist`);
    }
  }
  return value;
}

/** The node's address: node ports, the kubelet and the API server listen there. */
export const nodeIp = (): string => clusterEnv("LATTICE_CLUSTER_NODE_IP");
