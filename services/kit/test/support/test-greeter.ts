import { setTimeout as sleep } from "node:timers/promises";
import { defineService, type ServiceImplementation, type SetupContext, type BaseConfig } from "@lattice/kit";
import { testDeclaration } from "@lattice/kit/testing";
import { GreeterServiceService, Language } from "@lattice/proto/lattice/greeter/v1/greeter";

export type Greeter = ServiceImplementation<typeof GreeterServiceService>;

/** Plain behaviour for every greeter method; tests replace the ones they are about. */
export const plainGreeter: Greeter = {
  greet: (request) => ({ message: `hi ${request.name}`, language: Language.LANGUAGE_UNSPECIFIED }),
  async *listGreetings(request, ctx) {
    const intervalMs = request.interval ? request.interval.seconds * 1000 + request.interval.nanos / 1e6 : 0;
    for (let sequence = 1; sequence <= request.count; sequence++) {
      // Paused between messages as the greeter does, and woken by the call's end, so streams can be slow.
      if (sequence > 1 && intervalMs > 0) await sleep(intervalMs, undefined, { signal: ctx.signal });
      yield { message: `m${sequence}`, language: Language.LANGUAGE_UNSPECIFIED, sequence };
    }
  },
  async recordGreetings(requests) {
    let count = 0;
    for await (const _ of requests) count++;
    return { count, distinctCount: count, message: "" };
  },
  async *chatGreetings(requests) {
    for await (const request of requests) yield { message: request.name, language: Language.LANGUAGE_UNSPECIFIED };
  },
};

/**
 * A module serving the greeter contract with `overrides` over plainGreeter, for tests of the kit itself. `setup`
 * runs first (e.g. to add interceptors with server.use).
 */
export function greeterModule(
  overrides: Partial<Greeter> = {},
  options: { name?: string; setup?: (ctx: SetupContext<BaseConfig>) => void } = {},
) {
  const implementation: Greeter = { ...plainGreeter, ...overrides };
  return defineService({
    declaration: testDeclaration(options.name ?? "kit-test", { grpcServices: ["lattice.greeter.v1.GreeterService"] }),
    setup(ctx) {
      options.setup?.(ctx);
      ctx.server.addService(GreeterServiceService, implementation);
    },
  });
}

export const ADA = { name: "Ada", language: Language.LANGUAGE_UNSPECIFIED };
