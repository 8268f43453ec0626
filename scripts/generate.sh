#!/usr/bin/env bash
# Regenerates everything derived from proto/: the TypeScript in proto/gen/ts, the descriptor set the servers
# serve through reflection, the chart's list of the callers each method allows (the Linkerd route policy's data), and
# the gateway's OpenAPI document. CI runs it and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/../proto"
buf=../node_modules/.bin/buf
"$buf" lint
"$buf" generate --path lattice --path google/rpc --path grpc
# Full image (with imports) so reflection can resolve every type, including grpc.health.v1.
"$buf" build --exclude-source-info -o gen/descriptor-set.binpb
# Which services each method's contract lets call it, for the chart's Linkerd route policy (after the descriptor set).
node ../scripts/generate-method-callers.mjs
# The OpenAPI 3.1 document of the gateway's REST routes, from that descriptor set by the gateway's own route code.
cd ..
npx tsc -b services/gateway
node services/gateway/dist/src/bin/openapi.js proto/gen/descriptor-set.binpb proto/gen/openapi.json
