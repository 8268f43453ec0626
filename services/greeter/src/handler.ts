import { ValidationError, type ServiceImplementation } from "@lattice/kit";
import type { Duration } from "@lattice/proto/google/protobuf/duration";
import {
  GreeterServiceService,
  Language as ProtoLanguage,
  type ChatGreetingsRequest,
} from "@lattice/proto/lattice/greeter/v1/greeter";
import * as greeter from "./greeter.js";

/** Transport only: protobuf messages in and out, the rules live in greeter.ts. */
export function greeterHandler(): ServiceImplementation<typeof GreeterServiceService> {
  return {
    greet(request) {
      return toProto(greeter.greet(request.name, fromProto(request.language)));
    },

    async *listGreetings(request, ctx) {
      const options = { name: request.name, count: request.count, intervalMs: durationToMs(request.interval) };
      for await (const greeting of greeter.listGreetings(options, ctx.signal))
        yield { ...toProto(greeting), sequence: greeting.sequence };
    },

    recordGreetings(requests) {
      return greeter.recordGreetings(map(requests, (request) => request.name));
    },

    async *chatGreetings(requests) {
      for await (const greeting of greeter.chatGreetings(map(requests, toChatMessage))) yield toProto(greeting);
    },
  };
}

const TO_PROTO: Readonly<Record<greeter.Language, ProtoLanguage>> = {
  en: ProtoLanguage.LANGUAGE_ENGLISH,
  fr: ProtoLanguage.LANGUAGE_FRENCH,
  es: ProtoLanguage.LANGUAGE_SPANISH,
  de: ProtoLanguage.LANGUAGE_GERMAN,
  ja: ProtoLanguage.LANGUAGE_JAPANESE,
};

const FROM_PROTO = new Map<number, greeter.Language>(
  Object.entries(TO_PROTO).map(([language, proto]) => [proto, language as greeter.Language]),
);

function toProto(greeting: greeter.Greeting) {
  return { message: greeting.message, language: TO_PROTO[greeting.language] };
}

/** Unset means English; a number this version does not know is the caller's mistake. */
function fromProto(language: ProtoLanguage): greeter.Language {
  if (language === ProtoLanguage.LANGUAGE_UNSPECIFIED) return "en";
  const known = FROM_PROTO.get(language);
  if (!known) throw new ValidationError([{ field: "language", description: `unknown language ${language}` }]);
  return known;
}

function toChatMessage(request: ChatGreetingsRequest): greeter.ChatMessage {
  return { name: request.name, language: fromProto(request.language) };
}

/** Unset is no pause; a negative or out-of-range duration is left for the rules to reject. */
function durationToMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  return duration.seconds * 1000 + duration.nanos / 1e6;
}

async function* map<T, U>(source: AsyncIterable<T>, fn: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield fn(item);
}
