/**
 * One measured process for bench/analysis.ts: opens the store, then runs the full analysis
 * and the bare GROUP BY of the same aggregation in alternating random order, and prints
 * the times and this process's peak RSS as JSON.
 */
import {
  BASELINE_SQL,
  analyze,
  openDuckDbStore,
  openPostgresStore,
  type AnalysisStore,
} from '../src/analysis/index.js';
import { validateConfigObject } from '../src/config/index.js';

const [engine, source, roundsArg] = process.argv.slice(2) as [string, string, string];
const rounds = Number(roundsArg ?? 3);
const config = validateConfigObject({
  analysis: { segments: ['country'] },
  experiments: {
    bench: {
      variants: { control: { weight: 50 }, treatment: { weight: 50 } },
      primary_metric: 'purchase',
      funnel: ['view', 'purchase'],
    },
  },
});
const store: AnalysisStore = engine === 'postgres' ? await openPostgresStore(source) : await openDuckDbStore(source);
const analysis: number[] = [];
const baseline: number[] = [];
let decision = '';
try {
  for (let r = 0; r < rounds; r++) {
    const order = Math.random() < 0.5 ? ['analysis', 'baseline'] : ['baseline', 'analysis'];
    for (const which of order) {
      const t = performance.now();
      if (which === 'analysis')
        decision = (await analyze(store, { config, experiments: ['bench'] })).experiments[0]!.decision.decision;
      else await store.query(BASELINE_SQL, ['bench']);
      (which === 'analysis' ? analysis : baseline).push(performance.now() - t);
    }
  }
} finally {
  await store.close();
}
console.log(JSON.stringify({ analysis, baseline, decision, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
