import { runService } from "@lattice/kit";
import { gatewayModule } from "./module.js";

await runService(gatewayModule);
