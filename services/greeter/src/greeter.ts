import { setTimeout as sleep } from "node:timers/promises";
import { codePointLength, ValidationError, type FieldViolation } from "@lattice/kit";

/**
 * The greeter's business rules. Plain TypeScript: no gRPC or protobuf types, so it is tested and reused without a
 * server; the handler translates to and from the contract.
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

export const NAME_MAX_LENGTH = 100;
export const COUNT_MAX = 1_000_000;
export const INTERVAL_MAX_MS = 10_000;
/** Distinct names are kept to build the summary; the cap bounds what one client stream can make the server hold. */
export const RECORD_MAX_NAMES = 10_000;

const TEMPLATES: Readonly<Record<Language, (name: string) => string>> = {
  en: (name) => `Hello, ${name}!`,
  fr: (name) => `Bonjour, ${name} !`,
  es: (name) => `¡Hola, ${name}!`,
  de: (name) => `Hallo, ${name}!`,
  ja: (name) => `こんにちは、${name}さん！`,
};

export function greet(name: string, language: Language = "en"): Greeting {
  const checked = checkName(name);
  if (typeof checked !== "string") throw new ValidationError([checked]);
  return { message: TEMPLATES[language](checked), language };
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
  const violations: FieldViolation[] = [];
  const name = checkName(options.name);
  if (typeof name !== "string") violations.push(name);
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > COUNT_MAX)
    violations.push({ field: "count", description: `must be between 1 and ${COUNT_MAX}` });
  if (!(options.intervalMs >= 0 && options.intervalMs <= INTERVAL_MAX_MS))
    violations.push({ field: "interval", description: `must be between 0 and ${INTERVAL_MAX_MS / 1000}s` });
  // Validate before the first message, so a bad request fails the call instead of a half-sent stream.
  if (violations.length > 0 || typeof name !== "string") throw new ValidationError(violations);
  return generate(name, options.count, options.intervalMs, signal);
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
  for await (const raw of names) {
    count++;
    const name = checkName(raw);
    if (typeof name !== "string") throw new ValidationError([at(name, count)]);
    distinct.add(name);
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

/** Answers every message as soon as it arrives; a bad one ends the conversation with the answers so far sent. */
export async function* chatGreetings(messages: AsyncIterable<ChatMessage>): AsyncGenerator<Greeting> {
  let index = 0;
  for await (const { name, language } of messages) {
    index++;
    const checked = checkName(name);
    if (typeof checked !== "string") throw new ValidationError([at(checked, index)]);
    yield { message: TEMPLATES[language ?? "en"](checked), language: language ?? "en" };
  }
}

/** The trimmed name, or what is wrong with it. */
function checkName(name: string): string | FieldViolation {
  const trimmed = name.trim();
  if (trimmed.length === 0) return { field: "name", description: "must not be empty" };
  if (codePointLength(trimmed) > NAME_MAX_LENGTH)
    return { field: "name", description: `must be at most ${NAME_MAX_LENGTH} characters` };
  return trimmed;
}

/** Says which message of a client stream was wrong. */
function at(violation: FieldViolation, position: number): FieldViolation {
  return { field: violation.field, description: `message ${position}: ${violation.description}` };
}

function joinNames(names: readonly string[]): string {
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]!}`;
}
