import type { ReceivedEvent } from "@lattice/kit";
import { PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";

/** What one order has been paid, as the ledger counts it. */
export interface Account {
  paidMinor: number;
  currency: string;
  /** Events received for the order, copies included. */
  deliveries: number;
  /** Copies of events already recorded, which changed nothing. */
  ignored: number;
}

/**
 * Money received per order, from the payment service's PaymentSucceeded events. Recording is idempotent: an event
 * is counted once, by its event_id, however many times it arrives. (Kept in memory to stay short: a real service
 * keeps the ids it has recorded in its database, written in the same transaction as the change they caused.)
 */
export class Ledger {
  private readonly recorded = new Set<string>();
  private readonly accounts = new Map<string, Account>();

  /** The consumer's handler: decode, then record. */
  readonly handle = async (event: ReceivedEvent): Promise<void> => {
    const { eventId, payment } = PaymentSucceeded.decode(event.data);
    if (payment?.amount) this.record(eventId, payment.order, payment.amount.amountMinor, payment.amount.currencyCode);
  };

  record(eventId: string, order: string, amountMinor: number, currency: string): void {
    const account = this.accounts.get(order) ?? { paidMinor: 0, currency, deliveries: 0, ignored: 0 };
    this.accounts.set(order, account);
    account.deliveries++;
    if (this.recorded.has(eventId)) {
      account.ignored++;
      return;
    }
    this.recorded.add(eventId);
    account.paidMinor += amountMinor;
  }

  account(order: string): Readonly<Account> | undefined {
    return this.accounts.get(order);
  }
}
