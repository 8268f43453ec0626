import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Status } from "../src/errors/status-codes.js";
import { OutcomeLedger, assertAccountedFor, eventsByName, outcomeUnknown } from "../src/testing/fuzz-accounting.js";
import type { RawCallResult } from "../src/testing/raw-call.js";

const answer = (code: number | undefined): RawCallResult => ({
  code,
  message: "",
  headers: {},
  trailers: {},
  body: Buffer.alloc(0),
  rstCode: 0,
});

describe("the fuzz tests' accounting of what answers made", () => {
  it("counts names of OK answers and calls of unknown outcome per method, and nothing for other codes", () => {
    const ledger = new OutcomeLedger();
    let read = 0;
    const nameOf = (name: string) => () => (read++, name);
    ledger.record("/a/Create", answer(Status.OK), nameOf("things/1"));
    ledger.record("/a/Create", answer(Status.OK), nameOf("things/2"));
    ledger.record("/a/Create", answer(Status.DEADLINE_EXCEEDED), nameOf("never read"));
    ledger.record("/a/Create", answer(Status.CANCELLED), nameOf("never read"));
    ledger.record("/a/Create", answer(Status.INVALID_ARGUMENT), nameOf("never read"));
    ledger.record("/a/Delete", answer(undefined), nameOf("never read"));
    assert.deepEqual([...ledger.named("/a/Create")], ["things/1", "things/2"]);
    assert.equal(ledger.unknown("/a/Create"), 2);
    assert.deepEqual([...ledger.named("/a/Delete")], []);
    assert.equal(ledger.unknown("/a/Delete"), 0);
    assert.equal(read, 2, "a name is read from OK answers only");
    assert.deepEqual([Status.DEADLINE_EXCEEDED, Status.CANCELLED, Status.OK].map(outcomeUnknown), [true, true, false]);
  });

  it("lets the table differ from the answers only by what calls of unknown outcome may have done", () => {
    const base = { seed: 7, what: "things", expected: ["t/1", "t/2"] };
    assert.deepEqual(assertAccountedFor({ ...base, stored: ["t/1", "t/2", "t/3"], unknownMakes: 1 }), ["t/3"]);
    assert.throws(
      () => assertAccountedFor({ ...base, stored: ["t/1", "t/2", "t/3"], unknownMakes: 0 }),
      /seed 7: things no OK answer made: t\/3/,
    );
    assert.throws(
      () => assertAccountedFor({ ...base, stored: ["t/1"], unknownMakes: 5 }),
      /seed 7: answered things not stored: t\/2/,
    );
    assert.deepEqual(assertAccountedFor({ ...base, stored: ["t/1"], unknownMakes: 0, unknownRemoves: 1 }), []);
  });

  it("groups outbox events by the name they carry, in the order written, and refuses an unknown kind", () => {
    const row = (subject: string, name: string) => ({ subject, payload: Buffer.from(name) });
    const nameOf = {
      Made: (p: Uint8Array) => Buffer.from(p).toString(),
      Gone: (p: Uint8Array) => Buffer.from(p).toString(),
    };
    const events = eventsByName(
      [row("x.v1.Made", "t/1"), row("x.v1.Made", "t/2"), row("x.v1.Gone", "t/1")],
      "x.v1.",
      nameOf,
    );
    assert.deepEqual(Object.fromEntries(events), { "t/1": ["Made", "Gone"], "t/2": ["Made"] });
    assert.throws(() => eventsByName([row("x.v1.Odd", "t/1")], "x.v1.", nameOf), /unexpected event x\.v1\.Odd/);
  });
});
