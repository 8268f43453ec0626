import { runService } from "@lattice/kit";
import { greeterModule } from "./module.js";

await runService(greeterModule);
