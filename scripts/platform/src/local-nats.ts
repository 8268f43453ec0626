import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describeExit, ManagedProcess } from "./managed-process.js";
import { NATS_SERVER_MODULE, NATS_SERVER_VERSION } from "./nats-server.js";
import { freePort, waitFor } from "./ports.js";
import { LOCAL_HOST } from "./service-env.js";

const execFileAsync = promisify(execFile);

/**
 * Builds the pinned nats-server with `go install <module>@<version>` into `installDir` (through a temporary folder,
 * so a half-built binary is never found). Resolves with the binary, or rejects with go's last lines.
 */
export async function buildNatsServer(go: string, installDir: string): Promise<string> {
  const work = `${installDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await execFileAsync(go, ["install", `${NATS_SERVER_MODULE}@${NATS_SERVER_VERSION}`], {
      env: { ...process.env, GOBIN: work, GOFLAGS: "-buildvcs=false" },
      maxBuffer: 16 * 1024 * 1024,
    });
    // Another run may have finished the same build meanwhile: either copy is good.
    if (!existsSync(join(installDir, "nats-server"))) {
      rmSync(installDir, { recursive: true, force: true });
      renameSync(work, installDir);
    }
    return join(installDir, "nats-server");
  } catch (error) {
    // go's own last lines say why (no network, no module proxy, ...); else why go did not run at all.
    const stderr = (error as { stderr?: unknown }).stderr;
    const detail =
      typeof stderr === "string" && stderr.trim()
        ? stderr.trim().split("\n").slice(-3).join(" / ")
        : error instanceof Error
          ? error.message
          : String(error);
    throw new Error(`go install ${NATS_SERVER_MODULE}@${NATS_SERVER_VERSION} failed: ${detail}`, { cause: error });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A running local nats-server. */
export interface LocalNats {
  readonly url: string;
  readonly process: ManagedProcess;
}

/**
 * Starts `binary` with JetStream on, listening on 127.0.0.1 only (a free client port, HTTP monitoring on another),
 * its streams kept in `dataDir`, and resolves once its /healthz says ok. Rejects with its last lines when it exits
 * or is not healthy within `timeoutMs`.
 */
export async function startNats(binary: string, dataDir: string, timeoutMs = 20_000): Promise<LocalNats> {
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  let monitor = await freePort();
  while (monitor === port) monitor = await freePort();
  const nats = new ManagedProcess("NATS", {
    command: binary,
    args: [
      ["-a", LOCAL_HOST],
      ["-p", String(port)],
      ["-m", String(monitor)],
      ["-n", "lattice-local"],
      ["-js"],
      ["-sd", join(dataDir, "jetstream")],
    ].flat(),
  });
  const healthy = await waitFor(
    async () => {
      const response = await fetch(`http://${LOCAL_HOST}:${monitor}/healthz`, { signal: AbortSignal.timeout(1_000) });
      return response.ok && ((await response.json()) as { status?: unknown }).status === "ok";
    },
    { timeoutMs, until: nats.exited },
  );
  if (!healthy) {
    const how = nats.running ? `not healthy within ${timeoutMs / 1000} s` : describeExit(await nats.exited);
    await nats.stop(5_000);
    throw new Error(`nats-server (${binary}) did not start (${how}):\n${nats.lastLines(10).join("\n")}`);
  }
  return { url: `nats://${LOCAL_HOST}:${port}`, process: nats };
}
