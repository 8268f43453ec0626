import { execFile } from "node:child_process";

/** What a finished podman command left behind. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const missing =
  "podman is not installed or not on PATH: scripts/containers/tools.sh installs it (npm test runs it before the tests)";

/** Runs podman with the arguments and resolves with its exit code and output; rejects only when podman is missing. */
export function podmanResult(args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile("podman", args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") return reject(new Error(missing));
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs podman and resolves with its standard output; rejects with podman's own message when it fails. */
export async function podman(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await podmanResult(args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(
      `podman ${args.join(" ")} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/**
 * Fails with a clear message unless podman works with this machine's configuration (CONTAINERS_CONF selects the
 * runc runtime and ulimits that fit; scripts/containers/lib.sh sets it).
 */
export async function requirePodman(): Promise<void> {
  const conf = process.env["CONTAINERS_CONF"];
  if (!conf) throw new Error("CONTAINERS_CONF is not set: run the image tests through `npm test` (scripts/test.sh)");
  await podman(["version", "--format", "{{.Client.Version}}"]);
}
