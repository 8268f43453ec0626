import { setTimeout as sleep } from "node:timers/promises";
import { UnavailableError } from "@lattice/kit";
import type { ChargeOutcome, Money, Processor } from "./payments.js";

export interface SimulatedProcessorOptions {
  /** How long each call takes. */
  latencyMs: number;
  /** Share of charges the processor declines (0 to 1): a business outcome, stored as a DECLINED payment. */
  declineRate: number;
  /** Share of calls that fail outright (0 to 1): the processor is down, the caller sees UNAVAILABLE and may retry. */
  failureRate: number;
  random?: () => number;
}

/**
 * A stand-in for a card processor, with the behaviour resilience tests need: latency, declines and outages on
 * demand. Like a real processor it is idempotent by key: asking again for a key it has settled returns the same
 * outcome without charging again.
 */
export class SimulatedProcessor implements Processor {
  private readonly settled = new Map<string, ChargeOutcome>();
  private readonly refunded = new Set<string>();
  private readonly random: () => number;
  /** Charges actually made (not replays): what the cardholder would see on a statement. */
  chargesMade = 0;

  constructor(private readonly options: SimulatedProcessorOptions) {
    this.random = options.random ?? Math.random;
  }

  async charge(idempotencyKey: string, _amount: Money, signal?: AbortSignal): Promise<ChargeOutcome> {
    await this.call(signal);
    const known = this.settled.get(idempotencyKey);
    if (known) return known;
    const outcome: ChargeOutcome =
      this.random() < this.options.declineRate ? { approved: false, reason: "card declined" } : { approved: true };
    if (outcome.approved) this.chargesMade++;
    this.settled.set(idempotencyKey, outcome);
    return outcome;
  }

  async refund(paymentId: string, _amount: Money, signal?: AbortSignal): Promise<void> {
    await this.call(signal);
    this.refunded.add(paymentId);
  }

  private async call(signal: AbortSignal | undefined): Promise<void> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs, undefined, { signal });
    if (this.random() < this.options.failureRate) throw new UnavailableError("payment processor unavailable", 1000);
  }
}
