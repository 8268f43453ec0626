import { ValidationError } from "../errors/domain.js";

/**
 * Page tokens for keyset paging: opaque to clients (AIP-158), they carry the position after which the next page
 * starts. Empty means the first page going in, and no further page coming out.
 */
export function pageTokenOf(after: number | undefined): string {
  return after === undefined ? "" : Buffer.from(`after:${after}`).toString("base64url");
}

/** The position a page token carries; INVALID_ARGUMENT (field page_token) for one this service did not make. */
export function parsePageToken(token: string): number | undefined {
  if (token === "") return undefined;
  const match = /^after:(\d{1,18})$/.exec(Buffer.from(token, "base64url").toString());
  if (!match) throw new ValidationError([{ field: "page_token", description: "not a page token from this service" }]);
  return Number(match[1]);
}
