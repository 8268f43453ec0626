import { podman, podmanResult, type CommandResult } from "./podman.js";

export interface ContainerOptions {
  name: string;
  image: string;
  env?: Record<string, string>;
  network?: string;
  /** Container ports to publish on an ephemeral port of 127.0.0.1. */
  publish?: readonly number[];
  /** Run like Kubernetes' readOnlyRootFilesystem: nothing writable, not even /tmp. */
  readOnly?: boolean;
  entrypoint?: string;
  args?: readonly string[];
}

/** Starts a detached container and resolves with its id. */
export async function runContainer(options: ContainerOptions): Promise<string> {
  const args = ["run", "--detach", "--name", options.name];
  if (options.network) args.push("--network", options.network);
  for (const port of options.publish ?? []) args.push("--publish", `127.0.0.1::${port}`);
  // What the chart's securityContext asks for, so the image is tested the way a cluster runs it.
  if (options.readOnly) args.push("--read-only", "--read-only-tmpfs=false", "--cap-drop=ALL");
  args.push("--security-opt=no-new-privileges");
  for (const [key, value] of Object.entries(options.env ?? {})) args.push("--env", `${key}=${value}`);
  if (options.entrypoint) args.push("--entrypoint", options.entrypoint);
  args.push(options.image, ...(options.args ?? []));
  return (await podman(args)).trim();
}

/** The 127.0.0.1:PORT address a container port is published on. */
export async function publishedAddress(container: string, port: number): Promise<string> {
  const line = (await podman(["port", container, `${port}/tcp`])).trim().split("\n")[0] ?? "";
  if (!/^127\.0\.0\.1:\d+$/.test(line)) throw new Error(`${container}: port ${port} is not published on 127.0.0.1`);
  return line;
}

/** Stops a container with SIGTERM, then SIGKILL after `timeoutSeconds`, and resolves with its exit code. */
export async function stopContainer(container: string, timeoutSeconds: number): Promise<number> {
  await podman(["stop", "--time", String(timeoutSeconds), container], (timeoutSeconds + 30) * 1000);
  return Number((await podman(["inspect", "--format", "{{.State.ExitCode}}", container])).trim());
}

export async function isRunning(container: string): Promise<boolean> {
  const state = await podmanResult(["inspect", "--format", "{{.State.Running}}", container]);
  return state.code === 0 && state.stdout.trim() === "true";
}

export async function containerLogs(container: string): Promise<string> {
  const { stdout, stderr } = await podmanResult(["logs", container]);
  return stdout + stderr;
}

/** The container's JSON log lines (the services log JSON when LOG_FORMAT=json). */
export async function jsonLogs(container: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await podmanResult(["logs", container]);
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs a command in a running container; resolves with its exit code and output whatever it is. */
export function execIn(container: string, command: readonly string[]): Promise<CommandResult> {
  return podmanResult(["exec", container, ...command]);
}

/** Removes containers this test created, by name, running or not; missing ones are fine. */
export async function removeContainers(names: readonly string[]): Promise<void> {
  if (names.length > 0) await podmanResult(["rm", "--force", "--ignore", "--time", "0", ...names]);
}
