import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Server } from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

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

/**
 * Adds gRPC server reflection (v1 and v1alpha) listing the given services and serving the whole descriptor set,
 * so `buf curl` and grpcurl resolve every method and message, grpc.health.v1.Health included.
 */
export function addReflection(server: Server, services: readonly string[], set = loadDescriptorSet()): void {
  // The reflection service only reads `fileDescriptorProtos` from the definition it is given.
  const definition = {
    "lattice.descriptors": { fileDescriptorProtos: descriptorFiles(set).map((file) => Buffer.from(file)) },
  } as unknown as PackageDefinition;
  new ReflectionService(definition, { services: [...services] }).addToServer(server);
}
