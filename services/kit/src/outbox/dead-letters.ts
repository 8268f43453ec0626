import { headers, type NatsConnection } from "nats";
import { ensureStream } from "./jetstream.js";

/** The JetStream stream dead letters go to, shared by every consumer of a NATS account. */
export const DEAD_LETTER_STREAM = "LATTICE_DEAD_LETTERS";
/** Dead letters' subjects: lattice.dead.<consumer>.<stream>. */
export const DEAD_LETTER_SUBJECTS = ["lattice.dead.>"];
/** How long dead letters are kept: time enough to notice, fix the cause and replay them. */
export const DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/** Why an event was dead-lettered. */
export type DeadLetterReason = "poison" | "exhausted";
/** Every DeadLetterReason. */
export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = ["poison", "exhausted"];

/** Headers a dead letter carries, besides the original event's data as its own. */
export const DeadLetterHeader = {
  /** The stream and sequence the event was stored at: where to find it again while the stream keeps it. */
  STREAM: "Lattice-Dead-Stream",
  SEQUENCE: "Lattice-Dead-Sequence",
  /** The event's own subject: where to publish it again to replay it. */
  SUBJECT: "Lattice-Dead-Subject",
  /** The durable consumer that gave up on it. */
  CONSUMER: "Lattice-Dead-Consumer",
  /** poison (it can never be handled) or exhausted (it failed on every allowed delivery). */
  REASON: "Lattice-Dead-Reason",
  /** The handler's last error message, cut to 1000 characters. */
  ERROR: "Lattice-Dead-Error",
  DELIVERIES: "Lattice-Dead-Deliveries",
} as const;

export interface DeadLetter {
  readonly stream: string;
  readonly sequence: number;
  readonly subject: string;
  readonly consumer: string;
  readonly reason: DeadLetterReason;
  readonly error: string;
  readonly deliveries: number;
  readonly data: Uint8Array;
}

/**
 * Stores an event a consumer gave up on in DEAD_LETTER_STREAM (created if missing), on
 * lattice.dead.<consumer>.<stream>, with its data and where it came from (DeadLetterHeader). Its message id is
 * <consumer>:<stream>:<sequence>, so dead-lettering one event twice stores it once. Rejects if the broker did not
 * acknowledge it: the caller must then keep the event.
 */
export async function publishDeadLetter(nc: NatsConnection, letter: DeadLetter): Promise<void> {
  await ensureStream(nc, DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, { maxAgeMs: DEAD_LETTER_MAX_AGE_MS });
  const h = headers();
  h.set(DeadLetterHeader.STREAM, letter.stream);
  h.set(DeadLetterHeader.SEQUENCE, String(letter.sequence));
  h.set(DeadLetterHeader.SUBJECT, letter.subject);
  h.set(DeadLetterHeader.CONSUMER, letter.consumer);
  h.set(DeadLetterHeader.REASON, letter.reason);
  h.set(DeadLetterHeader.ERROR, oneLine(letter.error).slice(0, 1000));
  h.set(DeadLetterHeader.DELIVERIES, String(letter.deliveries));
  await nc.jetstream().publish(`lattice.dead.${letter.consumer}.${letter.stream}`, letter.data, {
    msgID: `${letter.consumer}:${letter.stream}:${letter.sequence}`,
    headers: h,
  });
}

/** Header values are one line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
