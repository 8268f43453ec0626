/**
 * The relay's own process (started by TcpRelay in relay.ts): a test that drives load must not share its event loop
 * with the database traffic of the pods under test. Arguments: HOST TARGET_HOST TARGET_PORT. Listens on HOST at a
 * port the system chooses, reports it, then obeys "cut" and "restore" from its parent.
 */
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";

const [host, targetHost, targetPort] = process.argv.slice(2);
if (!host || !targetHost || !targetPort) throw new Error("usage: relay-child HOST TARGET_HOST TARGET_PORT");
const sockets = new Set<Socket>();
let server: Server | undefined;
let port = 0;

async function listen(): Promise<void> {
  if (server) return;
  const listening = createServer((inbound) => {
    const outbound = createConnection({ host: targetHost!, port: Number(targetPort) });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  listening.listen(port, host);
  await once(listening, "listening");
  const address = listening.address();
  if (address === null || typeof address === "string") throw new Error("the relay has no TCP address");
  port = address.port;
  server = listening;
}

async function cut(): Promise<void> {
  const listening = server;
  if (!listening) return;
  server = undefined;
  const closed = once(listening, "close");
  listening.close();
  for (const socket of sockets) socket.destroy();
  await closed;
}

process.on("message", (message: string) => {
  void (message === "cut" ? cut() : listen()).then(
    () => process.send?.({ done: message, port }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
process.on("disconnect", () => process.exit(0));
await listen();
process.send?.({ done: "start", port });
