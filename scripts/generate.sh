#!/usr/bin/env bash
# Regenerates everything derived from proto/: the TypeScript in proto/gen/ts and the descriptor set the servers
# serve through reflection. CI runs it and fails if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/../proto"
buf=../node_modules/.bin/buf
"$buf" lint
"$buf" generate --path lattice --path google/rpc --path grpc
# Full image (with imports) so reflection can resolve every type, including grpc.health.v1.
"$buf" build --exclude-source-info -o gen/descriptor-set.binpb
