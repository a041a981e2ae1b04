#!/bin/sh
# Mutation testing of the pure modules (StrykerJS, vitest runner, TypeScript checker), one
# module or file at a time with only the unit tests that exercise it: `npm run mutate` runs
# all of them, `npm run mutate -- allocation stats` the modules named, `npm run mutate --
# config/load stats/srm exposure/dedupe` single files (allocation/, config/, stats/ and the
# exposure files dedupe, encoder, event-encoder): config has about 1,000 mutants and stats
# 1,300, so on a loaded machine run them file by file, or a file by line ranges
# (`npm run mutate -- config/load:1-280 config/load:281-555`: config/load.ts alone has 677).
# Reports: reports/mutation/<name>.html and .json (<name> is the argument, / and : as -).
# Incremental: a finished run leaves reports/mutation/<name>.incremental.json, and the next
# run of <name> tests only the mutants whose code or tests changed (delete it to start over).
# Stryker writes it at the end of a run, so a run stopped half-way starts again: hence the
# file-by-file runs. Slow, so not part of CI. STRYKER_CONCURRENCY sets the number of parallel
# test runners (default 1: the machine's two cores are shared). STRYKER_FLAGS is passed on to
# Stryker, e.g. STRYKER_FLAGS=--ignoreStatic when the static mutants (run at import, so against
# every test of the file) would take most of the time: Stryker warns with their count.
# Cost: a mutant reruns the tests that cover it (coverageAnalysis perTest) after importing their
# test files again, so each file gets only the test files that call into it, and those import
# the modules they test rather than a folder's index where the index pulls in I/O; tests whose
# cost is their scale run smaller there (SWITCHYARD_MUTATION, test/helpers/scale.ts).
set -e
cd "$(dirname "$0")/.."
modules="${*:-allocation config stats dedupe encoder}"
s=test/unit/stats
# The unit tests that exercise one file ($1: module/file).
tests_of() {
  case "$1" in
    allocation/adaptive) echo 'test/unit/allocation/adaptive.test.ts' ;;
    allocation/sticky-table) echo 'test/unit/allocation/sticky-table.test.ts' ;;
    allocation/*) echo 'test/unit/allocation' ;;
    config/reshuffle) echo 'test/unit/config/load.test.ts,test/unit/allocation/plan.test.ts' ;;
    config/suggest) echo 'test/unit/config/load.test.ts' ;;
    config/*) echo 'test/unit/config' ;;
    stats/frequentist) echo "$s/reference.test.ts,$s/input.test.ts,$s/simulation.test.ts,$s/stratified.test.ts,$s/frequentist.test.ts" ;;
    stats/srm) echo "$s/reference.test.ts,$s/input.test.ts,$s/simulation.test.ts,$s/srm.test.ts" ;;
    stats/power) echo "$s/reference.test.ts,$s/input.test.ts,$s/simulation.test.ts,$s/power.test.ts" ;;
    stats/sequential) echo "$s/reference.test.ts,$s/input.test.ts,$s/simulation.test.ts,$s/sequential.test.ts" ;;
    stats/corrections) echo "$s/reference.test.ts,$s/input.test.ts,$s/corrections.test.ts" ;;
    stats/cuped) echo "$s/reference.test.ts,$s/input.test.ts,$s/cuped.test.ts" ;;
    stats/bayes) echo "$s/reference.test.ts,$s/input.test.ts,$s/bayes.test.ts,$s/thompson.test.ts" ;;
    stats/thompson | stats/sampling) echo "$s/thompson.test.ts" ;;
    stats/stratified) echo "$s/stratified.test.ts" ;;
    stats/*) echo "$s" ;;
    exposure/dedupe) echo 'test/unit/exposure/dedupe.test.ts' ;;
    exposure/encoder) echo 'test/unit/exposure/encoder.test.ts,test/unit/exposure/event-encoder.test.ts' ;;
    exposure/event-encoder) echo 'test/unit/exposure/event-encoder.test.ts' ;;
  esac
}
for m in $modules; do
  range=''
  case "$m" in *:*) range=":${m#*:}" m=${m%%:*} ;; esac
  case "$m" in
    allocation | stats) files="src/$m/**/*.ts,!src/$m/index.ts" tests=$(tests_of "$m/") ;;
    config) files='src/config/**/*.ts,!src/config/index.ts,!src/config/types.ts,!src/config/watch.ts' tests='test/unit/config,test/unit/allocation/plan.test.ts' ;;
    dedupe) files='src/exposure/dedupe.ts' tests=$(tests_of exposure/dedupe) ;;
    encoder) files='src/exposure/encoder.ts,src/exposure/event-encoder.ts' tests=$(tests_of exposure/encoder) ;;
    allocation/* | config/* | stats/* | exposure/dedupe | exposure/encoder | exposure/event-encoder)
      files="src/$m.ts"
      [ -f "$files" ] || { echo "no such file $files" >&2; exit 2; }
      files="$files$range"
      tests=$(tests_of "$m") ;;
    *) echo "unknown module $m (allocation, config, stats, dedupe, encoder, or a file: config/load, exposure/dedupe)" >&2; exit 2 ;;
  esac
  name=$(echo "$m$range" | tr /: --)
  echo "== mutating $m: $files (tests: $tests)"
  MUTATE_NAME="$name" MUTATE_TESTS="$tests" npx stryker run stryker.config.mjs --mutate "$files" \
    --concurrency "${STRYKER_CONCURRENCY:-1}" ${STRYKER_FLAGS:-}
done
