import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP relay from an address pods can reach (the node address) to a server that listens on loopback only (the
 * test PostgreSQL and NATS servers), so their traffic stays on this machine. cut() drops every connection and stops
 * listening, as a database that went away; restore() listens on the same port again.
 */
export class TcpRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly host: string,
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  static async start(host: string, target: { host: string; port: number }, port = 0): Promise<TcpRelay> {
    const relay = new TcpRelay(host, target, port);
    await relay.restore();
    return relay;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((inbound) => {
      const outbound = createConnection(this.target);
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    server.listen(this.port, this.host);
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the relay has no TCP address");
    this.port = address.port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    server.close();
    await once(server, "close");
  }

  close(): Promise<void> {
    return this.cut();
  }
}
