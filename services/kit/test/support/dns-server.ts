import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import * as dnsPacket from "dns-packet";

/**
 * A DNS server on 127.0.0.1 answering A queries for names the test sets, with TTL 0, so a test can add and remove
 * replicas behind a `dns://127.0.0.1:<port>/<name>:<port>` target the way a headless Service's records change.
 * Other queries (AAAA, TXT) get an empty answer.
 */
export interface TestDnsServer {
  /** "127.0.0.1:<port>": the authority of a dns:// target. */
  readonly address: string;
  /** The A records of `name` from now on. */
  set(name: string, addresses: readonly string[]): void;
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const records = new Map<string, readonly string[]>();
  const socket: Socket = createSocket("udp4");
  socket.on("message", (message, from) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const answers =
      question?.type === "A"
        ? (records.get(question.name) ?? []).map((data) => ({
            type: "A" as const,
            name: question.name,
            ttl: 0,
            class: "IN" as const,
            data,
          }))
        : [];
    const response = dnsPacket.encode({
      id: query.id,
      type: "response",
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: query.questions ?? [],
      answers,
    });
    socket.send(response, from.port, from.address);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return {
    address: `127.0.0.1:${socket.address().port}`,
    set: (name, addresses) => void records.set(name, [...addresses]),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
