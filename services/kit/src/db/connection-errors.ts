import { UnavailableError } from "../errors/domain.js";

/**
 * Socket errors that mean the database server cannot be reached or the connection to it broke: nothing about the
 * statement, everything about the network or the server's process.
 */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs the server sends when it cannot do the work for reasons of its own state, not of the statement:
 * class 08 (connection exception) and 53 (insufficient resources: 53300 too many connections, out of memory, disk
 * full), 57P01 admin shutdown (a fast shutdown or pg_terminate_backend), 57P02 crash shutdown, 57P03 cannot connect
 * now (starting up or in recovery), 57014 query cancelled (statement_timeout, or an operator's cancel), 55P03 lock
 * not available (lock_timeout), 58000/58030 system and I/O errors.
 */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  "57P01",
  "57P02",
  "57P03",
  "57014",
  "55P03",
  "58000",
  "58030",
]);
const UNAVAILABLE_SQLSTATE_CLASSES: ReadonlySet<string> = new Set(["08", "53"]);

/**
 * What node-postgres and its pool say, without a code, when a connection could not be made or broke: the socket
 * ended, the connect timeout passed, or the client was used after its connection failed.
 */
const DRIVER_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^timeout expired$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Query read timeout$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/** How long a caller should wait before retrying after the database was unavailable (RetryInfo), in ms. */
export const DATABASE_RETRY_AFTER_MS = 1000;

/**
 * True when `error` says the database could not be reached or could not do the work right now — a connection
 * refused, reset or timed out, a server shutting down or starting, too many connections, a statement or lock
 * timeout — rather than something wrong with the statement (a constraint, a syntax error, a bad credential).
 */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof UnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2))) return true;
  }
  if (DRIVER_MESSAGES.some((pattern) => pattern.test(error.message))) return true;
  // Aggregate errors (one per address tried) are connection errors when every one of them is.
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.every(isConnectionError);
  return false;
}

/**
 * The error a caller sees when the database was unavailable: UNAVAILABLE with RetryInfo, the driver's error kept as
 * the cause for logs. Other errors are returned as they are (the repository decides what they mean).
 */
export function asDatabaseError(error: unknown): unknown {
  if (error instanceof UnavailableError || !isConnectionError(error)) return error;
  return new UnavailableError("database unavailable", DATABASE_RETRY_AFTER_MS, { cause: error });
}
