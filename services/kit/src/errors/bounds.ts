import type { ErrorDetail } from "./details.js";

/**
 * Limits on what an error sends back. Messages and details often quote the request (a field's value, an unknown
 * path), and a status travels in HTTP/2 trailers: grpc-message percent-encoded (up to 3 bytes per byte), the details
 * base64-encoded in grpc-status-details-bin (4 per 3). A grpc-js client refuses trailers past its metadata limit
 * (8 KiB by default) and then waits for its deadline instead of seeing the status, so an error that echoed a
 * 200 KB field would reach no one. With these bounds a status stays under about 6 KiB of trailers.
 */
export const MAX_MESSAGE_BYTES = 1024;
/** The serialized google.rpc.Status (code, message and every detail). */
export const MAX_STATUS_BYTES = 2048;
/** Each string inside a detail (a field path, a description, a resource name). */
export const MAX_DETAIL_TEXT_BYTES = 200;
/** Each list inside a detail (BadRequest's field violations, PreconditionFailure's violations). */
export const MAX_DETAIL_ITEMS = 16;

const ELLIPSIS = "…";

/** `text` cut to at most `maxBytes` of UTF-8 on a character boundary, ending with "…" when it was cut. */
export function boundText(text: string, maxBytes: number): string {
  // Most messages are short ASCII: no encoding needed to know they fit.
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS);
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + ELLIPSIS;
}

/**
 * `details` with every string cut to MAX_DETAIL_TEXT_BYTES and every list to `maxItems` entries (the first ones:
 * they are the most relevant, e.g. the first violations in field order). Unknown details keep their bytes only
 * when small. Values are plain data (ts-proto messages), copied, never changed in place.
 */
export function boundDetails(details: readonly ErrorDetail[], maxItems = MAX_DETAIL_ITEMS): ErrorDetail[] {
  return details.flatMap((detail): ErrorDetail[] => {
    if (detail.type === "Unknown") return detail.value.length <= MAX_STATUS_BYTES / 2 ? [detail] : [];
    return [{ type: detail.type, value: boundValue(detail.value, maxItems) } as ErrorDetail];
  });
}

function boundValue<T>(value: T, maxItems: number): T {
  if (typeof value === "string") return boundText(value, MAX_DETAIL_TEXT_BYTES) as T;
  if (Array.isArray(value)) return value.slice(0, maxItems).map((item: unknown) => boundValue(item, maxItems)) as T;
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = boundValue(inner, maxItems);
  return copy as T;
}
