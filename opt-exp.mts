import { createInstance, createStaticProjectConfigManager, OptimizelyDecideOption } from '@optimizely/optimizely-sdk';
import { optimizelyDatafile } from './test/helpers/optimizely-datafile.ts';
import { CONTRACT_FLAGS } from './test/contract/flags.ts';
const datafile = JSON.stringify(optimizelyDatafile(CONTRACT_FLAGS));
const client = createInstance({ projectConfigManager: createStaticProjectConfigManager({ datafile }) });
await client.onReady({ timeout: 2000 });
const u = client.createUserContext('user-1', { country: 'DE' })!;
for (const f of ['bool-flag','string-flag','number-flag','object-flag','targeted-flag','rollout-flag','disabled-flag','nope']) {
  const d = u.decide(f, [OptimizelyDecideOption.INCLUDE_REASONS, OptimizelyDecideOption.DISABLE_DECISION_EVENT]);
  console.log(f, JSON.stringify({ v: d.variationKey, e: d.enabled, vars: d.variables, rule: d.ruleKey, reasons: d.reasons }));
}
const c = client.getOptimizelyConfig(); console.log(Object.keys(c!), Object.keys(c!.featuresMap['rollout-flag']));
const N = 100000;
for (let r = 0; r < 3; r++) {
let t = process.hrtime.bigint(); for (let i = 0; i < N; i++) client.createUserContext('u'+(i%100), { country: 'DE' })!.decide('rollout-flag', [OptimizelyDecideOption.DISABLE_DECISION_EVENT]); console.log('ctx+decide ns', Number(process.hrtime.bigint() - t) / N);
t = process.hrtime.bigint(); for (let i = 0; i < N; i++) u.decide('rollout-flag'); console.log('decide ns', Number(process.hrtime.bigint() - t) / N);
}
client.close();
