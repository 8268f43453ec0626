import { runService } from "@lattice/kit";
import { paymentModule } from "./module.js";

await runService(paymentModule);
