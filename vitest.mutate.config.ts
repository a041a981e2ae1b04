/** Vitest for mutation testing: the main config, with only the unit tests of the module being mutated (MUTATE_TESTS). */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

const tests = (
  process.env['MUTATE_TESTS'] ?? 'test/unit/allocation,test/unit/config,test/unit/stats,test/unit/exposure'
)
  .split(',')
  .map((t) => (t.endsWith('.ts') ? t : `${t}/**/*.test.ts`));

// Not mergeConfig: it would append these tests to the main config's include.
// SWITCHYARD_MUTATION: tests whose cost is their scale run smaller (test/helpers/scale.ts).
export default defineConfig({
  ...base,
  test: { ...base.test, include: tests, reporters: ['default'], env: { SWITCHYARD_MUTATION: '1' } },
});
