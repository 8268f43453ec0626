import { runService } from "@lattice/kit";
import { FIXTURE_NAME } from "./service-process.js";
import { greeterModule } from "./test-greeter.js";

// A service's main, as every service has one: the process whose life process.test.ts tests.
await runService(greeterModule({}, { name: FIXTURE_NAME }));
