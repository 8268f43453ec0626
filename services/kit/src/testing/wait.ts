import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "nats";

export interface EventuallyOptions {
  /** Give up after this long (ms); 5000 by default. */
  withinMs?: number;
  /** Pause between attempts (ms); 25 by default. */
  intervalMs?: number;
}

/**
 * Runs `check` until it returns without throwing, and resolves with what it returned; after `withinMs` rejects with
 * the last failure. For conditions a test waits on (a row written, a log line, an event), instead of fixed sleeps.
 *
 *   const row = await eventually(async () => {
 *     const { rows } = await pool.query("SELECT state FROM orders WHERE id = $1", [id]);
 *     assert.equal(rows[0]?.state, "paid");
 *     return rows[0];
 *   });
 */
export async function eventually<T>(check: () => Promise<T> | T, options: EventuallyOptions = {}): Promise<T> {
  const until = Date.now() + (options.withinMs ?? 5000);
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= until) throw error;
    }
    await sleep(options.intervalMs ?? 25);
  }
}

/** One event as JetStream stored it. */
export interface StoredEvent {
  readonly subject: string;
  readonly data: Uint8Array;
}

export interface NextEventOptions extends EventuallyOptions {
  /** Only this subject (an event's full message name). */
  subject: string;
  /** Only events for which this holds (decode `data` in it). */
  match?: (event: StoredEvent) => boolean;
}

/**
 * The first event of `stream` (replayed from its start with an ordered consumer, so an event is found whether or not
 * it came first) on `subject` that `match` accepts; rejects after `withinMs` when there is none.
 */
export async function nextEvent(natsUrl: string, stream: string, options: NextEventOptions): Promise<StoredEvent> {
  const nats = await connect({ servers: natsUrl });
  try {
    const consumer = await nats.jetstream().consumers.get(stream);
    const until = Date.now() + (options.withinMs ?? 5000);
    while (Date.now() < until) {
      const message = await consumer.next({ expires: Math.min(1000, Math.max(100, until - Date.now())) });
      if (!message || message.subject !== options.subject) continue;
      const event = { subject: message.subject, data: message.data };
      if (!options.match || options.match(event)) return event;
    }
    throw new Error(`no ${options.subject} event in ${stream} within ${options.withinMs ?? 5000} ms`);
  } finally {
    await nats.close();
  }
}

/** One message as a stream stores it, with where it is stored. */
export interface StoredMessage extends StoredEvent {
  /** Its sequence in the stream. */
  readonly seq: number;
  /** Its headers, by name (first value of each). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Every message `stream` stores, in stream order (read from the start with an ordered consumer). */
export async function storedMessages(natsUrl: string, stream: string): Promise<StoredMessage[]> {
  const nats = await connect({ servers: natsUrl });
  try {
    const count = (await (await nats.jetstreamManager()).streams.info(stream)).state.messages;
    const consumer = await nats.jetstream().consumers.get(stream);
    const stored: StoredMessage[] = [];
    while (stored.length < count) {
      const before = stored.length;
      const batch = await consumer.fetch({ max_messages: Math.min(1000, count - stored.length), expires: 5000 });
      for await (const message of batch) {
        const headers: Record<string, string> = {};
        for (const [key, values] of message.headers ?? []) headers[key] = values[0] ?? "";
        stored.push({ subject: message.subject, data: message.data, seq: message.seq, headers });
      }
      if (stored.length === before) throw new Error(`read ${stored.length} of the ${count} messages of ${stream}`);
    }
    return stored;
  } finally {
    await nats.close();
  }
}
