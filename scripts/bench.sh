#!/usr/bin/env bash
# `npm run bench [NAME...]`: runs bench/<NAME>.ts (all of them without names), one at a time
# so that they do not compete for the CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/env.sh
source scripts/env.sh
names=("$@")
if ((${#names[@]} == 0)); then
  mapfile -t names < <(find bench -maxdepth 1 -name '*.ts' ! -name '*.test.ts' -printf '%f\n' | sed 's/\.ts$//' | sort)
fi
for n in "${names[@]}"; do
  [[ -f bench/$n.ts ]] || { echo "bench: no bench/$n.ts" >&2; exit 2; }
  echo "=== bench/$n.ts"
  node "bench/$n.ts"
done
