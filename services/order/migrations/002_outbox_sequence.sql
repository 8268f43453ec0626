-- The order events were written in, for the relay to publish them in: a row's seq is taken when it is inserted,
-- after the change it reports has locked its row, so an entity's events are numbered in their commit order.
-- Rows already there are numbered in the order the relay used before (created_at, id).
CREATE SEQUENCE outbox_seq;
ALTER TABLE outbox ADD COLUMN seq bigint;
UPDATE outbox SET seq = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM outbox) AS numbered
  WHERE outbox.id = numbered.id;
SELECT setval('outbox_seq', (SELECT coalesce(max(seq), 0) + 1 FROM outbox), false);
ALTER TABLE outbox ALTER COLUMN seq SET DEFAULT nextval('outbox_seq'), ALTER COLUMN seq SET NOT NULL;
ALTER SEQUENCE outbox_seq OWNED BY outbox.seq;
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
