#!/usr/bin/env bash
# The test command (npm test): on a fresh clone it installs the npm
# dependencies first, then runs the unit tests and the end-to-end suite
# against the real peers of every supported version (scripts/run-tests.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/jest ]; then
  npm ci --no-audit --no-fund
fi
exec node scripts/run-tests.mjs "$@"
