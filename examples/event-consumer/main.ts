import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { defineService, jetStreamPublisher, streamSubjects } from "@lattice/kit";
import { PaymentSucceeded } from "@lattice/proto/lattice/payment/v1/events";
import { PaymentState } from "@lattice/proto/lattice/payment/v1/payment";
import { startLocal } from "../shared/local.js";
import { Ledger } from "./ledger.js";

const STREAM = "LATTICE_PAYMENT";
const SUCCEEDED = "lattice.payment.v1.PaymentSucceeded";

const natsUrl = process.env["NATS_URL"];
if (!natsUrl) {
  console.error("NATS_URL is not set: start NATS with JetStream (bash scripts/deps/nats.sh start .cache/nats)");
  console.error("and run again with NATS_URL set to the URL it prints");
  process.exit(2);
}

const ledger = new Ledger();
const ledgerModule = defineService({
  // A worker: no API of its own, only the stream it consumes (the payment service's).
  declaration: {
    name: "ledger",
    directory: import.meta.dirname,
    grpcServices: [],
    ports: { grpc: 0, admin: 0, health: 0 },
    calls: [],
    events: { consumes: [{ stream: STREAM, events: [SUCCEEDED] }] },
  },
  async setup({ events }) {
    await events.consume(STREAM, ledger.handle);
  },
});

const service = await startLocal(ledgerModule, { NATS_URL: natsUrl });
// Publishes as the payment service's outbox relay does: the event id is JetStream's message id.
const publisher = await jetStreamPublisher(natsUrl, STREAM, streamSubjects([SUCCEEDED]));
try {
  const order = `orders/${randomUUID()}`;
  const paid = (eventId: string, amountMinor: number) =>
    PaymentSucceeded.encode({
      eventId,
      payment: {
        name: `payments/${randomUUID()}`,
        order,
        amount: { currencyCode: "EUR", amountMinor },
        state: PaymentState.PAYMENT_STATE_SUCCEEDED,
        idempotencyKey: order,
        declineReason: "",
      },
    }).finish();

  const first = randomUUID();
  await publisher.publish({ id: first, subject: SUCCEEDED, payload: paid(first, 1250) });
  console.log(`published PaymentSucceeded ${first} for ${order}: 12.50 EUR`);
  // A copy under a new message id, which JetStream cannot tell from a new event: it delivers both.
  await publisher.publish({ id: randomUUID(), subject: SUCCEEDED, payload: paid(first, 1250) });
  console.log(`published the same event again under another message id: JetStream delivers it twice`);
  const second = randomUUID();
  await publisher.publish({ id: second, subject: SUCCEEDED, payload: paid(second, 750) });
  console.log(`published PaymentSucceeded ${second} for ${order}: 7.50 EUR`);

  for (let waited = 0; (ledger.account(order)?.deliveries ?? 0) < 3; waited += 50) {
    if (waited > 10_000) throw new Error(`the ledger received ${ledger.account(order)?.deliveries ?? 0} of 3 events`);
    await sleep(50);
  }
  const account = ledger.account(order)!;
  console.log(`ledger: ${account.deliveries} deliveries, ${account.ignored} ignored as already recorded`);
  console.log(`ledger: ${order} paid ${(account.paidMinor / 100).toFixed(2)} ${account.currency}`);
} finally {
  await publisher.close();
  await service.shutdown();
}
