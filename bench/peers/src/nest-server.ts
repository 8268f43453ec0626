/**
 * Greet as a NestJS gRPC microservice (@nestjs/microservices on grpc-js and proto-loader): a controller method
 * with @GrpcMethod, as Nest's documentation writes it.
 */
import "reflect-metadata";
import { Controller, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { GrpcMethod, Transport, type MicroserviceOptions } from "@nestjs/microservices";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import {
  announce,
  descriptorSet,
  greet,
  listenPort,
  PROTO_LOADER_OPTIONS,
  type GreetFields,
  type GreetReply,
} from "./greet.js";

@Controller()
class GreeterController {
  @GrpcMethod("GreeterService", "Greet")
  greet(request: GreetFields): GreetReply {
    return greet(request);
  }
}

@Module({ controllers: [GreeterController] })
// A Nest module is a decorated empty class.
// eslint-disable-next-line @typescript-eslint/no-extraneous-class
class GreeterModule {}

const port = listenPort();
// Nest declares its options as a class and takes a plain object, as its documentation does.
// eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
const app = await NestFactory.createMicroservice<MicroserviceOptions>(GreeterModule, {
  transport: Transport.GRPC,
  options: {
    url: `127.0.0.1:${port}`,
    package: "lattice.greeter.v1",
    packageDefinition: loadFileDescriptorSetFromBuffer(descriptorSet(), PROTO_LOADER_OPTIONS),
  },
  logger: false,
});
await app.listen();
announce(port);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
