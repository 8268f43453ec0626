/** The header a request id travels in, between services and from the edge (a gateway, a load balancer). */
export const REQUEST_ID_HEADER = "x-request-id";

/** Longest request id taken from a caller; longer ones (or ones with other than printable ASCII) are replaced. */
const MAX_LENGTH = 128;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** `value` when it is a request id worth keeping (1 to 128 printable ASCII characters), else undefined. */
export function usableRequestId(value: unknown): string | undefined {
  return typeof value === "string" && value.length <= MAX_LENGTH && PRINTABLE.test(value) ? value : undefined;
}
