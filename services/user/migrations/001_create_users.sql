-- Users, owned by the user service; no other service reads this schema.
CREATE TABLE users (
  id           uuid PRIMARY KEY,
  -- Insertion order, for stable keyset paging.
  seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  email        text NOT NULL,
  display_name text NOT NULL,
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  -- Bumped on every update; the etag clients send back for optimistic concurrency.
  version      integer NOT NULL DEFAULT 1
);

-- Email addresses are unique whatever their case; the database enforces it, so concurrent creates cannot both win.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
