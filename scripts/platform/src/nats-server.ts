import { delimiter, join } from "node:path";

/** The Go module nats-server is built from when the machine has none. */
export const NATS_SERVER_MODULE = "github.com/nats-io/nats-server/v2";
/** The release built then: the same as the chart's in-release server (charts/lattice/values.yaml, nats.image). */
export const NATS_SERVER_VERSION = "v2.10.24";

/** Folders where Debian and others put nats-server that a non-root PATH often lacks. */
const SYSTEM_DIRS = ["/usr/sbin", "/usr/local/sbin"];

/**
 * Where the nats-server of a local run comes from:
 *   configured   the NATS_SERVER setting names it
 *   machine      found on PATH (or in /usr/sbin, /usr/local/sbin)
 *   cached       built before from the pinned Go module, in the Lattice cache
 *   build        not there yet, but Go is: build the pinned release into `installDir` (`binary` once built)
 *   unavailable  none of these; `reason` says why in words
 */
export type NatsServerSource =
  | { readonly kind: "configured" | "machine" | "cached"; readonly binary: string }
  | { readonly kind: "build"; readonly go: string; readonly installDir: string; readonly binary: string }
  | { readonly kind: "unavailable"; readonly reason: string };

/** What locateNatsServer looks at: the environment (PATH, NATS_SERVER), the cache folder, and the file system. */
export interface NatsLookup {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The Lattice cache folder (latticeCacheDir). */
  readonly cacheDir: string;
  readonly isExecutable: (path: string) => boolean;
}

/**
 * The per-user cache Lattice keeps tools in, shared by every checkout: $LATTICE_CACHE_DIR, else
 * $XDG_CACHE_HOME/lattice, else ~/.cache/lattice (the pinned Node lives there too).
 */
export function latticeCacheDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  if (env.LATTICE_CACHE_DIR) return env.LATTICE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(home, ".cache"), "lattice");
}

/** The first executable named `command` in the PATH folders and then in `extraDirs`. */
export function findExecutable(
  command: string,
  path: string | undefined,
  isExecutable: (path: string) => boolean,
  extraDirs: readonly string[] = [],
): string | undefined {
  const dirs = [...(path ?? "").split(delimiter).filter((dir) => dir !== ""), ...extraDirs];
  return dirs.map((dir) => join(dir, command)).find(isExecutable);
}

/** Where the pinned release is (or will be) built: <cache>/nats-server/<version>/nats-server. */
export function cachedNatsServer(cacheDir: string): { readonly installDir: string; readonly binary: string } {
  const installDir = join(cacheDir, "nats-server", NATS_SERVER_VERSION);
  return { installDir, binary: join(installDir, "nats-server") };
}

/**
 * Picks the nats-server a local run uses, in this order: NATS_SERVER, the machine's, the one built before, one to
 * build with Go. Throws when NATS_SERVER is set to something that is not an executable (a setting given on
 * purpose that cannot be used is an error, not a fallback).
 */
export function locateNatsServer(lookup: NatsLookup): NatsServerSource {
  const configured = lookup.env.NATS_SERVER;
  if (configured) {
    if (!lookup.isExecutable(configured)) throw new Error(`NATS_SERVER=${configured} is not an executable`);
    return { kind: "configured", binary: configured };
  }
  const machine = findExecutable("nats-server", lookup.env.PATH, lookup.isExecutable, SYSTEM_DIRS);
  if (machine) return { kind: "machine", binary: machine };
  const cached = cachedNatsServer(lookup.cacheDir);
  if (lookup.isExecutable(cached.binary)) return { kind: "cached", binary: cached.binary };
  const go = findExecutable("go", lookup.env.PATH, lookup.isExecutable);
  if (go) return { kind: "build", go, ...cached };
  return { kind: "unavailable", reason: "no nats-server on PATH and no Go to build one; install either" };
}

/** The one line said at start-up when NATS cannot run: why, and what that means for events. */
export function natsUnavailableMessage(reason: string): string {
  return `NATS: not started (${reason}): events wait in the services' outboxes and nothing consumes them`;
}
