import type { Exchange } from "./exchange.js";

/** Cross-origin settings (GATEWAY_CORS_*). */
export interface CorsSettings {
  /** Origins allowed to call from a browser ("https://app.example.com"), or ["*"] for any; empty: CORS off. */
  readonly origins: readonly string[];
  /** Send Access-Control-Allow-Credentials (cookies, Authorization from the browser); never with "*". */
  readonly credentials: boolean;
  /** How long a browser may cache a preflight answer (seconds). */
  readonly maxAgeSeconds: number;
}

const METHODS = "GET, POST, PUT, PATCH, DELETE";

/**
 * Applies CORS to an exchange. For an allowed Origin every response gets Access-Control-Allow-Origin (and lists its
 * own headers in Access-Control-Expose-Headers, so scripts can read Grpc-Metadata-*, grpc-status and the like); a
 * preflight (OPTIONS with Access-Control-Request-Method) is answered here with 204 and returns true. A preflight
 * from an origin that is not allowed also gets 204, without CORS headers: the browser then refuses the call.
 */
export function applyCors(settings: CorsSettings, exchange: Exchange): boolean {
  const origin = exchange.headers.origin;
  const preflight = exchange.method === "OPTIONS" && exchange.headers["access-control-request-method"] !== undefined;
  const any = settings.origins.includes("*");
  const allowed = origin !== undefined && (any || settings.origins.includes(origin));
  if (allowed) {
    exchange.extraHeaders["access-control-allow-origin"] = any && !settings.credentials ? "*" : origin;
    if (!any || settings.credentials) exchange.extraHeaders.vary = "Origin";
    if (settings.credentials) exchange.extraHeaders["access-control-allow-credentials"] = "true";
    exchange.exposeHeaders = true;
  }
  if (!preflight) return false;
  const headers: Record<string, string> = {};
  if (allowed) {
    const requested = exchange.headers["access-control-request-method"]!;
    headers["access-control-allow-methods"] = METHODS.includes(requested) ? METHODS : `${METHODS}, ${requested}`;
    const requestedHeaders = exchange.headers["access-control-request-headers"];
    if (requestedHeaders) headers["access-control-allow-headers"] = requestedHeaders;
    headers["access-control-max-age"] = String(settings.maxAgeSeconds);
  }
  exchange.exposeHeaders = false;
  exchange.writeHead(204, headers);
  exchange.end();
  return true;
}
