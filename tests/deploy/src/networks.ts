import { podman, podmanResult } from "./podman.js";

export async function createNetwork(name: string): Promise<void> {
  await podman(["network", "create", name]);
}

export async function removeNetwork(name: string): Promise<void> {
  await podmanResult(["network", "rm", "--force", name]);
}

/** The network's gateway: the host's own address on the network's bridge. */
export async function networkGateway(name: string): Promise<string> {
  const gateway = (await podman(["network", "inspect", "--format", "{{range .Subnets}}{{.Gateway}} {{end}}", name]))
    .trim()
    .split(" ")
    .find((address) => /^\d+\.\d+\.\d+\.\d+$/.test(address));
  if (!gateway) throw new Error(`network ${name} has no IPv4 gateway`);
  return gateway;
}
