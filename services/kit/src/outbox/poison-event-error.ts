/**
 * Thrown by an event handler for an event that can never be handled — it does not decode, or says something
 * impossible — so retrying is pointless. The consumer dead-letters it at once and terminates it (JetStream
 * redelivers it no more), instead of backing off and retrying. A ValidationError from a handler counts the same.
 */
export class PoisonEventError extends Error {
  override readonly name = "PoisonEventError";
}
