/**
 * What every peer server shares: the greeter's own Greet handler (services/greeter/src/handler.ts, built), the
 * contract's descriptor set, and how a server is told its port and says it is ready.
 */
import { readFileSync } from "node:fs";
import { greeterHandler } from "../../../services/greeter/dist/src/handler.js";

const handler = greeterHandler();
type GreeterRequest = Parameters<typeof handler.greet>[0];
type GreeterContext = Parameters<typeof handler.greet>[1];
// Greet never reads its context; no peer builds one (the Lattice bare server passes none either).
const noContext = {} as GreeterContext;

/** A GreetRequest as every runtime here decodes it: camelCase fields, the enum as its number. */
export type GreetFields = Pick<GreeterRequest, "name" | "language">;

/** A GreetResponse as every runtime here encodes it. */
export type GreetReply = Awaited<ReturnType<typeof handler.greet>>;

/**
 * Greet, answered by the greeter's handler. Synchronous, as it is in Lattice; throws the handler's
 * ValidationError for a language the contract does not define.
 */
export function greet(request: GreetFields): GreetReply {
  // The handler refuses a language number the contract does not define.
  const reply = handler.greet({ name: request.name, language: request.language }, noContext);
  if (reply instanceof Promise) throw new Error("the Greet handler is expected to answer synchronously");
  return reply;
}

/** The contract's descriptor set (proto/gen/descriptor-set.binpb, every file with its imports). */
export function descriptorSet(): Buffer {
  return readFileSync(new URL("../../../proto/gen/descriptor-set.binpb", import.meta.url));
}

/** The full name of the service every peer serves. */
export const GREETER_SERVICE = "lattice.greeter.v1.GreeterService";

/** The port to listen on, on 127.0.0.1: GRPC_PORT. */
export function listenPort(): number {
  const port = Number(process.env["GRPC_PORT"]);
  if (!Number.isInteger(port) || port <= 0) throw new Error("GRPC_PORT must be set to a port number");
  return port;
}

/** The line the bench waits for (it then checks the answer with a real gRPC client). */
export function announce(port: number): void {
  console.log(JSON.stringify({ msg: "serving", grpc: `127.0.0.1:${port}` }));
}

/** proto-loader's options for the runtimes that use it: the shapes GreetFields and GreetReply describe. */
export const PROTO_LOADER_OPTIONS = { keepCase: false, longs: Number, enums: Number, defaults: true } as const;
