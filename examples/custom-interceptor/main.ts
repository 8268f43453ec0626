import {
  createClient,
  defineService,
  GrpcError,
  HealthService,
  infrastructureMethods,
  not,
  selectMethods,
  ServingStatus,
  Status,
} from "@lattice/kit";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";
import { unimplementedGreeter } from "../shared/greeter.js";
import { startLocal } from "../shared/local.js";
import { CALLER, requireApiKey, sendApiKey } from "./api-key.js";

const greeterModule = defineService({
  declaration: {
    name: "keyed-greeter",
    directory: import.meta.dirname,
    grpcServices: ["lattice.greeter.v1.GreeterService"],
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
  },
  setup({ server }) {
    // The module adds its own interceptor. The selector keeps it off health and reflection: kubelet's probes and
    // tools like grpcurl send no API key, and must not need one.
    server.use(selectMethods(not(infrastructureMethods), requireApiKey(new Map([["k-123", "team-a"]]))));
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      greet: (request, ctx) => ({
        message: `Hello, ${request.name}! (called with the key of ${ctx.values.get(CALLER)})`,
        language: Language.LANGUAGE_ENGLISH,
      }),
    });
  },
});

const service = await startLocal(greeterModule);
const anonymous = createClient(GreeterServiceService, service.grpcAddress);
const keyed = createClient(GreeterServiceService, service.grpcAddress, { interceptors: [sendApiKey("k-123")] });
const health = createClient(HealthService, service.grpcAddress);
const ada = { name: "Ada", language: Language.LANGUAGE_ENGLISH };
try {
  const refused = await anonymous.greet(ada).catch((error: unknown) => error);
  if (!(refused instanceof GrpcError)) throw new Error("the call without a key was not refused");
  console.log(`Greet without a key: ${Status[refused.code]}: ${refused.message}`);

  const { message } = await keyed.greet(ada);
  console.log(`Greet with the key, sent by a client interceptor: ${message}`);

  const { status } = await health.check({ service: "" });
  console.log(`Health check without a key: ${ServingStatus[status]}, since the selector skips health`);
} finally {
  for (const client of [anonymous, keyed, health]) client.close();
  await service.shutdown();
}
