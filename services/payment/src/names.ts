import { resourceName } from "@lattice/kit";

/** Resource names the payment service reads and writes (AIP-122). */
export const paymentName = resourceName("payments", { idDescription: "a payment id" });
/** The order a charge is for: the caller's resource, so any id of up to 64 letters, digits, '-' or '_'. */
export const orderName = resourceName("orders", { id: /^[\w-]{1,64}$/, idDescription: "an order id" });
