#!/usr/bin/env bash
# `npm test`: static checks, then every unit and integration test in one node --test run
# (one summary at the end). `npm run test:unit` / `test:integration` run one half.
# Integration tests need what scripts/setup.sh installs; a missing piece fails them with
# a message saying what to install — nothing is skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh

major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 24)); then
  echo "test: node $(node --version) is too old; run 'npm run setup' (installs Node 24 into .tools/node)" >&2
  exit 1
fi
[[ -d node_modules ]] || { echo "test: no node_modules; run 'npm run setup'" >&2; exit 1; }

what=${1:-all}
files=()
if [[ $what == all || $what == unit ]]; then
  mapfile -t unit < <(git ls-files --cached --others --exclude-standard -- 'cli' 'lib' 'operator' 'webhook' 'sidecar' 'scripts' 'bench' | grep -E '\.test\.ts$' | sort)
  files+=("${unit[@]}")
fi
if [[ $what == all || $what == integration ]]; then
  mapfile -t integ < <(git ls-files --cached --others --exclude-standard -- 'test/integration' | grep -E '\.test\.ts$' | sort)
  files+=("${integ[@]}")
fi
if [[ $what == all ]]; then
  echo "test: biome (format + lint)"
  npx --no-install biome ci --reporter=summary .
  echo "test: tsc --noEmit"
  npx --no-install tsc -p tsconfig.json --noEmit
  echo "test: generated files"
  node scripts/generate.ts --check
fi
((${#files[@]})) || { echo "test: no test files found" >&2; exit 1; }
echo "test: ${#files[@]} test files"
# Integration files each start real servers; two at a time keeps a 2-core machine busy
# without starving the control planes' readiness deadlines.
exec node --test --test-reporter=spec --test-concurrency="${AXOM_TEST_CONCURRENCY:-2}" \
  --test-timeout="${AXOM_TEST_TIMEOUT_MS:-600000}" "${files[@]}"
