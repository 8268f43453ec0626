import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cachedNatsServer,
  findExecutable,
  latticeCacheDir,
  locateNatsServer,
  natsUnavailableMessage,
  NATS_SERVER_VERSION,
} from "../src/nats-server.js";

/** A file system holding exactly these executables. */
const only =
  (...paths: string[]) =>
  (path: string) =>
    paths.includes(path);

const cacheDir = "/home/dev/.cache/lattice";
const cached = `${cacheDir}/nats-server/${NATS_SERVER_VERSION}/nats-server`;

describe("locateNatsServer", () => {
  it("prefers NATS_SERVER, then the machine's, then the cached build, then a build with Go", () => {
    const everything = only("/opt/nats", "/usr/bin/nats-server", cached, "/usr/local/go/bin/go");
    const env = { PATH: "/usr/bin:/usr/local/go/bin" };
    assert.deepEqual(
      locateNatsServer({ env: { ...env, NATS_SERVER: "/opt/nats" }, cacheDir, isExecutable: everything }),
      {
        kind: "configured",
        binary: "/opt/nats",
      },
    );
    assert.deepEqual(locateNatsServer({ env, cacheDir, isExecutable: everything }), {
      kind: "machine",
      binary: "/usr/bin/nats-server",
    });
    assert.deepEqual(locateNatsServer({ env, cacheDir, isExecutable: only(cached, "/usr/local/go/bin/go") }), {
      kind: "cached",
      binary: cached,
    });
    assert.deepEqual(locateNatsServer({ env, cacheDir, isExecutable: only("/usr/local/go/bin/go") }), {
      kind: "build",
      go: "/usr/local/go/bin/go",
      installDir: `${cacheDir}/nats-server/${NATS_SERVER_VERSION}`,
      binary: cached,
    });
  });

  it("finds Debian's nats-server in /usr/sbin even when PATH lacks it", () => {
    const source = locateNatsServer({
      env: { PATH: "/usr/bin" },
      cacheDir,
      isExecutable: only("/usr/sbin/nats-server"),
    });
    assert.deepEqual(source, { kind: "machine", binary: "/usr/sbin/nats-server" });
  });

  it("says why when there is neither nats-server nor Go", () => {
    const source = locateNatsServer({ env: { PATH: "/usr/bin" }, cacheDir, isExecutable: only() });
    assert.ok(source.kind === "unavailable", source.kind);
    const message = natsUnavailableMessage(source.reason);
    assert.match(message, /no nats-server on PATH and no Go/);
    assert.match(message, /events wait in the services' outboxes and nothing consumes them/);
    assert.equal(message.split("\n").length, 1, "one line");
  });

  it("refuses a NATS_SERVER that is not an executable instead of quietly using another", () => {
    assert.throws(
      () => locateNatsServer({ env: { NATS_SERVER: "/nope" }, cacheDir, isExecutable: only("/usr/sbin/nats-server") }),
      /NATS_SERVER=\/nope is not an executable/,
    );
  });
});

describe("cache and PATH lookups", () => {
  it("keeps the cache where the pinned Node is: LATTICE_CACHE_DIR, XDG_CACHE_HOME/lattice or ~/.cache/lattice", () => {
    assert.equal(latticeCacheDir({ LATTICE_CACHE_DIR: "/c" }, "/home/dev"), "/c");
    assert.equal(latticeCacheDir({ XDG_CACHE_HOME: "/x" }, "/home/dev"), "/x/lattice");
    assert.equal(latticeCacheDir({}, "/home/dev"), "/home/dev/.cache/lattice");
    assert.equal(cachedNatsServer("/c").binary, `/c/nats-server/${NATS_SERVER_VERSION}/nats-server`);
  });

  it("searches PATH in order, skipping empty entries", () => {
    assert.equal(findExecutable("go", "::/a:/b", only("/b/go", "/a/go")), "/a/go");
    assert.equal(findExecutable("go", undefined, only("/b/go")), undefined);
  });
});
