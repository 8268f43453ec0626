import { createClient, defineService, REQUEST_ID_HEADER } from "@lattice/kit";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { unimplementedGreeter } from "../shared/greeter.js";
import { startLocal } from "../shared/local.js";

const greeter = ["lattice.greeter.v1.GreeterService"];

/** The service behind the edge: greets, and logs that it did. */
const backModule = defineService({
  declaration: {
    name: "back",
    directory: import.meta.dirname,
    grpcServices: greeter,
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
  },
  setup({ server }) {
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      greet(request, ctx) {
        ctx.log.info({ name: request.name }, "greeting");
        return { message: `Hello, ${request.name}!`, language: Language.LANGUAGE_ENGLISH };
      },
    });
  },
});

/** The first service a request reaches: logs, then asks back. No request id is handled by hand anywhere. */
const edgeModule = defineService({
  declaration: {
    name: "edge",
    directory: import.meta.dirname,
    grpcServices: greeter,
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: ["back"],
  },
  setup({ server, connect }) {
    const back = connect(GreeterServiceService, "back");
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      greet(request, ctx) {
        ctx.log.info("asking back for a greeting");
        return back.greet(request);
      },
    });
  },
});

const back = await startLocal(backModule, { LOG_LEVEL: "info" });
const edge = await startLocal(edgeModule, { LOG_LEVEL: "info", BACK_SERVICE_ADDRESS: back.grpcAddress });
const client = createClient(GreeterServiceService, edge.grpcAddress);
const ada = { name: "Ada", language: Language.LANGUAGE_ENGLISH };
try {
  console.log(`call 1 sends no ${REQUEST_ID_HEADER}: the edge makes one, and back logs the same`);
  await client.greet(ada);
  console.log(`call 2 sends ${REQUEST_ID_HEADER}: checkout-42, which both services keep`);
  await client.greet(ada, { metadata: { [REQUEST_ID_HEADER]: "checkout-42" } });
} finally {
  client.close();
  await edge.shutdown();
  await back.shutdown();
}
