import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { loadDescriptorSet } from "../reflection/reflection.js";

let registry: FileRegistry | undefined;

/**
 * Every Lattice contract as protobuf descriptors (the descriptor set `npm run generate` builds), loaded once: what a
 * method declares beyond its types — its idempotency level, its request's fields — is read here.
 */
export function contractRegistry(): FileRegistry {
  registry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, loadDescriptorSet()));
  return registry;
}
