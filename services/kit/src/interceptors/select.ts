import type { MethodInfo } from "../rpc/method.js";
import type { Interceptor } from "./interceptor.js";

/** Decides, once per method when the chain is built, whether an interceptor applies to it. */
export type MethodMatcher = (method: MethodInfo) => boolean;

/**
 * `interceptor` on the methods `match` accepts, and nothing at all on the others (go-grpc-middleware's selector):
 * the choice is made when the chain is built, so unselected methods pay nothing per call.
 *
 *   selectMethods(not(infrastructureMethods), authInterceptor)   // every method but health and reflection
 */
export function selectMethods(match: MethodMatcher, interceptor: Interceptor): Interceptor {
  return (next, method) => (match(method) ? interceptor(next, method) : next);
}

/** Methods of the named services, e.g. `inServices("lattice.payment.v1.PaymentService")`. */
export function inServices(...services: readonly string[]): MethodMatcher {
  const names = new Set(services);
  return (method) => names.has(method.service);
}

/** Methods by full path, e.g. `methods("/lattice.payment.v1.PaymentService/Charge")`. */
export function methods(...paths: readonly string[]): MethodMatcher {
  const wanted = new Set(paths);
  return (method) => wanted.has(method.path);
}

export function not(match: MethodMatcher): MethodMatcher {
  return (method) => !match(method);
}

/** The services every Lattice server carries besides its own: gRPC health and server reflection. */
export const INFRASTRUCTURE_SERVICES: readonly string[] = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/** Health checks and reflection: traffic from probes and tools, not from the service's callers. */
export const infrastructureMethods: MethodMatcher = inServices(...INFRASTRUCTURE_SERVICES);
