#!/bin/sh
# Mutation testing of the pure modules (StrykerJS, vitest runner, TypeScript checker), one
# module at a time with only that module's unit tests: `npm run mutate` runs all of them,
# `npm run mutate -- allocation stats` the ones named, `npm run mutate -- config/load` one file
# of a module (allocation/, config/, stats/): config has about 1,000 mutants and stats 1,300,
# so on a loaded machine run them file by file.
# Reports: reports/mutation/<name>.html and .json (<name> is the argument, / as -).
# Incremental: a finished run leaves reports/mutation/<name>.incremental.json, and the next
# run of <name> tests only the mutants whose code or tests changed (delete it to start over).
# Stryker writes it at the end of a run, so a run stopped half-way starts again: hence the
# file-by-file runs. Slow, so not part of CI. STRYKER_CONCURRENCY sets the number of parallel
# test runners (default 1: the machine's two cores are shared).
set -e
cd "$(dirname "$0")/.."
modules="${*:-allocation config stats dedupe encoder}"
tests_of() {
  case "$1" in
    allocation) echo 'test/unit/allocation' ;;
    config) echo 'test/unit/config,test/unit/allocation/plan.test.ts' ;;
    stats) echo 'test/unit/stats' ;;
  esac
}
for m in $modules; do
  case "$m" in
    allocation | stats) files="src/$m/**/*.ts,!src/$m/index.ts" tests=$(tests_of "$m") ;;
    config) files='src/config/**/*.ts,!src/config/index.ts,!src/config/types.ts,!src/config/watch.ts' tests=$(tests_of config) ;;
    allocation/* | config/* | stats/*)
      files="src/$m.ts"
      [ -f "$files" ] || { echo "no such file $files" >&2; exit 2; }
      tests=$(tests_of "${m%%/*}") ;;
    dedupe) files='src/exposure/dedupe.ts' tests='test/unit/exposure/dedupe.test.ts' ;;
    encoder) files='src/exposure/encoder.ts,src/exposure/event-encoder.ts' tests='test/unit/exposure/encoder.test.ts,test/unit/exposure/pipeline.test.ts' ;;
    *) echo "unknown module $m (allocation, config, stats, dedupe, encoder, or a file: config/load)" >&2; exit 2 ;;
  esac
  name=$(echo "$m" | tr / -)
  echo "== mutating $m: $files (tests: $tests)"
  MUTATE_NAME="$name" MUTATE_TESTS="$tests" npx stryker run stryker.config.mjs --mutate "$files" \
    --concurrency "${STRYKER_CONCURRENCY:-1}"
done
