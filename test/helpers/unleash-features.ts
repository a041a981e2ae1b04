/**
 * Unleash flag definitions from the contract's neutral flags, in the client API's format
 * (`GET /api/client/features` answers `{ version: 2, features: [...] }`; the same objects
 * are what `bootstrap` takes), and a local stand-in for that endpoint. Strategies are
 * `flexibleRollout` (the gradual rollout) with constraints for targeting and strategy
 * variants with payloads (`string`, `number`, `json`), weights in thousandths. The same
 * strategies are what the real-server tests post through the Admin API.
 */
import type { UnleashFeature } from '../../adapters/unleash/index.js';
import type { ContractFlag } from '../contract/flags.js';
import { Receiver } from './receiver.js';

export interface UnleashStrategy {
  name: 'flexibleRollout';
  parameters: { rollout: string; stickiness: string; groupId: string };
  constraints: Array<{
    contextName: string;
    operator: 'IN';
    values: string[];
    caseInsensitive: false;
    inverted: false;
  }>;
  variants: Array<{
    name: string;
    weight: number;
    weightType: 'fix' | 'variable';
    stickiness: string;
    payload?: { type: 'string' | 'number' | 'json'; value: string };
  }>;
}

function payloadOf(value: unknown): UnleashStrategy['variants'][number]['payload'] {
  if (typeof value === 'string') return { type: 'string', value };
  if (typeof value === 'number') return { type: 'number', value: String(value) };
  return { type: 'json', value: JSON.stringify(value) };
}

/** The strategies of one neutral flag, in evaluation order. */
export function unleashStrategies(flag: ContractFlag, stickiness = 'default'): UnleashStrategy[] {
  const strategy = (
    rollout: number,
    variants: Record<string, number>,
    constraint?: { attribute: string; equals: string },
  ): UnleashStrategy => ({
    name: 'flexibleRollout',
    parameters: { rollout: String(rollout), stickiness, groupId: flag.key },
    constraints: constraint
      ? [
          {
            contextName: constraint.attribute,
            operator: 'IN',
            values: [constraint.equals],
            caseInsensitive: false,
            inverted: false,
          },
        ]
      : [],
    // The server wants one "variable" variant (it gets what the fixed ones leave): the last
    // one with a weight, so every weight stays as written.
    variants:
      flag.kind === 'boolean'
        ? []
        : Object.entries(variants).map(([name, weight], i, all) => ({
            name,
            weight: weight * 10,
            weightType:
              all.every(([, w], j) => j <= i || w === 0) && weight > 0 ? ('variable' as const) : ('fix' as const),
            stickiness,
            payload: payloadOf(flag.variants[name]),
          })),
  });
  const out: UnleashStrategy[] = [];
  const t = flag.targeting;
  if (flag.kind === 'boolean') {
    // A boolean flag is isEnabled: strategies enable the units whose variant is true.
    if (t && flag.variants[t.variant] === true) out.push(strategy(100, {}, t));
    if (flag.rollout) {
      const on = Object.entries(flag.rollout).reduce((acc, [v, w]) => acc + (flag.variants[v] === true ? w : 0), 0);
      out.push(strategy(on, {}));
    } else if (flag.variants[flag.defaultVariant] === true) out.push(strategy(100, {}));
    return out;
  }
  if (t) out.push(strategy(100, { [t.variant]: 100 }, t));
  out.push(strategy(100, flag.rollout ?? { [flag.defaultVariant]: 100 }));
  return out;
}

export function unleashFeature(flag: ContractFlag, stickiness = 'default'): UnleashFeature {
  return {
    name: flag.key,
    type: 'experiment',
    enabled: !(flag.disabled ?? false),
    project: 'default',
    stale: false,
    impressionData: false,
    strategies: unleashStrategies(flag, stickiness),
    variants: [],
  };
}

/** `GET /api/client/features` on a loopback port, as an Unleash server answers it (with ETag). */
export class UnleashApi {
  readonly receiver = new Receiver();
  private readonly features = new Map<string, UnleashFeature>();
  private revision = 1;
  /** While true, the features endpoint answers 503 (an outage). */
  failing = false;

  constructor(flags: ContractFlag[] = []) {
    for (const f of flags) this.features.set(f.key, unleashFeature(f));
    this.receiver.respond = (req, res) => {
      if (this.failing || !req.path.startsWith('/api/client/features')) {
        res.writeHead(this.failing ? 503 : 404);
        res.end();
        return;
      }
      const etag = `"r${this.revision}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(JSON.stringify({ version: 2, features: [...this.features.values()] }));
    };
  }

  async start(): Promise<this> {
    await this.receiver.start();
    return this;
  }

  stop(): Promise<void> {
    return this.receiver.stop();
  }

  get url(): string {
    return `${this.receiver.url}/api`;
  }

  set(flag: ContractFlag): void {
    this.features.set(flag.key, unleashFeature(flag));
    this.revision++;
  }
}
