#!/usr/bin/env bash
# Refreshes the third-party .proto files under proto/third_party from pinned
# package versions (npm and the Go module cache only; no other network).
# Edit the pins below, run this script, then `make generate` and commit.
set -euo pipefail

GOOGLE_PROTO_FILES_VERSION=6.0.1   # npm google-proto-files (Apache-2.0)
PROTOVALIDATE_VERSION=v1.2.2       # Go module github.com/bufbuild/protovalidate (Apache-2.0)
GRPC_GATEWAY_VERSION=v2.33.0       # Go module github.com/grpc-ecosystem/grpc-gateway/v2 (BSD-3-Clause)

root="$(cd "$(dirname "$0")/.." && pwd)"
dst="$root/proto/third_party"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "google-proto-files@${GOOGLE_PROTO_FILES_VERSION}" >/dev/null && tar xzf google-proto-files-*.tgz)
src="$tmp/package"
rm -rf "$dst/google" "$dst/buf" "$dst/protoc-gen-openapiv2"
mkdir -p "$dst/google/api" "$dst/google/rpc" "$dst/google/longrunning" "$dst/buf/validate" "$dst/protoc-gen-openapiv2/options"
for f in annotations http field_behavior client launch_stage resource; do
  cp "$src/google/api/$f.proto" "$dst/google/api/"
done
for f in status code error_details; do
  cp "$src/google/rpc/$f.proto" "$dst/google/rpc/"
done
cp "$src/google/longrunning/operations.proto" "$dst/google/longrunning/"

pv="$(cd "$root" && go mod download -json "github.com/bufbuild/protovalidate@${PROTOVALIDATE_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp "$pv/proto/protovalidate/buf/validate/validate.proto" "$dst/buf/validate/"

gw="$(cd "$root" && go mod download -json "github.com/grpc-ecosystem/grpc-gateway/v2@${GRPC_GATEWAY_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
cp "$gw/protoc-gen-openapiv2/options/annotations.proto" "$gw/protoc-gen-openapiv2/options/openapiv2.proto" "$dst/protoc-gen-openapiv2/options/"
chmod -R u+w "$dst"
echo "third-party protos refreshed in $dst"
