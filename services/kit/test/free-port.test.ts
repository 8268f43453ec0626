import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { test } from "node:test";
import { freePort } from "@lattice/kit/testing";

test("freePort gives ports below the ephemeral range that a process can then listen on", async () => {
  const [ephemeralLow] = (await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/);
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    assert.ok(port >= 10000 && port < Number(ephemeralLow), `${port} is outside [10000, ${ephemeralLow})`);
    const server = createServer().listen({ port, host: "127.0.0.1", exclusive: true });
    await once(server, "listening");
    server.close();
    await once(server, "close");
  }
});
