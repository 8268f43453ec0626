/**
 * Greet on connect-node (@connectrpc/connect-node, protobuf-es v2 messages from the contract's descriptor set),
 * serving the gRPC protocol only over node:http2 without TLS.
 */
import { createServer } from "node:http2";
import { createFileRegistry, fromBinary, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  announce,
  descriptorSet,
  greet,
  GREETER_SERVICE,
  listenPort,
  type GreetFields,
  type GreetReply,
} from "./greet.js";

// The types protoc-gen-es would generate for the service, given to the descriptor read from the set.
type GreetRequest = Message<"lattice.greeter.v1.GreetRequest"> & GreetFields;
type GreetResponse = Message<"lattice.greeter.v1.GreetResponse"> & GreetReply;
type GreeterService = GenService<{
  greet: { methodKind: "unary"; input: GenMessage<GreetRequest>; output: GenMessage<GreetResponse> };
}>;

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet()));
const service = registry.getService(GREETER_SERVICE) as GreeterService | undefined;
if (!service) throw new Error(`${GREETER_SERVICE} is not in the descriptor set`);

const handler = connectNodeAdapter({
  grpc: true,
  grpcWeb: false,
  connect: false,
  routes(router) {
    router.service(service, {
      greet: (request) => greet(request),
    });
  },
});
const port = listenPort();
const server = createServer(handler);
server.listen(port, "127.0.0.1", () => announce(port));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
