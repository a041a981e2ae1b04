/**
 * A local stand-in for Split's SDK and events API (sdk.split.io / events.split.io),
 * speaking the documented wire format of SDK spec 1.3: `GET /splitChanges?s=1.3&since=N`
 * answers `{ ff: { d: [feature flag], s, t }, rbs: { d: [], s, t } }`, and
 * `GET /segmentChanges/<name>?since=N` answers `{ name, added, removed, since, till }`.
 * Impressions, events and telemetry POSTs are accepted and recorded. The flags are
 * real Split feature-flag definitions built from the contract's neutral flags, so the
 * official SDK evaluates them itself (its localhost mode has no percentages).
 */
import type { ContractFlag } from '../contract/flags.js';
import { Receiver, type Received } from './receiver.js';

interface SplitDefinition {
  name: string;
  changeNumber: number;
  [k: string]: unknown;
}

const ALL_KEYS = { keySelector: { trafficType: 'user', attribute: null }, matcherType: 'ALL_KEYS', negate: false };

/** One Split feature flag from a neutral flag; treatments are the variant names. */
export function splitDefinition(flag: ContractFlag, changeNumber: number): SplitDefinition {
  const configurations = Object.fromEntries(
    Object.entries(flag.variants).map(([name, value]) => [name, JSON.stringify({ value })]),
  );
  const conditions: unknown[] = [];
  if (flag.targeting) {
    const t = flag.targeting;
    conditions.push({
      conditionType: 'ROLLOUT',
      matcherGroup: {
        combiner: 'AND',
        matchers: [
          {
            keySelector: { trafficType: 'user', attribute: t.attribute },
            matcherType: 'WHITELIST',
            negate: false,
            whitelistMatcherData: { whitelist: [t.equals] },
          },
        ],
      },
      partitions: [{ treatment: t.variant, size: 100 }],
      label: `${t.attribute} in list [${t.equals}]`,
    });
  }
  const partitions = flag.rollout
    ? Object.entries(flag.rollout).map(([treatment, size]) => ({ treatment, size }))
    : [{ treatment: flag.defaultVariant, size: 100 }];
  conditions.push({
    conditionType: 'ROLLOUT',
    matcherGroup: { combiner: 'AND', matchers: [ALL_KEYS] },
    partitions,
    label: 'default rule',
  });
  return {
    name: flag.key,
    trafficTypeName: 'user',
    trafficAllocation: 100,
    trafficAllocationSeed: 1_012_950_810,
    seed: -725_161_385 + flag.key.length,
    status: 'ACTIVE',
    killed: flag.disabled ?? false,
    defaultTreatment: flag.defaultVariant,
    changeNumber,
    algo: 2,
    configurations,
    conditions,
  };
}

export class SplitServer {
  readonly receiver = new Receiver();
  private flags = new Map<string, SplitDefinition>();
  private changeNumber = 1;
  /** While true, /splitChanges answers 500 (an outage of Split's CDN). */
  failing = false;

  constructor(flags: ContractFlag[] = []) {
    for (const f of flags) this.flags.set(f.key, splitDefinition(f, this.changeNumber));
    this.receiver.respond = (req, res) => this.answer(req, res);
  }

  async start(): Promise<this> {
    await this.receiver.start();
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.receiver.port}`;
  }

  /** SDK options that point every Split endpoint here, with streaming off. */
  urls(): { sdk: string; events: string; auth: string; telemetry: string } {
    return { sdk: `${this.url}/api`, events: `${this.url}/api`, auth: `${this.url}/api`, telemetry: `${this.url}/api` };
  }

  /** Changes (or adds) a flag; the SDK sees it at its next poll. */
  set(flag: ContractFlag): void {
    this.setDefinition(splitDefinition(flag, ++this.changeNumber));
  }

  /** Sets a raw Split definition (for tests that need Split-only features). */
  setDefinition(definition: SplitDefinition): void {
    this.flags.set(definition.name, { ...definition, changeNumber: this.changeNumber });
  }

  get requests(): Received[] {
    return this.receiver.requests;
  }

  async stop(): Promise<void> {
    await this.receiver.stop();
  }

  private answer(req: Received, res: import('node:http').ServerResponse): void {
    const url = new URL(req.path, this.url);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname.endsWith('/splitChanges')) {
      if (this.failing) return json(500, { error: 'unavailable' });
      const since = Number(url.searchParams.get('since') ?? -1);
      const changed = [...this.flags.values()].filter((f) => f.changeNumber > since);
      return json(200, { ff: { d: changed, s: since, t: this.changeNumber }, rbs: { d: [], s: -1, t: -1 } });
    }
    if (url.pathname.includes('/segmentChanges/')) {
      const since = Number(url.searchParams.get('since') ?? -1);
      return json(200, {
        name: url.pathname.split('/').pop(),
        added: [],
        removed: [],
        since,
        till: since < 0 ? 1 : since,
      });
    }
    return json(200, {});
  }
}
