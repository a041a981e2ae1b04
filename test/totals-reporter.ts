/**
 * Prints the run's totals alone on the last line as `N passed, N failed`, the line CI
 * reads. Unhandled errors count as failures, so a crash between tests cannot pass.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class TotalsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    failed += errors.length;
    // Skipped tests (known provider gaps, shown with their reason) get their own line, so the
    // totals line stays exactly `N passed, N failed`.
    if (skipped > 0) process.stdout.write(`\n${skipped} skipped (known gaps, listed by name above)`);
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
}
