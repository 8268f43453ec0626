import { defineService, serviceDeclaration } from "@lattice/kit";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterHandler } from "./handler.js";

/** The greeter as the kit runs it, in its own process (main.ts) or inside a test. */
export const greeterModule = defineService({
  declaration: serviceDeclaration(import.meta.url),
  setup({ server }) {
    server.addService(GreeterServiceService, greeterHandler());
  },
});
