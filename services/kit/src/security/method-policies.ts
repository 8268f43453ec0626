import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { MethodPolicy } from "@lattice/proto/lattice/auth/v1/annotations";
import { descriptorFiles, loadDescriptorSet } from "../reflection/reflection.js";

export type { MethodPolicy };

/** Field number of the `(lattice.auth.v1.policy)` extension of google.protobuf.MethodOptions. */
export const POLICY_EXTENSION_FIELD = 50730;

/** What a method without a `(lattice.auth.v1.policy)` option gets: a valid token when tokens are verified. */
export const DEFAULT_POLICY: MethodPolicy = { allowAnonymous: false, roles: [], scopes: [], callers: [] };

/**
 * Every method policy declared in a descriptor set, by method path ("/lattice.payment.v1.PaymentService/Charge").
 * Read at the wire level, since the generated descriptor types drop extensions: FileDescriptorProto.package (2) and
 * .service (6), ServiceDescriptorProto.name (1) and .method (2), MethodDescriptorProto.name (1) and .options (4),
 * and in the options the extension field.
 */
export function methodPolicies(set: Uint8Array = loadDescriptorSet()): Map<string, MethodPolicy> {
  const policies = new Map<string, MethodPolicy>();
  for (const file of descriptorFiles(set)) {
    let pkg = "";
    const services: Uint8Array[] = [];
    eachField(file, (field, reader) => {
      if (field === 2) pkg = reader.string();
      else if (field === 6) services.push(reader.bytes());
      else return false;
      return true;
    });
    for (const service of services) {
      let name = "";
      const methods: Uint8Array[] = [];
      eachField(service, (field, reader) => {
        if (field === 1) name = reader.string();
        else if (field === 2) methods.push(reader.bytes());
        else return false;
        return true;
      });
      const fullName = pkg ? `${pkg}.${name}` : name;
      for (const method of methods) {
        let methodName = "";
        let policy: MethodPolicy | undefined;
        eachField(method, (field, reader) => {
          if (field === 1) methodName = reader.string();
          else if (field === 4) policy = policyInOptions(reader.bytes());
          else return false;
          return true;
        });
        if (policy) policies.set(`/${fullName}/${methodName}`, policy);
      }
    }
  }
  return policies;
}

function policyInOptions(options: Uint8Array): MethodPolicy | undefined {
  let policy: MethodPolicy | undefined;
  eachField(options, (field, reader) => {
    if (field !== POLICY_EXTENSION_FIELD) return false;
    // A repeated occurrence of a message field merges into the first (protobuf's rule); one is the normal case.
    const decoded = MethodPolicy.decode(reader.bytes());
    policy = policy
      ? {
          allowAnonymous: policy.allowAnonymous || decoded.allowAnonymous,
          roles: [...policy.roles, ...decoded.roles],
          scopes: [...policy.scopes, ...decoded.scopes],
          callers: [...policy.callers, ...decoded.callers],
        }
      : decoded;
    return true;
  });
  return policy;
}

/** Calls `read` for each field of a message; it returns false for fields it did not read, which are skipped. */
function eachField(bytes: Uint8Array, read: (field: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (wireType !== WireType.LengthDelimited || !read(field, reader)) reader.skip(wireType);
  }
}
