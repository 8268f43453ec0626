#!/bin/sh
# The official postgres image's contract, for the stand-in: on an empty PGDATA, initdb with POSTGRES_USER
# (default postgres) and POSTGRES_PASSWORD (required), password authentication over TCP, POSTGRES_DB created
# (default: the user's name); then the server on every address, on PGPORT (default 5432).
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
if [ "${1:-postgres}" = postgres ]; then
  [ $# -eq 0 ] || shift
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
      echo "POSTGRES_PASSWORD is not set: the database would have no password (as the official image, refusing)" >&2
      exit 1
    fi
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
      --pgdata="$PGDATA" >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
      echo "CREATE DATABASE \"$database\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
    echo "stand-in: initialised $PGDATA for $user, database $database"
  fi
  exec postgres -D "$PGDATA" -c listen_addresses='*' -p "${PGPORT:-5432}" "$@"
fi
exec "$@"
