import {
  createClient,
  defineService,
  GrpcError,
  Status,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from "@lattice/kit";
import { GreeterServiceService, Language, type GreetRequest } from "@lattice/proto/lattice/greeter/v1/greeter";
import { unimplementedGreeter } from "../shared/greeter.js";
import { startLocal } from "../shared/local.js";

const HELLO: Partial<Record<Language, string>> = {
  [Language.LANGUAGE_ENGLISH]: "Hello",
  [Language.LANGUAGE_FRENCH]: "Bonjour",
  [Language.LANGUAGE_JAPANESE]: "こんにちは",
};

const greeterModule = defineService({
  declaration: {
    name: "picky-greeter",
    directory: import.meta.dirname,
    grpcServices: ["lattice.greeter.v1.GreeterService"],
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
  },
  setup({ server }) {
    server.addService(GreeterServiceService, {
      ...unimplementedGreeter,
      greet(request, ctx) {
        // Trailers go out with the status, so the caller gets this one whether the call succeeds or fails.
        ctx.responseTrailer.set("x-cost-units", "1");
        // The contract's field rules (greeter.proto) were checked before this handler ran; what is left is this
        // service's own business: the languages it speaks.
        const hello = HELLO[request.language];
        if (hello === undefined) {
          const violation: FieldViolation = {
            field: "language",
            description: `${Language[request.language]} is not supported`,
          };
          throw new ValidationError([violation]);
        }
        if (request.language === Language.LANGUAGE_JAPANESE)
          throw new UnavailableError("the Japanese translator is down", 1500);
        return { message: `${hello}, ${request.name}!`, language: request.language };
      },
    });
  },
});

const service = await startLocal(greeterModule);
const client = createClient(GreeterServiceService, service.grpcAddress);

/** Makes one call and prints its answer, or its status with every detail and trailer a caller can act on. */
async function greet(request: GreetRequest): Promise<void> {
  const languageName = Language[request.language] as string | undefined;
  const label = `Greet ${JSON.stringify(request.name)} in ${languageName ?? `language ${request.language}`}`;
  try {
    console.log(`${label}: ${(await client.greet(request)).message}`);
  } catch (error) {
    if (!(error instanceof GrpcError)) throw error;
    console.log(`${label}: ${Status[error.code]}: ${error.message}`);
    for (const violation of error.detail("BadRequest")?.fieldViolations ?? [])
      console.log(`  BadRequest: ${violation.field}: ${violation.description}`);
    const delay = error.detail("RetryInfo")?.retryDelay;
    if (delay) console.log(`  RetryInfo: try again in ${delay.seconds * 1000 + delay.nanos / 1e6} ms`);
    const cost = error.metadata.get("x-cost-units")[0];
    if (cost !== undefined) console.log(`  trailer x-cost-units: ${String(cost)}`);
  }
}

try {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- a number the contract does not define
  await greet({ name: " ", language: 42 as Language });
  await greet({ name: "Ada", language: Language.LANGUAGE_GERMAN });
  await greet({ name: "Ada", language: Language.LANGUAGE_JAPANESE });
  await greet({ name: "Ada", language: Language.LANGUAGE_FRENCH });
} finally {
  client.close();
  await service.shutdown();
}
