import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpRelay {
  /** host:port the relay listens on. */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on host (port chosen by the system) and pipes every connection to target. Used to let containers reach a
 * server that listens only on the host's loopback: the relay listens on an address inside a network the test made.
 */
export async function startTcpRelay(host: string, target: { host: string; port: number }): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = createConnection(target);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      // Either side failing ends both; the error itself reaches the client as a closed connection.
      socket.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the relay has no TCP address");
  return {
    host,
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
