import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { ServiceImplementation } from "../rpc/implementation.js";

const require = createRequire(import.meta.url);

/** The descriptor set of every Lattice contract and its imports, built by `npm run generate`. */
export function loadDescriptorSet(): Buffer {
  return readFileSync(require.resolve("@lattice/proto/descriptor-set.binpb"));
}

/**
 * The files of a FileDescriptorSet, byte for byte. Read at the wire level on purpose: going through proto-loader
 * merges files of one package under one name, and then clients cannot resolve imports such as
 * google/protobuf/duration.proto.
 */
export function descriptorFiles(set: Uint8Array): Uint8Array[] {
  const files: Uint8Array[] = [];
  const reader = new BinaryReader(set);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}

/** One reflection service (v1 or v1alpha) as a definition and a Lattice implementation. */
export interface ReflectionServiceParts {
  readonly definition: ServiceDefinition;
  readonly implementation: ServiceImplementation<ServiceDefinition>;
}

type RawBidiHandler = (stream: EventEmitter & { write(message: unknown): boolean; end(): void }) => void;

/**
 * gRPC server reflection (v1 and v1alpha) listing `services` and serving the whole descriptor set, so `buf curl` and
 * grpcurl resolve every method and message, grpc.health.v1.Health included. @grpc/reflection answers; its services
 * are returned as definitions plus implementations so they go through the server's interceptor chain like any
 * other (and selectors can exempt them).
 */
export function reflectionServices(services: readonly string[], set = loadDescriptorSet()): ReflectionServiceParts[] {
  // The reflection service only reads `fileDescriptorProtos` from the definition it is given.
  const pkg = {
    "lattice.descriptors": { fileDescriptorProtos: descriptorFiles(set).map((file) => Buffer.from(file)) },
  } as unknown as PackageDefinition;
  const parts: ReflectionServiceParts[] = [];
  new ReflectionService(pkg, { services: [...services] }).addToServer({
    addService(definition: ServiceDefinition, raw: UntypedServiceImplementation) {
      const entries = Object.entries(raw);
      if (entries.length !== 1) throw new Error("@grpc/reflection: expected one method per reflection service");
      const [key, handler] = entries[0]!;
      parts.push({ definition, implementation: { [key]: answerEach(handler as unknown as RawBidiHandler) } });
    },
  });
  return parts;
}

/**
 * A bidi method over @grpc/reflection's handler, which answers each request synchronously from its 'data'
 * listener: one request in, its answer out, in order. (The reflection test fails if that ever changes.)
 */
function answerEach(handler: RawBidiHandler) {
  return async function* (requests: AsyncIterable<unknown>): AsyncGenerator {
    const answers: unknown[] = [];
    const stream = Object.assign(new EventEmitter(), {
      write(message: unknown) {
        answers.push(message);
        return true;
      },
      end() {},
    });
    handler(stream);
    for await (const request of requests) {
      stream.emit("data", request);
      if (answers.length !== 1) throw new Error("@grpc/reflection did not answer a request synchronously");
      yield answers.pop();
    }
  };
}
