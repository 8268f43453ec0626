import { runService } from "@lattice/kit";
import { orderModule } from "./module.js";

await runService(orderModule);
