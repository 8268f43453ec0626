import assert from "node:assert/strict";
import type { Pool, PoolClient } from "../db/pool.js";
import { Status } from "../errors/status-codes.js";
import { fuzzBudget, fuzzSeed, type FuzzReport } from "./fuzz.js";
import type { RawCallResult } from "./raw-call.js";
import { eventually } from "./wait.js";

/**
 * What a fuzz test of a service with its own data checks after the run: that every answer had a client's code, and
 * that the tables hold exactly what the OK answers account for — give or take calls whose outcome the client cannot
 * know (DEADLINE_EXCEEDED, CANCELLED) — with each stored entity's events in its outbox, all published.
 */

/** Where a test writes its diagnostics: node:test's TestContext. */
export interface DiagnosticSink {
  diagnostic(message: string): void;
}

/** A fuzz run's seed and budget (see `fuzzSeed`, `fuzzBudget`). */
export interface FuzzRun {
  readonly seed: number;
  readonly maxInputs: number;
  readonly timeBudgetMs: number;
}

/** The seed and budget of a fuzz run, writing the line that replays it (FUZZ_SEED) to the test's diagnostics. */
export function startFuzzRun(t: DiagnosticSink, defaults: { inputs: number; timeMs: number }): FuzzRun {
  const seed = fuzzSeed();
  t.diagnostic(`fuzz seed ${seed} (replay: FUZZ_SEED=${seed})`);
  return { seed, ...fuzzBudget(defaults) };
}

/**
 * Writes a run's counts to the diagnostics and asserts it: no answer with a code a client's mistake must never get,
 * and at least 50 inputs (or the whole budget, if smaller) actually sent.
 */
export function assertFuzzReport(t: DiagnosticSink, label: string, run: FuzzRun, report: FuzzReport): void {
  t.diagnostic(`${label}: ${report.inputs} inputs, codes ${JSON.stringify(report.codes)}`);
  t.diagnostic(`per method ${JSON.stringify(report.perMethod)}`);
  assert.deepEqual(report.failures, [], `seed ${run.seed}`);
  assert.ok(report.inputs >= Math.min(run.maxInputs, 50), `only ${report.inputs} inputs ran`);
}

/** Whether an answer leaves the client unable to tell if its call changed anything: DEADLINE_EXCEEDED or CANCELLED. */
export function outcomeUnknown(code: number | undefined): boolean {
  return code === Status.DEADLINE_EXCEEDED || code === Status.CANCELLED;
}

/**
 * Per method path, the resource names OK answers made or removed, and how many calls ended with an unknown outcome.
 * Fed from the fuzzer's `onResult`.
 */
export class OutcomeLedger {
  readonly #named = new Map<string, Set<string>>();
  readonly #unknown = new Map<string, number>();

  /**
   * Counts one answer of `path`: on OK the name `nameOf` reads (from the answer or the request), on DEADLINE_EXCEEDED
   * or CANCELLED one more unknown outcome; any other code changed nothing.
   */
  record(path: string, result: RawCallResult, nameOf: () => string): void {
    if (result.code === Status.OK) this.named(path).add(nameOf());
    else if (outcomeUnknown(result.code)) this.#unknown.set(path, this.unknown(path) + 1);
  }

  /** The names OK answers of `path` carried. */
  named(path: string): Set<string> {
    let names = this.#named.get(path);
    if (!names) this.#named.set(path, (names = new Set()));
    return names;
  }

  /** How many calls of `path` ended with an unknown outcome. */
  unknown(path: string): number {
    return this.#unknown.get(path) ?? 0;
  }
}

export interface AccountingOptions {
  /** The run's seed, named in every failure. */
  readonly seed: number;
  /** What the names are, for messages: "users", "payments". */
  readonly what: string;
  /** The names of what the table holds. */
  readonly stored: Iterable<string>;
  /** The names OK answers account for: made and not removed since. */
  readonly expected: Iterable<string>;
  /** Calls of unknown outcome that may have made one more each. */
  readonly unknownMakes: number;
  /** Calls of unknown outcome that may have removed one each; 0 by default. */
  readonly unknownRemoves?: number;
}

/**
 * Asserts the table holds what the answers account for: nothing extra beyond the calls of unknown outcome that may
 * have made something, nothing missing beyond those that may have removed something. Returns the extra names.
 */
export function assertAccountedFor(options: AccountingOptions): string[] {
  const stored = new Set(options.stored);
  const expected = new Set(options.expected);
  const extra = [...stored].filter((name) => !expected.has(name));
  const missing = [...expected].filter((name) => !stored.has(name));
  const { seed, what } = options;
  assert.ok(extra.length <= options.unknownMakes, `seed ${seed}: ${what} no OK answer made: ${extra.join(", ")}`);
  assert.ok(
    missing.length <= (options.unknownRemoves ?? 0),
    `seed ${seed}: answered ${what} not stored: ${missing.join(", ")}`,
  );
  return extra;
}

/** An outbox row as the services write it. */
export interface OutboxRow {
  readonly subject: string;
  readonly payload: Buffer;
}

/**
 * The outbox's events by the resource name they carry, each list in the order written: `subjectPrefix` is cut from
 * the subject ("lattice.order.v1."), and `nameOf` decodes the rest's payload to the name, per event kind. An event of
 * a kind `nameOf` does not know fails the test.
 */
export function eventsByName(
  outbox: readonly OutboxRow[],
  subjectPrefix: string,
  nameOf: Readonly<Record<string, (payload: Uint8Array) => string>>,
): Map<string, string[]> {
  const events = new Map<string, string[]>();
  for (const { subject, payload } of outbox) {
    const kind = subject.startsWith(subjectPrefix) ? subject.slice(subjectPrefix.length) : subject;
    const decode = nameOf[kind];
    assert.ok(decode, `unexpected event ${subject}`);
    const name = decode(payload);
    events.set(name, [...(events.get(name) ?? []), kind]);
  }
  return events;
}

/** The outbox rows of a service's schema, oldest first; through a pool or inside a transaction. */
export async function readOutbox(database: Pool | PoolClient): Promise<OutboxRow[]> {
  const { rows } = await database.query<OutboxRow>("SELECT subject, payload FROM outbox ORDER BY created_at, id");
  return rows;
}

/** Waits (15 s at most) until the relays of these schemas have published every outbox event. */
export async function assertOutboxesPublished(pools: readonly Pool[]): Promise<void> {
  await eventually(
    async () => {
      for (const pool of pools) {
        const { rows } = await pool.query("SELECT id FROM outbox WHERE published_at IS NULL");
        assert.equal(rows.length, 0, "outbox events not published");
      }
    },
    { withinMs: 15_000 },
  );
}
