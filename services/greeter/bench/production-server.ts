/**
 * The greeter as a production service runs it: runService with the kit's whole chain (metrics, logging at
 * LOG_CALLS, recovery, auth and rate limits when JWT_* and RATE_LIMITS are set, validation), plus a client with
 * retries and a circuit breaker, as every service that calls another has — making one is what puts handlers in
 * their call's scope, through which request ids, deadlines and cancellation reach the calls they make. The client
 * is never called. Settings from the environment, as main.ts.
 */
import { createClient, DEFAULT_BREAKER_SETTINGS, DEFAULT_RETRY_SETTINGS, runService } from "@lattice/kit";
import { GreeterServiceService } from "@lattice/proto/lattice/greeter/v1/greeter";
import { greeterModule } from "../src/module.js";

createClient(GreeterServiceService, "127.0.0.1:1", {
  name: "dependency",
  retry: DEFAULT_RETRY_SETTINGS,
  breaker: DEFAULT_BREAKER_SETTINGS,
}).close();
await runService(greeterModule);
