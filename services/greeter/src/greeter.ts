import { setTimeout as sleep } from "node:timers/promises";
import { ValidationError } from "@lattice/kit";

/**
 * The greeter's business rules. Plain TypeScript: no gRPC or protobuf types, so it is tested and reused without a
 * server; the handler translates to and from the contract. The field rules (a name of 1 to 100 characters, not
 * only white space; count 1 to 1,000,000; interval 0 to 10 s; a known language) are declared in greeter.proto and
 * enforced by the kit before a request gets here.
 */

export type Language = "en" | "fr" | "es" | "de" | "ja";

/** The order ListGreetings cycles through. */
export const LANGUAGES: readonly Language[] = ["en", "fr", "es", "de", "ja"];

export interface Greeting {
  readonly message: string;
  readonly language: Language;
}

export interface SequencedGreeting extends Greeting {
  /** 1-based position in the stream. */
  readonly sequence: number;
}

export interface GreetingSummary {
  readonly count: number;
  readonly distinctCount: number;
  readonly message: string;
}

/** Distinct names are kept to build the summary; the cap bounds what one client stream can make the server hold. */
export const RECORD_MAX_NAMES = 10_000;

const TEMPLATES: Readonly<Record<Language, (name: string) => string>> = {
  en: (name) => `Hello, ${name}!`,
  fr: (name) => `Bonjour, ${name} !`,
  es: (name) => `¡Hola, ${name}!`,
  de: (name) => `Hallo, ${name}!`,
  ja: (name) => `こんにちは、${name}さん！`,
};

/** Greets `name`, trimmed of surrounding white space. */
export function greet(name: string, language: Language = "en"): Greeting {
  return { message: TEMPLATES[language](name.trim()), language };
}

export interface ListOptions {
  name: string;
  count: number;
  intervalMs: number;
}

/**
 * `count` greetings, one per language in turn. Each is produced only when the caller asks for the next, so a slow
 * reader slows the producer instead of filling memory; `signal` ends the pause between greetings early.
 */
export function listGreetings(options: ListOptions, signal: AbortSignal): AsyncGenerator<SequencedGreeting> {
  return generate(options.name.trim(), options.count, options.intervalMs, signal);
}

async function* generate(name: string, count: number, intervalMs: number, signal: AbortSignal) {
  for (let sequence = 1; sequence <= count; sequence++) {
    if (sequence > 1 && intervalMs > 0) await sleep(intervalMs, undefined, { signal });
    const language = LANGUAGES[(sequence - 1) % LANGUAGES.length]!;
    yield { message: TEMPLATES[language](name), language, sequence };
  }
}

/** Reads every name, then greets them all at once: "Hello, Ada, Grace and Linus!" (distinct, first-seen order). */
export async function recordGreetings(names: AsyncIterable<string>): Promise<GreetingSummary> {
  let count = 0;
  const distinct = new Set<string>();
  for await (const name of names) {
    count++;
    distinct.add(name.trim());
    if (distinct.size > RECORD_MAX_NAMES)
      throw new ValidationError([
        { field: "name", description: `at most ${RECORD_MAX_NAMES} distinct names per stream` },
      ]);
  }
  return { count, distinctCount: distinct.size, message: count === 0 ? "" : `Hello, ${joinNames([...distinct])}!` };
}

export interface ChatMessage {
  readonly name: string;
  readonly language?: Language;
}

/** Answers every message as soon as it arrives. */
export async function* chatGreetings(messages: AsyncIterable<ChatMessage>): AsyncGenerator<Greeting> {
  for await (const { name, language } of messages) yield greet(name, language);
}

function joinNames(names: readonly string[]): string {
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]!}`;
}
