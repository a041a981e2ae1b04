import { SplitFactory } from '@splitsoftware/splitio';
import { SplitServer } from './test/helpers/split-server.ts';
import { CONTRACT_FLAGS } from './test/contract/flags.ts';
const server = await new SplitServer(CONTRACT_FLAGS).start();
const factory = SplitFactory({ core: { authorizationKey: 'sdk-key-secret' }, urls: server.urls(), streamingEnabled: false, scheduler: { featuresRefreshRate: 0.2, segmentsRefreshRate: 0.2 }, startup: { readyTimeout: 3 }, debug: false });
const client = factory.client();
await client.ready();
for (const f of ['bool-flag','string-flag','number-flag','object-flag','targeted-flag','rollout-flag','disabled-flag','nope']) console.log(f, client.getTreatmentWithConfig('user-1', f, { country: 'DE' }), factory.manager().split(f)?.killed);
const counts: Record<string, number> = {}; for (let i = 0; i < 20000; i++) { const t = client.getTreatment('unit-' + i, 'rollout-flag'); counts[t] = (counts[t] ?? 0) + 1; } console.log(counts);
client.on(client.Event.SDK_UPDATE, () => console.log('update event', client.getTreatment('user-1', 'string-flag')));
server.set({ key: 'string-flag', kind: 'string', variants: { red: 'red', blue: 'blue' }, defaultVariant: 'red' });
await new Promise(r => setTimeout(r, 600));
const N = 100000;
for (let r = 0; r < 3; r++) { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) client.getTreatmentWithConfig('u' + (i % 100), 'rollout-flag', { country: 'DE' }); console.log('ns', Number(process.hrtime.bigint() - t) / N); }
const t0 = Date.now(); await client.destroy(); console.log('destroy ms', Date.now() - t0); await server.stop();
console.log(server.requests.map(r => r.method + ' ' + r.path).slice(0, 12));
setTimeout(() => console.log('still alive?'), 100).unref();
