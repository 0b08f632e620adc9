#!/usr/bin/env bash
# Builds the packet-socket statistics addon (kernel drop counts for live capture).
# Run after `npm ci` with scripts/env.sh sourced, so node-gyp uses the project's Node headers.
set -euo pipefail
cd "$(dirname "$0")"
gyp=$(command -v node-gyp || echo "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js")
if [[ $gyp == *.js ]]; then node "$gyp" rebuild --silent; else "$gyp" rebuild --silent; fi
