import { runService } from "@lattice/kit";
import { userModule } from "./module.js";

await runService(userModule);
