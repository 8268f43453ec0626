import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import dnsPacket from "dns-packet";

/** A name server for tests: A records the test sets, as a headless Service's DNS name lists its ready pods. */
export interface TestDnsServer {
  /** host:port it answers on (UDP), for a target such as `dns://<authority>/payment.test:50051`. */
  readonly authority: string;
  /** Replaces the A records of `name` (no TTL: every lookup sees the change). An empty list answers NXDOMAIN. */
  setRecords(name: string, addresses: readonly string[]): void;
  /** Queries answered so far for `name`, any type. */
  queries(name: string): number;
  close(): Promise<void>;
}

const NXDOMAIN = 3;

/**
 * Starts a DNS server on UDP host:0 that answers A queries for the names given records, an empty answer for other
 * types of those names (AAAA: there is no IPv6 here), and NXDOMAIN for anything else. grpc-js sends a `dns:`
 * target with an authority to this server only when GRPC_NODE_USE_ALTERNATIVE_RESOLVER=true was set before it
 * loaded.
 */
export async function startTestDnsServer(host = "127.0.0.1"): Promise<TestDnsServer> {
  const records = new Map<string, readonly string[]>();
  const counts = new Map<string, number>();
  const socket: Socket = createSocket("udp4");
  const key = (name: string) => name.toLowerCase().replace(/\.$/, "");
  socket.on("message", (message, peer) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // Not DNS: ignore, as a server does.
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = key(question.name);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const addresses = records.get(name) ?? [];
    const known = addresses.length > 0;
    const answers: dnsPacket.Answer[] =
      question.type === "A" ? addresses.map((data) => ({ type: "A", name: question.name, ttl: 0, data })) : [];
    const response = dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      // Authoritative, recursion available, and the rcode in the low four bits.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : NXDOMAIN),
      questions: [question],
      answers,
    });
    socket.send(response, peer.port, peer.address);
  });
  socket.bind(0, host);
  await once(socket, "listening");
  const { port } = socket.address();
  return {
    authority: `${host}:${port}`,
    setRecords(name, addresses) {
      records.set(key(name), [...addresses]);
    },
    queries: (name) => counts.get(key(name)) ?? 0,
    close: async () => {
      socket.close();
      await once(socket, "close");
    },
  };
}
