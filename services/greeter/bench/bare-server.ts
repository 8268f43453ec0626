/**
 * The benchmark's baseline: the greeter's Greet handler on a bare grpc-js server — no interceptors, health,
 * reflection, metrics or logs. Listens on GRPC_PORT (loopback).
 */
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { GrpcError, type CallContext } from "@lattice/kit";
import {
  GreeterServiceService,
  type GreetRequest,
  type GreetResponse,
} from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "../src/handler.js";

const handler = greeterHandler();
// Greet never reads its context; the baseline must not pay for building one.
const noContext = {} as CallContext;

const server = new Server();
server.addService(GreeterServiceService, {
  greet(call: ServerUnaryCall<GreetRequest, GreetResponse>, callback: sendUnaryData<GreetResponse>) {
    try {
      callback(null, handler.greet(call.request, noContext) as GreetResponse);
    } catch (error) {
      callback({ code: error instanceof GrpcError ? error.code : status.INTERNAL, details: String(error) });
    }
  },
  listGreetings: () => undefined,
  recordGreetings: () => undefined,
  chatGreetings: () => undefined,
});
const port = Number(process.env["GRPC_PORT"] ?? 50061);
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log(JSON.stringify({ msg: "serving", grpc: `127.0.0.1:${port}` }));
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
