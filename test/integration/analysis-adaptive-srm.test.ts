/**
 * The offline analysis of an adaptive experiment: its split follows the bandit, away from
 * the configured weights (only its burn-in split), so the SRM test against them is not
 * made; the same split under a fixed allocation is a mismatch and stops the experiment.
 * A variant the config does not have is a mismatch either way. (Audit: analyze stopped
 * every adaptive experiment whose bandit had moved traffic.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, openDuckDbStore, type Analysis } from '../../src/analysis/index.js';
import { validateConfigObject } from '../../src/config/index.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { generate } from '../helpers/analysis-data.js';

const root = mkdtempSync(join(tmpdir(), 'sy-adaptive-srm-'));
const moved = join(root, 'moved');
const rogue = join(root, 'rogue');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  // The bandit moved traffic to c: 10% / 30% / 60% where the config starts at a third each.
  const data = {
    experiment: 'hero',
    units: 6000,
    days: 8,
    rates: { a: 0.1, b: 0.1, c: 0.13 },
    primary: 'signup',
  };
  generate(moved, { ...data, weights: { a: 1, b: 3, c: 6 } });
  generate(rogue, { ...data, weights: { a: 1, b: 3, c: 6, d: 1 }, rates: { ...data.rates, d: 0.1 } });
});

const config = (mode: 'adaptive' | 'fixed') =>
  validateConfigObject({
    experiments: {
      hero: {
        variants: { a: { weight: 34 }, b: { weight: 33 }, c: { weight: 33 } },
        control: 'a',
        primary_metric: 'signup',
        allocation:
          mode === 'adaptive' ? { mode: 'adaptive', reweight_every: '1h', min_sample: 100 } : { mode: 'fixed' },
      },
    },
  });

async function run(dir: string, mode: 'adaptive' | 'fixed'): Promise<Analysis> {
  const store = await openDuckDbStore(dir);
  try {
    return await analyze(store, {
      config: config(mode),
      now: Date.parse('2026-12-20T00:00:00Z'),
      experiments: ['hero'],
    });
  } finally {
    await store.close();
  }
}

describe('SRM of an adaptive experiment', () => {
  it('is not tested against the configured weights, and does not stop it; the same split under fixed allocation does', async () => {
    const fixed = await run(moved, 'fixed');
    expect(fixed.experiments[0]!.srm.mismatch).toBe(true);
    expect(fixed.experiments[0]!.decision.decision).toBe('stop');

    const a = await run(moved, 'adaptive');
    const e = a.experiments[0]!;
    expect(e.srm).toMatchObject({ mismatch: false, notTested: expect.stringContaining('follows the bandit') });
    expect(e.srm.pValue).toBe(fixed.experiments[0]!.srm.pValue);
    expect(e.decision.decision).not.toBe('stop');
    expect(e.decision.evidence.join('\n')).toMatch(
      /^SRM: not tested \(an adaptive experiment's split follows the bandit/m,
    );
    expect(renderTerminal(a)).toContain('SRM not tested (adaptive: the split follows the bandit)');
    expect(renderMarkdown(a)).toContain('SRM not tested (adaptive: the split follows the bandit)');
  }, 60_000);

  it('is a mismatch still when a variant the config does not have has units', async () => {
    const e = (await run(rogue, 'adaptive')).experiments[0]!;
    expect(e.srm.mismatch).toBe(true);
    expect(e.decision.decision).toBe('stop');
    expect(e.decision.evidence.join('\n')).toMatch(/^SRM: chi2 = /m);
  }, 60_000);
});
