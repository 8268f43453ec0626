import { setTimeout as sleep } from "node:timers/promises";
import { createClient, defineService } from "@lattice/kit";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { unimplementedGreeter } from "../shared/greeter.js";
import { startLocal } from "../shared/local.js";

const TOTAL = 100_000;
/** How many greetings the server's generator has produced so far. */
let produced = 0;

const greeterModule = defineService({
  declaration: {
    name: "streaming-greeter",
    directory: import.meta.dirname,
    grpcServices: ["lattice.greeter.v1.GreeterService"],
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
  },
  setup({ server }) {
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      // A plain generator: the kit asks it for the next greeting only once the client can take one.
      async *listGreetings(request) {
        for (let sequence = 1; sequence <= request.count; sequence++) {
          produced = sequence;
          yield { message: `Hello, ${request.name}!`, language: Language.LANGUAGE_ENGLISH, sequence };
        }
      },
    });
  },
});

const service = await startLocal(greeterModule);
const client = createClient(GreeterServiceService, service.grpcAddress);
try {
  let read = 0;
  for await (const greeting of client.listGreetings({ name: "Ada", count: TOTAL })) {
    read = greeting.sequence;
    if (read !== 1) continue;
    console.log(`client asked for ${TOTAL} greetings, read the first, and stops reading for 1 s`);
    await sleep(500);
    const half = produced;
    await sleep(500);
    console.log(`server produced ${half} after 0.5 s, ${produced} after 1 s: it waits for the client`);
  }
  console.log(`client read all ${read}; the server produced ${produced}`);
} finally {
  client.close();
  await service.shutdown();
}
