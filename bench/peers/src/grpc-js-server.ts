/**
 * Greet on a bare @grpc/grpc-js server with @grpc/proto-loader (protobufjs codecs): the way most Node gRPC servers
 * are written, and the baseline of `npm run bench`.
 */
import {
  loadPackageDefinition,
  Server,
  ServerCredentials,
  status,
  type GrpcObject,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceClientConstructor,
} from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { announce, descriptorSet, greet, listenPort, PROTO_LOADER_OPTIONS, type GreetFields } from "./greet.js";

const definition = loadFileDescriptorSetFromBuffer(descriptorSet(), PROTO_LOADER_OPTIONS);
const root = loadPackageDefinition(definition);
const greeter = ((root["lattice"] as GrpcObject)["greeter"] as GrpcObject)["v1"] as GrpcObject;
const service = (greeter["GreeterService"] as ServiceClientConstructor).service;

const server = new Server();
server.addService(service, {
  Greet(call: ServerUnaryCall<GreetFields, unknown>, callback: sendUnaryData<unknown>) {
    try {
      callback(null, greet(call.request));
    } catch (error) {
      callback({ code: status.INVALID_ARGUMENT, details: String(error) });
    }
  },
});
const port = listenPort();
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
  announce(port);
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
