import type { Interceptor } from "../interceptors/interceptor.js";
import { Contract } from "./contract.js";
import { RequestValidator } from "./request-validator.js";

export interface ValidationOptions {
  /** The contract methods are checked against; Lattice's descriptor set (@lattice/proto) by default. */
  readonly contract?: Contract;
}

/**
 * Enforces each method's contract on its requests before the rest of the chain sees them: the field rules
 * declared in the .proto files with protovalidate's `buf.validate` options, and the rules every field gets (see
 * wire-check.ts). A request that breaks them ends the call with INVALID_ARGUMENT and a BadRequest naming every
 * field. Every message of a client stream is checked as it arrives, the Nth one's descriptions starting
 * "message N: "; the messages before it have been handled by then.
 *
 * The kit's server puts it on every method but health and reflection; it applies to a method only when the
 * contract describes it and its requests came through the kit's deserializer hook (keepRequestBytes). Work per
 * method (finding its message, whether it declares rules) is done once, when the chain is built.
 */
export function validationInterceptor(options: ValidationOptions = {}): Interceptor {
  let validatorFor: ((path: string) => RequestValidator | undefined) | undefined;
  const lookup = (path: string) => {
    if (!validatorFor) {
      const contract = options.contract ?? Contract.lattice();
      const make = RequestValidator.forContract(contract);
      validatorFor = (p) => {
        const schema = contract.requestSchema(p);
        return schema && make(schema);
      };
    }
    return validatorFor(path);
  };
  return (next, method) => {
    const validator = lookup(method.path);
    if (!validator) return next;
    if (!method.requestStream)
      return (input, ctx) => {
        validator.check(input);
        return next(input, ctx);
      };
    return (input, ctx) => next(checkEach(input as AsyncIterable<unknown>, validator), ctx);
  };
}

async function* checkEach(requests: AsyncIterable<unknown>, validator: RequestValidator): AsyncGenerator {
  let position = 0;
  for await (const request of requests) {
    validator.check(request, ++position);
    yield request;
  }
}
