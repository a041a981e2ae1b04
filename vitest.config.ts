import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import the package by its public names, as users do.
    alias: [
      {
        find: /^switchyard\/adapters\/(memory|launchdarkly|optimizely|split|unleash)$/,
        replacement: here('./adapters/$1/index.ts'),
      },
      { find: /^switchyard\/stats$/, replacement: here('./src/stats/index.ts') },
      { find: /^switchyard$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    reporters: ['default', './test/totals-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
