import { resourceName } from "@lattice/kit";

/** Resource names the order service reads and writes (AIP-122): handlers parse them, the rules work with ids. */
export const orderName = resourceName("orders", { idDescription: "an order id" });
export const userName = resourceName("users", { idDescription: "a user id" });
export const paymentName = resourceName("payments", { idDescription: "a payment id" });
