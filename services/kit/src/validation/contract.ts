import { createFileRegistry, fromBinary, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { loadDescriptorSet } from "../reflection/reflection.js";

/**
 * The contracts as descriptors: every file of the descriptor set `npm run generate` builds (the Lattice protos and
 * their imports, buf/validate/validate.proto included), for the validator and the wire checks. Built once, on
 * first use.
 */
export class Contract {
  private static shared: Contract | undefined;

  private constructor(readonly registry: FileRegistry) {}

  /** The contract of every Lattice service, from @lattice/proto's descriptor set. */
  static lattice(): Contract {
    Contract.shared ??= Contract.fromDescriptorSet(loadDescriptorSet());
    return Contract.shared;
  }

  /** A contract from a serialized google.protobuf.FileDescriptorSet that holds every file its files import. */
  static fromDescriptorSet(bytes: Uint8Array): Contract {
    return new Contract(createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes)));
  }

  /**
   * The request message of the method at `path` ("/pkg.Service/Method"), or undefined when the contract does not
   * describe that method (a service built from other protos: it is then not validated).
   */
  requestSchema(path: string): DescMessage | undefined {
    const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
    if (!match) return undefined;
    return this.registry.getService(match[1]!)?.methods.find((m) => m.name === match[2])?.input;
  }
}
