-- Orders, owned by the order service; no other service reads this schema.
CREATE TABLE orders (
  id            uuid PRIMARY KEY,
  seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  user_id       uuid NOT NULL,
  items         jsonb NOT NULL,
  currency_code char(3) NOT NULL,
  total_minor   bigint NOT NULL,
  state         text NOT NULL CHECK (state IN ('pending', 'paid', 'payment_failed', 'cancelled')),
  payment_id    uuid,
  create_time   timestamptz NOT NULL,
  update_time   timestamptz NOT NULL
);
CREATE INDEX orders_by_user ON orders (user_id, seq);

CREATE TABLE outbox (
  id           uuid PRIMARY KEY,
  subject      text NOT NULL,
  payload      bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
