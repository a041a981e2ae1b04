// @ts-check
/**
 * StrykerJS for the pure modules; run through scripts/mutate.sh (`npm run mutate [module]`), which
 * sets MUTATE_NAME (report and incremental file names, so two modules can run at once) and
 * MUTATE_TESTS (the unit tests vitest runs, see vitest.mutate.config.ts).
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
const name = process.env['MUTATE_NAME'] ?? 'mutation';

export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutate.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/allocation/**/*.ts',
    'src/config/**/*.ts',
    'src/stats/**/*.ts',
    'src/exposure/dedupe.ts',
    'src/exposure/encoder.ts',
    'src/exposure/event-encoder.ts',
    '!src/**/index.ts',
    '!src/config/types.ts',
    '!src/config/watch.ts',
  ],
  ignorePatterns: ['dist', 'reports', 'coverage', '.switchyard', 'scratch', 'BENCHMARKS.md'],
  concurrency: 1,
  timeoutMS: 5000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // A stopped run resumes: mutants whose code and tests did not change keep their result.
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  cleanTempDir: 'always',
  tempDirName: '.stryker-tmp',
};
