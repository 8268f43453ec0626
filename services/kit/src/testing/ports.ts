import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

/** Linux's default when /proc/sys/net/ipv4/ip_local_port_range cannot be read. */
const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];
/** The lowest port handed out: well above the registered ports common servers default to. */
const LOWEST_PORT = 10000;

/**
 * A TCP port on `host` (default 127.0.0.1) nothing listens on now, for a process started next to listen on.
 *
 * Why not bind port 0 and release it: the kernel hands out port 0 from the ephemeral range, the same range it takes
 * the source ports of outgoing connections from, so on a busy machine another process's connection can hold the
 * port before ours listens (EADDRINUSE). Ports are therefore drawn at random below the ephemeral range (read from
 * /proc/sys/net/ipv4/ip_local_port_range, 10000 up to its start) and checked by listening once. Falls back to port 0
 * if no such range exists or 50 draws are all taken.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [ephemeralLow] = await ephemeralRange();
  for (let attempt = 0; ephemeralLow - LOWEST_PORT > 1000 && attempt < 50; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (ephemeralLow - LOWEST_PORT));
    if ((await listenOnce(port, host)) !== undefined) return port;
  }
  const port = await listenOnce(0, host);
  if (port === undefined) throw new Error(`no free port on ${host}`);
  return port;
}

async function ephemeralRange(): Promise<readonly [number, number]> {
  try {
    const [low, high] = (await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8")).trim().split(/\s+/);
    const range = [Number(low), Number(high)] as const;
    return Number.isInteger(range[0]) && Number.isInteger(range[1]) ? range : DEFAULT_EPHEMERAL_RANGE;
  } catch {
    return DEFAULT_EPHEMERAL_RANGE;
  }
}

/** Listens on `port` and closes again: the port it got, or undefined when the port is taken. */
function listenOnce(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(address && typeof address === "object" ? address.port : undefined));
    });
  });
}
