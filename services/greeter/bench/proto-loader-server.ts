/**
 * The codec benchmark's reference: the greeter's Greet handler on a bare grpc-js server whose messages are decoded
 * and encoded by @grpc/proto-loader (protobufjs, reflection over the .proto files loaded at start) — how most
 * grpc-js servers are written. No interceptors, health, reflection, metrics or logs. Listens on GRPC_PORT (loopback).
 */
import { fileURLToPath } from "node:url";
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { GrpcError, type CallContext } from "@lattice/kit";
import type { GreetRequest, GreetResponse } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "../src/handler.js";

const protoRoot = fileURLToPath(new URL("../../../../proto", import.meta.url));
// Plain objects shaped like ts-proto's (camelCase, enums as numbers, defaults filled in), so one handler serves both.
const definition = loadSync("lattice/greeter/v1/greeter.proto", {
  includeDirs: [protoRoot],
  keepCase: false,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: true,
});
const packageObject = loadPackageDefinition(definition) as unknown as {
  lattice: { greeter: { v1: { GreeterService: { service: ServiceDefinition } } } };
};
const service = packageObject.lattice.greeter.v1.GreeterService.service;

const handler = greeterHandler();
const noContext = {} as CallContext;

const server = new Server();
server.addService(service, {
  Greet(call: ServerUnaryCall<GreetRequest, GreetResponse>, callback: sendUnaryData<GreetResponse>) {
    try {
      callback(null, handler.greet(call.request, noContext) as GreetResponse);
    } catch (error) {
      callback({ code: error instanceof GrpcError ? error.code : status.INTERNAL, details: String(error) });
    }
  },
  ListGreetings: () => undefined,
  RecordGreetings: () => undefined,
  ChatGreetings: () => undefined,
});
const port = Number(process.env["GRPC_PORT"] ?? 50064);
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  console.log(JSON.stringify({ msg: "serving", grpc: `127.0.0.1:${port}` }));
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
