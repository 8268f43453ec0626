import { resourceName } from "@lattice/kit";

/** Resource names the user service reads and writes (AIP-122). */
export const userName = resourceName("users", { idDescription: "a user id" });
