-- Payments, owned by the payment service; no other service reads this schema.
CREATE TABLE payments (
  id              uuid PRIMARY KEY,
  order_name      text NOT NULL,
  currency_code   char(3) NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  state           text NOT NULL CHECK (state IN ('pending', 'succeeded', 'declined', 'refunded')),
  -- The database, not memory, makes a replayed charge find the first one: concurrent inserts of one key wait for
  -- each other here, and only one wins.
  idempotency_key text NOT NULL UNIQUE,
  decline_reason  text NOT NULL DEFAULT '',
  create_time     timestamptz NOT NULL,
  update_time     timestamptz NOT NULL
);

-- Transactional outbox: events are written with the change they report and published afterwards by a relay.
CREATE TABLE outbox (
  id           uuid PRIMARY KEY,
  subject      text NOT NULL,
  payload      bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
