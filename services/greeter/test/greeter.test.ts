import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "@lattice/kit";
import { collect } from "@lattice/kit/testing";
import { chatGreetings, greet, listGreetings, recordGreetings, RECORD_MAX_NAMES } from "../src/greeter.js";

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

// The field rules (name, count, interval, language) are the contract's, enforced by the kit: test/rpc.test.ts
// checks them through real calls.

describe("greet", () => {
  it("greets in every language, English by default, with the name trimmed", () => {
    assert.deepEqual(greet("  Ada "), { message: "Hello, Ada!", language: "en" });
    assert.equal(greet("Ada", "fr").message, "Bonjour, Ada !");
    assert.equal(greet("Ada", "es").message, "¡Hola, Ada!");
    assert.equal(greet("Ada", "de").message, "Hallo, Ada!");
    assert.equal(greet("Ada", "ja").message, "こんにちは、Adaさん！");
  });
});

describe("listGreetings", () => {
  it("cycles through the languages with 1-based sequence numbers", async () => {
    const all = await collect(listGreetings({ name: "Ada", count: 6, intervalMs: 0 }, new AbortController().signal));
    assert.deepEqual(
      all.map((g) => [g.sequence, g.language]),
      [
        [1, "en"],
        [2, "fr"],
        [3, "es"],
        [4, "de"],
        [5, "ja"],
        [6, "en"],
      ],
    );
  });

  it("stops waiting between greetings when the signal aborts", async () => {
    const controller = new AbortController();
    const stream = listGreetings({ name: "Ada", count: 3, intervalMs: 10_000 }, controller.signal);
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.equal((first.value as { sequence: number }).sequence, 1);
    const second = stream.next();
    controller.abort();
    await assert.rejects(second, { name: "AbortError" });
  });
});

describe("recordGreetings", () => {
  it("summarises distinct names in the order first seen", async () => {
    assert.deepEqual(await recordGreetings(from(["Ada", "Grace", "Ada", "Linus"])), {
      count: 4,
      distinctCount: 3,
      message: "Hello, Ada, Grace and Linus!",
    });
    assert.equal((await recordGreetings(from(["Ada", "Grace"]))).message, "Hello, Ada and Grace!");
    assert.deepEqual(await recordGreetings(from([])), { count: 0, distinctCount: 0, message: "" });
  });

  it("caps how many distinct names one stream can make it hold", async () => {
    const names = Array.from({ length: RECORD_MAX_NAMES + 1 }, (_, i) => `n${i}`);
    await assert.rejects(recordGreetings(from(names)), ValidationError);
  });
});

describe("chatGreetings", () => {
  it("answers each message in its language", async () => {
    const replies = await collect(chatGreetings(from([{ name: "Ada", language: "fr" as const }, { name: "Grace" }])));
    assert.deepEqual(replies, [
      { message: "Bonjour, Ada !", language: "fr" },
      { message: "Hello, Grace!", language: "en" },
    ]);
  });
});
