#!/bin/sh
# Mutation testing of the pure modules (StrykerJS, vitest runner, TypeScript checker), one
# module at a time with only that module's unit tests: `npm run mutate` runs all of them,
# `npm run mutate -- allocation stats` the ones named. Reports: reports/mutation/<module>.html
# and .json. Slow (minutes per module on two cores), so not part of CI. STRYKER_CONCURRENCY
# sets the number of parallel test runners (default 2).
set -e
cd "$(dirname "$0")/.."
modules="${*:-allocation config stats dedupe encoder}"
for m in $modules; do
  case "$m" in
    allocation) files='src/allocation/**/*.ts,!src/allocation/index.ts' tests='test/unit/allocation' ;;
    config) files='src/config/**/*.ts,!src/config/index.ts,!src/config/types.ts,!src/config/watch.ts' tests='test/unit/config,test/unit/allocation/plan.test.ts' ;;
    stats) files='src/stats/**/*.ts,!src/stats/index.ts' tests='test/unit/stats' ;;
    dedupe) files='src/exposure/dedupe.ts' tests='test/unit/exposure' ;;
    encoder) files='src/exposure/encoder.ts,src/exposure/event-encoder.ts' tests='test/unit/exposure' ;;
    *) echo "unknown module $m (allocation, config, stats, dedupe, encoder)" >&2; exit 2 ;;
  esac
  echo "== mutating $m: $files (tests: $tests)"
  MUTATE_TESTS="$tests" npx stryker run --mutate "$files" --concurrency "${STRYKER_CONCURRENCY:-2}"
  mv reports/mutation/mutation.html "reports/mutation/$m.html"
  mv reports/mutation/mutation.json "reports/mutation/$m.json"
done
