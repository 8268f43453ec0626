#!/usr/bin/env bash
# Fuzzes the gateway of a running platform from its own /openapi.json with schemathesis (PyPI, pinned below),
# bounded in examples and time. Not part of `npm test` (it needs the platform up, e.g. `npm start`):
#
#   bash services/gateway/test/schemathesis/run.sh [gateway URL, default http://127.0.0.1:8080]
#
# Checks: no 5xx for anything (every request it sends is a client's, valid or not), and every response's status,
# content type and body match the document. Streams are asked for as application/x-ndjson (the document's media
# type for them) and bounded with Grpc-Timeout so a generated count of a million greetings cannot run for hours.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
url="${1:-http://127.0.0.1:8080}"
venv="$root/.cache/schemathesis"
version="4.32.5"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
    { echo "schemathesis $version needs Python 3.11 or newer" >&2; exit 1; }
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi
curl -fsS "$url/openapi.json" >/dev/null || { echo "no gateway at $url (start the platform: npm start)" >&2; exit 1; }

# schemathesis keeps its example database in the working directory: keep it out of the checkout's tracked files.
cd "$root/.cache"
exec timeout "${SCHEMATHESIS_TIME_LIMIT_S:-600}" "$venv/bin/schemathesis" run "$url/openapi.json" \
  --url "$url" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --mode all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-50}" \
  --request-timeout 10 \
  --generation-deterministic \
  --header "Accept: application/x-ndjson, application/json" \
  --header "Grpc-Timeout: 3S" \
  --workers 1 \
  --report junit --report-dir "$root/.cache/schemathesis-report"
