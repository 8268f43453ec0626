import { GrpcError, Status, type ServiceImplementation } from "@lattice/kit";
import type { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";

/** A greeter implementation, typed from the contract. */
export type Greeter = ServiceImplementation<typeof GreeterServiceService>;

const unimplemented = (): never => {
  throw new GrpcError(Status.UNIMPLEMENTED, "not part of this example");
};

/**
 * Every greeter method answering UNIMPLEMENTED. The kit wants every method of a contract implemented; an example
 * spreads this and writes only the methods it is about: `{ ...unimplementedGreeter, greet(request, ctx) {…} }`.
 */
export const unimplementedGreeter: Greeter = {
  greet: unimplemented,
  listGreetings: unimplemented,
  recordGreetings: unimplemented,
  chatGreetings: unimplemented,
};
