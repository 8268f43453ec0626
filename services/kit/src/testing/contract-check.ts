import type { DescMessage } from "@bufbuild/protobuf";
import { Contract } from "../validation/contract.js";
import { RequestValidator } from "../validation/request-validator.js";

let validatorFor: ((schema: DescMessage) => RequestValidator) | undefined;

/**
 * What the kit's validation would refuse in `bytes` as the request of the method at `path` ("/pkg.Service/Method"),
 * one "field: description" per violation; empty when the contract allows the request. Tests use it to check that
 * what a service stored could only have come from a request its contract accepts.
 */
export function contractViolations(path: string, bytes: Uint8Array): string[] {
  const contract = Contract.lattice();
  const schema = contract.requestSchema(path);
  if (!schema) throw new Error(`${path} is not a method of the contract`);
  validatorFor ??= RequestValidator.forContract(contract);
  return validatorFor(schema)
    .violationsOf(bytes)
    .map((violation) => `${violation.field}: ${violation.description}`);
}
