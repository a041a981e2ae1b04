/**
 * One measured process for bench/analysis.ts: opens the store, runs one contender once (the
 * full analysis, the bare GROUP BY of the same aggregation, or the primary metric's aggregation
 * with the analysis's attribution as one bare GROUP BY), closes the store, and prints
 * the time (open to close) and this process's peak RSS as JSON. A fresh process per contender
 * and round, so that each peak RSS is that contender's alone.
 */
import {
  ATTRIBUTED_BASELINE_SQL,
  BASELINE_SQL,
  analyze,
  openDuckDbStore,
  openPostgresStore,
  type AnalysisStore,
} from '../src/analysis/index.js';
import { validateConfigObject } from '../src/config/index.js';

const [engine, source, which] = process.argv.slice(2) as [string, string, 'analysis' | 'baseline' | 'attributed'];
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
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setImmediate(r));
const t = performance.now();
const store: AnalysisStore = engine === 'postgres' ? await openPostgresStore(source) : await openDuckDbStore(source);
let decision = '';
try {
  if (which === 'analysis')
    decision = (await analyze(store, { config, experiments: ['bench'] })).experiments[0]!.decision.decision;
  else if (which === 'baseline') await store.query(BASELINE_SQL, ['bench']);
  else await store.query(ATTRIBUTED_BASELINE_SQL, ['bench', config.analysis.attributionWindowMs / 1000]);
} finally {
  await store.close();
}
const ms = performance.now() - t;
console.log(JSON.stringify({ ms, decision, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
